"""Operators' accounts, sessions, the login page and the one guard of both web apps.

- accounts: the store of accounts and roles (DATA_DIR/users.json, argon2 hashes), the first accounts,
  the credentials a p06 command sends;
- sessions: signed session cookies (itsdangerous) and HTTP Basic credentials;
- guard: who is asking and how each kind of route refuses everyone else;
- login: the login page and the one login/logout handling;
- answers: what guard and login answer, turned into responses by each app's thin adapter;
- cli: `p06 users`.
"""

from .accounts import (
    ROLES,
    Account,
    AccountError,
    Accounts,
    client_credentials,
    ensure_first_accounts,
    first_password_file,
)
from .answers import Answer, JsonAnswer, PageAnswer, Redirect, SessionCookie, TextAnswer
from .guard import (
    DASHBOARD,
    LIVE_FIGURES,
    LOGIN_HELP,
    METRICS,
    OPERATOR_ROLES,
    WAREHOUSE,
    Asking,
    Door,
    Guard,
    out_of_scope,
)
from .login import LoginDesk, login_page, safe_next
from .sessions import COOKIE, Sessions

__all__ = [
    "COOKIE",
    "DASHBOARD",
    "LIVE_FIGURES",
    "LOGIN_HELP",
    "METRICS",
    "OPERATOR_ROLES",
    "ROLES",
    "WAREHOUSE",
    "Account",
    "AccountError",
    "Accounts",
    "Answer",
    "Asking",
    "Door",
    "Guard",
    "JsonAnswer",
    "LoginDesk",
    "PageAnswer",
    "Redirect",
    "SessionCookie",
    "Sessions",
    "TextAnswer",
    "client_credentials",
    "ensure_first_accounts",
    "first_password_file",
    "login_page",
    "out_of_scope",
    "safe_next",
]
