"""The one guard of both web apps (the worker's aiohttp app, the sink's Starlette app).

Given what a request shows (method, path, Authorization header, session and CSRF cookies, client
address), it says who is asking, or how to refuse them: 401 saying how to log in, 403 naming the
account's scope, 429 with Retry-After while logins from there are throttled (auth.throttle), or, for a
browser, a redirect to the login page. Every password is checked here: a session, or credentials this
process verified before, pass at once on the event loop; anything else goes to a small pool of threads
(argon2 costs ~0.3 s, which must not stall the loop), where a throttled attempt is refused before any
hashing and every outcome is recorded (auth.record).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from .accounts import Account, Accounts
from .address import Network, client_address, trusted_networks
from .answers import Answer, JsonAnswer, Redirect, TextAnswer
from .csrf import Csrf
from .record import AuthRecord
from .sessions import Sessions, basic_credentials
from .throttle import Limits, Throttle, Throttled

OPERATOR_ROLES = ("national", "province")
LOGIN_HELP = (
    "log in: open /login in a browser, or send HTTP Basic credentials of an account made with"
    " `p06 users add` (p06 commands read P06_OPERATOR_USER and P06_OPERATOR_PASSWORD or _FILE)"
)
METRICS_HELP = "metrics need a monitor account's HTTP Basic credentials (`p06 users add NAME --role monitor`)\n"
METRICS_CHALLENGE = {"WWW-Authenticate": 'Basic realm="p06 metrics"'}
# argon2 checks at once per process: one (argon2-cffi's hash already runs 4 lanes in threads of its own), so that
# a burst of checks leaves the event loop a share of the cores; a flood of guesses queues here, not on every core.
PASSWORD_THREADS = 1
Who = Account | Throttled | None


@dataclass(frozen=True)
class Asking:
    """What the guard reads of a request, whatever the framework."""

    method: str
    target: str  # path and query: where a browser returns after logging in
    authorization: str | None
    session: str | None  # the session cookie's value
    client: str | None  # the peer's address
    forwarded_for: str | None = None  # X-Forwarded-For, believed from a trusted proxy only (auth.address)
    csrf: str | None = None  # the login form's CSRF cookie (auth.csrf)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


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


def throttled(door: Door, wait: Throttled, address: str) -> Answer:
    """429 with Retry-After: too many failed passwords from this address (for this account, or for any)."""
    text = (
        f"too many failed logins from {address}: try again in {wait.retry_after_s} s"
        " (a national operator sees and clears throttles with `p06 users throttles` and `p06 users unthrottle`)"
    )
    headers = {"Retry-After": str(wait.retry_after_s)}
    if door.refusal is Refusal.JSON:
        return JsonAnswer(429, {"error": text, "retry_after_s": wait.retry_after_s}, headers)
    return TextAnswer(429, text + "\n", headers)


class Guard:
    """Who is asking, for one data folder's accounts; sessions last session_hours. service names the app in
    the auth log and metrics; secure_cookies when the public URL is https; trusted: the reverse proxies."""

    def __init__(
        self,
        accounts: Accounts,
        session_hours: float,
        *,
        service: str = "p06",
        limits: Limits | None = None,
        secure_cookies: bool = False,
        trusted: tuple[Network, ...] = (),
    ) -> None:
        self.accounts = accounts
        self.sessions = Sessions(accounts, session_hours * 3600)
        self.throttle = Throttle(accounts.data_dir, limits or Limits())
        self.record = AuthRecord(service)
        self.csrf = Csrf(self.sessions.key)
        self.secure_cookies = secure_cookies
        self.trusted = trusted
        self._checks = ThreadPoolExecutor(PASSWORD_THREADS, thread_name_prefix=f"p06-{service}-passwords")

    @classmethod
    def for_service(cls, settings: Any, service: str, accounts: Accounts | None = None) -> Guard:
        """The guard of a service (worker, sink) as the P06_* settings say."""
        limits = Limits(
            settings.login_failures,
            settings.login_failures_per_address,
            settings.login_wait_s,
            settings.login_wait_max_s,
        )
        return cls(
            accounts or Accounts(settings.accounts_folder),
            settings.session_hours,
            service=service,
            limits=limits,
            secure_cookies=settings.public_url.startswith("https://"),
            trusted=trusted_networks(settings.trusted_proxies),
        )

    def address(self, asking: Asking) -> str:
        return client_address(asking.client, asking.forwarded_for, self.trusted)

    def check_password(self, name: str, password: str, address: str, path: str) -> Account | Throttled | None:
        """The one place a password is verified (HTTP Basic and the login forms); blocking, in the pool."""
        wait = self.throttle.wait(name, address)
        if wait is not None:  # refused unchecked: a guess while throttled costs no hashing
            self.record.event("throttled", name, address, path)
            return wait
        account = self.accounts.check_password(name, password)
        if account is not None:
            self.throttle.succeeded(name, address)
            self.record.event("success", name, address, path)
            return account
        self.throttle.failed(name, address)
        known = self.accounts.all().get(name)
        self.record.event("revoked" if known is not None and known.revoked else "failure", name, address, path)
        return None

    async def _checked(self, name: str, password: str, asking: Asking) -> Account | Throttled | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._checks, self.check_password, name, password, self.address(asking), asking.path
        )

    async def password(self, name: str, password: str, asking: Asking) -> Account | Throttled | None:
        """A login form's credentials: known ones at once (a login all the same), others in the pool."""
        account = self.accounts.verified(name, password)
        if account is None:
            return self._refused(name, asking) or await self._checked(name, password, asking)
        self.record.event("success", name, self.address(asking), asking.path)
        return account

    def identify(self, asking: Asking) -> Who:
        """The account behind Authorization: Basic, else behind the session cookie; None if neither is valid.
        Blocking when the credentials are new (see who())."""
        if asking.authorization:
            credentials = basic_credentials(asking.authorization)
            if credentials is None:
                return None
            known = self.accounts.verified(*credentials)
            return known or self.check_password(*credentials, self.address(asking), asking.path)
        return self._session_account(asking.session, asking) if asking.session else None

    def _session_account(self, session: str, asking: Asking) -> Account | None:
        """The session's live account; a session whose account was revoked since is refused and recorded."""
        account = self.sessions.account(session)
        if account is None and (name := self.sessions.revoked_holder(session)):
            self.record.event("revoked", name, self.address(asking), asking.path)
        return account

    def _refused(self, name: str, asking: Asking) -> Throttled | None:
        """Throttled now? Asked on the loop (one read that never waits for a writer), so that a flood of
        guesses is turned away there, not queued behind the hashing in the pool."""
        address = self.address(asking)
        wait = self.throttle.wait(name, address)
        if wait is not None:
            self.record.event("throttled", name, address, asking.path)
        return wait

    async def who(self, asking: Asking) -> Who:
        """A session or known credentials on the loop (no hashing); new credentials in the pool, unless throttled."""
        credentials = basic_credentials(asking.authorization) if asking.authorization else None
        if credentials is None:
            return self.identify(asking)
        known = self.accounts.verified(*credentials)
        return known or self._refused(credentials[0], asking) or await self._checked(*credentials, asking)

    async def admit(self, asking: Asking, door: Door) -> Account | Answer:
        """The account if door lets it in, else the answer refusing it."""
        account = await self.who(asking)
        if isinstance(account, Throttled):
            return throttled(door, account, self.address(asking))
        if account is not None and account.role in door.roles:
            return account
        return refusal(door, account, asking)
