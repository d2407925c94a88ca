"""The one guard of both web apps (the worker's aiohttp app, the sink's Starlette app).

Given what a request shows (method, path, Authorization header, session cookie, client address), it
says who is asking, or how to refuse them: 401 saying how to log in, 403 naming the account's scope,
or, for a browser, a redirect to the login page. Every password is checked here, in a thread (argon2
costs ~0.3 s, which must not stall the event loop): throttling of logins belongs here too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from .accounts import Account, Accounts
from .answers import Answer, JsonAnswer, Redirect, TextAnswer
from .sessions import Sessions, basic_credentials

OPERATOR_ROLES = ("national", "province")
LOGIN_HELP = (
    "log in: open /login in a browser, or send HTTP Basic credentials of an account made with"
    " `p06 users add` (p06 commands read P06_OPERATOR_USER and P06_OPERATOR_PASSWORD or _FILE)"
)
METRICS_HELP = "metrics need a monitor account's HTTP Basic credentials (`p06 users add NAME --role monitor`)\n"
METRICS_CHALLENGE = {"WWW-Authenticate": 'Basic realm="p06 metrics"'}


@dataclass(frozen=True)
class Asking:
    """What the guard reads of a request, whatever the framework."""

    method: str
    target: str  # path and query: where a browser returns after logging in
    authorization: str | None
    session: str | None  # the session cookie's value
    client: str | None  # the peer's address


class Refusal(Enum):
    """How a door refuses: JSON for the APIs, a Basic challenge for /metrics, the login page for a browser."""

    JSON = "json"
    METRICS = "metrics"
    LOGIN_PAGE = "login page"


@dataclass(frozen=True)
class Door:
    """A kind of route: the roles that pass, how others are refused, and what a 403 says after the scope."""

    roles: tuple[str, ...]
    refusal: Refusal
    forbidden: str = ""


LIVE_FIGURES = Door(OPERATOR_ROLES, Refusal.JSON, "may not see figures (a monitor account reads /metrics only)")
WAREHOUSE = Door(OPERATOR_ROLES, Refusal.JSON, "reads /metrics only")  # the sink's /query and /reports
DASHBOARD = Door(OPERATOR_ROLES, Refusal.LOGIN_PAGE)
METRICS = Door(("monitor",), Refusal.METRICS)


def out_of_scope(account: Account, words: str) -> dict[str, Any]:
    """A 403's JSON body: the account, its scope, and what it may not do."""
    return {"error": f"account {account.name!r} ({account.scope}) {words}", "scope": account.scope}


def refusal(door: Door, account: Account | None, asking: Asking) -> Answer:
    """How door turns away account (None: nobody, or credentials that are not valid)."""
    if door.refusal is Refusal.LOGIN_PAGE:
        return Redirect("/login?" + urlencode({"next": asking.target}))  # ?lang= goes along
    if door.refusal is Refusal.METRICS:
        return TextAnswer(401 if account is None else 403, METRICS_HELP, METRICS_CHALLENGE)
    if account is None:
        return JsonAnswer(401, {"error": f"login required: {LOGIN_HELP}"})
    return JsonAnswer(403, out_of_scope(account, door.forbidden))


class Guard:
    """Who is asking, for one data folder's accounts; sessions last session_hours."""

    def __init__(self, accounts: Accounts, session_hours: float) -> None:
        self.accounts = accounts
        self.sessions = Sessions(accounts, session_hours * 3600)

    def check_password(self, name: str, password: str, client: str | None) -> Account | None:
        """The one place a password is verified (HTTP Basic and the login form); blocking, see password()."""
        return self.accounts.check_password(name, password)

    async def password(self, name: str, password: str, client: str | None) -> Account | None:
        return await asyncio.to_thread(self.check_password, name, password, client)

    def identify(self, asking: Asking) -> Account | None:
        """The account behind Authorization: Basic, else behind the session cookie; None if neither is valid."""
        if asking.authorization:
            credentials = basic_credentials(asking.authorization)
            return self.check_password(*credentials, asking.client) if credentials else None
        return self.sessions.account(asking.session) if asking.session else None

    async def who(self, asking: Asking) -> Account | None:
        """In a thread: a password not yet verified costs argon2's ~0.3 s."""
        return await asyncio.to_thread(self.identify, asking)

    async def admit(self, asking: Asking, door: Door) -> Account | Answer:
        """The account if door lets it in, else the answer refusing it."""
        account = await self.who(asking)
        if account is not None and account.role in door.roles:
            return account
        return refusal(door, account, asking)
