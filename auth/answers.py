"""What the guard and the login desk answer, whatever the web framework: each app's thin adapter
(streams/view/auth_aiohttp.py, sinks/web/auth_starlette.py) turns these into its own responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JsonAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TextAnswer:
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PageAnswer:
    """An HTML page (the login form)."""

    status: int
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    csrf_cookie: CsrfCookie | None = None  # the login form's binding (auth.csrf), set when the browser had none


@dataclass(frozen=True)
class CsrfCookie:
    """The login form's CSRF cookie (auth.csrf.CSRF_COOKIE): HttpOnly, SameSite=Strict, path /, until the
    browser closes; Secure when the public URL is https."""

    value: str
    secure: bool = False


@dataclass(frozen=True)
class SessionCookie:
    """The signed session cookie (auth.sessions.COOKIE) to set: HttpOnly, SameSite=Strict, path /; Secure
    when the public URL (P06_PUBLIC_URL) is https."""

    value: str
    max_age_s: int
    secure: bool = False


@dataclass(frozen=True)
class Redirect:
    """303 See Other to location; a login sets the session cookie, a logout ends it."""

    location: str
    set_session: SessionCookie | None = None
    end_session: bool = False


Answer = JsonAnswer | TextAnswer | PageAnswer | Redirect
