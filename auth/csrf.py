"""CSRF tokens of the state-changing forms (login, logout; the approval and acknowledgement buttons to come).

SameSite=Strict already keeps other sites' posts from carrying our cookies; the token is the second
lock. A token is an HMAC, with the session key, of what the form is bound to: the login form to a
random value in its own cookie (`p06_csrf`, set with the form: no session exists yet), a logged-in
form to the session cookie. Another site can read neither, so it cannot make a valid token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

CSRF_COOKIE = "p06_csrf"
CSRF_FIELD = "csrf"


def new_binding() -> str:
    """The login form's random value, sent back in the CSRF cookie."""
    return secrets.token_urlsafe(24)


class Csrf:
    """Tokens signed with the key key() returns (the session key, read when first needed)."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key = key

    def token(self, binding: str) -> str:
        return hmac.new(self._key(), b"p06-csrf\0" + binding.encode(), hashlib.sha256).hexdigest()

    def valid(self, binding: str | None, token: str | None) -> bool:
        """The form's token matches what it is bound to; a missing value never does."""
        if not binding or not token:
            return False
        return hmac.compare_digest(self.token(binding), token)
