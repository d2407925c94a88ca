"""Operators' accounts, sessions, the login page and the one guard of both web apps.

- accounts: the store of accounts and roles (DATA_DIR/users.json, argon2 hashes), the first accounts,
  the credentials a p06 command sends;
- sessions: signed session cookies (itsdangerous) and HTTP Basic credentials;
- guard: who is asking and how each kind of route refuses everyone else;
- login: the login page and the one login/logout handling;
- answers: what guard and login answer, turned into responses by each app's thin adapter;
- throttle: failed logins per (account, address) and per address, shared by every service (SQLite);
- record: every authentication event, a log line and the login counters of /metrics;
- csrf: the tokens of the state-changing forms; address: the client's address (trusted proxies);
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
from .address import FORWARDED_FOR, client_address, trusted_networks
from .answers import Answer, CsrfCookie, JsonAnswer, PageAnswer, Redirect, SessionCookie, TextAnswer
from .csrf import CSRF_COOKIE, CSRF_FIELD, Csrf
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
from .record import AuthRecord
from .sessions import COOKIE, Sessions
from .throttle import Entry, Limits, Throttle, Throttled

__all__ = [
    "COOKIE",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "FORWARDED_FOR",
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
    "AuthRecord",
    "Csrf",
    "CsrfCookie",
    "Door",
    "Entry",
    "Guard",
    "JsonAnswer",
    "Limits",
    "LoginDesk",
    "PageAnswer",
    "Redirect",
    "SessionCookie",
    "Sessions",
    "TextAnswer",
    "Throttle",
    "Throttled",
    "client_address",
    "client_credentials",
    "ensure_first_accounts",
    "first_password_file",
    "login_page",
    "out_of_scope",
    "safe_next",
    "trusted_networks",
]
