"""The one guard of both web apps, without a broker: who is asking, how each door refuses, passwords
checked off the event loop, and the sink's /metrics exposition by prometheus_client."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import types
from pathlib import Path
from typing import cast

import pytest
from prometheus_client.parser import text_string_to_metric_families

from auth import (
    CSRF_COOKIE,
    DASHBOARD,
    LIVE_FIGURES,
    METRICS,
    WAREHOUSE,
    Account,
    Accounts,
    Asking,
    Guard,
    JsonAnswer,
    Limits,
    LoginDesk,
    PageAnswer,
    Redirect,
    TextAnswer,
    Throttle,
    client_address,
    trusted_networks,
)
from sinks.checks.audit import Audit, CheckResult
from sinks.warehouse.store import Store
from sinks.web.metrics import exposition, sink_registry


def basic(name: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def asking(authorization: str | None = None, session: str | None = None, target: str = "/x?lang=en") -> Asking:
    return Asking("GET", target, authorization, session, "127.0.0.1")


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Guard:
    folder: Path = tmp_path_factory.mktemp("accounts")
    accounts = Accounts(folder)
    accounts.add("nat", "national", "national-password")
    accounts.add("ops", "province", "province-password", "01")
    accounts.add("mon", "monitor", "monitor-password")
    return Guard(accounts, session_hours=1)


def test_each_door_admits_its_roles_and_refuses_the_others_as_before(guard: Guard) -> None:
    admit = lambda who, door: asyncio.run(guard.admit(asking(who), door))  # noqa: E731
    ops = admit(basic("ops", "province-password"), LIVE_FIGURES)
    assert isinstance(ops, Account) and ops.scope == "province 01"
    nobody = admit(None, LIVE_FIGURES)
    assert isinstance(nobody, JsonAnswer) and nobody.status == 401 and "log in" in nobody.body["error"]
    assert admit(basic("nat", "wrong-password"), WAREHOUSE) == nobody
    assert admit("Bearer x", LIVE_FIGURES) == nobody  # another scheme is not a login, and no cookie is read
    monitor = admit(basic("mon", "monitor-password"), LIVE_FIGURES)
    words = "may not see figures (a monitor account reads /metrics only)"
    assert monitor == JsonAnswer(403, {"error": f"account 'mon' (monitor) {words}", "scope": "monitor"})
    sink = admit(basic("mon", "monitor-password"), WAREHOUSE)
    assert isinstance(sink, JsonAnswer) and sink.body["error"] == "account 'mon' (monitor) reads /metrics only"
    for who, status in ((None, 401), (basic("nat", "national-password"), 403)):
        refused = admit(who, METRICS)
        assert isinstance(refused, TextAnswer) and refused.status == status
        assert refused.headers == {"WWW-Authenticate": 'Basic realm="p06 metrics"'}
    watcher = admit(basic("mon", "monitor-password"), METRICS)
    assert isinstance(watcher, Account) and watcher.role == "monitor"
    assert admit(None, DASHBOARD) == Redirect("/login?next=%2Fx%3Flang%3Den")


def test_a_login_gives_a_session_the_guard_accepts_until_the_account_changes(guard: Guard) -> None:
    desk = LoginDesk(guard, "/dashboard/", "vi")
    browser = Asking("POST", "/login", None, None, "127.0.0.9", csrf="a-browser-s-binding")
    token = guard.csrf.token("a-browser-s-binding")
    wrong = asyncio.run(desk.submit({"name": "ops", "password": "nope", "lang": "en", "csrf": token}, browser))
    assert isinstance(wrong, PageAnswer) and wrong.status == 401 and 'lang="en"' in wrong.html
    assert f'name="csrf" value="{token}"' in wrong.html and wrong.csrf_cookie is None  # the browser keeps its own
    form = {"name": "ops", "password": "province-password", "next": "//evil/", "csrf": token}
    done = asyncio.run(desk.submit(form, browser))
    assert isinstance(done, Redirect) and done.location == "/dashboard/" and done.set_session is not None
    assert done.set_session.max_age_s == 3600 and not done.set_session.secure  # loopback: no Secure
    session = done.set_session.value
    assert guard.identify(asking(session=session)) == guard.accounts.all()["ops"]
    assert guard.identify(asking(session=session[:-2] + ("AA" if not session.endswith("AA") else "BB"))) is None
    logged_in = Asking("POST", "/logout", None, session, "127.0.0.9")
    bye = {"csrf": guard.csrf.token(session)}
    assert desk.logout("en", bye, logged_in) == Redirect("/login?lang=en", end_session=True)
    assert desk.logout("xx", bye, logged_in) == Redirect("/login", end_session=True)
    # Revoked: the session ends at once, and the attempt is recorded as `revoked` (a forged token is not).
    leaver = guard.sessions.issue(guard.accounts.add("leaver", "province", "leaver-password", "01"))
    assert guard.identify(asking(session=leaver)) == guard.accounts.all()["leaver"]
    revoked_before = guard.record.counts["revoked"]
    guard.accounts.revoke("leaver")
    assert guard.identify(asking(session=leaver)) is None
    assert guard.record.counts["revoked"] == revoked_before + 1
    assert guard.identify(asking(session=leaver[:-2] + ("AA" if not leaver.endswith("AA") else "BB"))) is None
    assert guard.record.counts["revoked"] == revoked_before + 1


def test_a_form_without_its_csrf_token_is_refused(guard: Guard) -> None:
    """Login and logout: the token must be the one bound to the browser's CSRF cookie, or to its session."""
    desk = LoginDesk(guard, "/dashboard/", "vi")
    fresh = desk.form("/dashboard/", "en", Asking("GET", "/login", None, None, "127.0.0.9"))
    assert fresh.csrf_cookie is not None and guard.csrf.token(fresh.csrf_cookie.value) in fresh.html
    form = {"name": "ops", "password": "province-password"}
    for cookie, token in ((None, None), ("binding", None), ("binding", guard.csrf.token("other")), (None, "x")):
        posted = Asking("POST", "/login", None, None, "127.0.0.9", csrf=cookie)
        refused = asyncio.run(desk.submit({**form, **({"csrf": token} if token else {})}, posted))
        assert isinstance(refused, PageAnswer) and refused.status == 403, (cookie, token)
    session = guard.sessions.issue(guard.accounts.all()["ops"])
    for token in (None, guard.csrf.token("binding")):
        out = desk.logout("en", {"csrf": token} if token else {}, Asking("POST", "/logout", None, session, "x"))
        assert isinstance(out, TextAnswer) and out.status == 403
    assert guard.identify(asking(session=session)) is not None  # the session lives on
    assert guard.record.counts["csrf"] >= 6


def test_passwords_are_verified_off_the_event_loop_and_once(guard: Guard, monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 costs ~0.3 s: a check on the loop's thread would stall every other request of the process;
    credentials verified once pass on the loop without a thread (nor a throttle) afterwards."""
    threads: list[threading.Thread] = []
    guard.accounts.add("fresh", "national", "fresh-password")  # credentials this process never verified
    verified = guard.accounts.check_password

    def spy(name: str, password: str):
        threads.append(threading.current_thread())
        return verified(name, password)

    monkeypatch.setattr(guard.accounts, "check_password", spy)

    async def both() -> None:
        await guard.who(asking(basic("fresh", "fresh-password")))
        await guard.password("fresh", "fresh-password", asking())

    asyncio.run(both())
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert threads[0].name.startswith("p06-p06-passwords")
    assert len(guard.accounts._verified) >= 1  # the verified credentials are cached (an HMAC, never the password)


def test_failed_logins_are_throttled_unhashed_and_the_owner_still_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = Accounts(tmp_path)
    accounts.add("ops", "national", "the-owners-password")
    accounts.add("other", "national", "other-s-password")
    limits = Limits(failures=3, failures_per_address=5, wait_s=0.6, wait_max_s=5)
    guard = Guard(accounts, 1, service="test", limits=limits)
    hashed: list[str] = []
    check = accounts.check_password
    monkeypatch.setattr(accounts, "check_password", lambda n, p: hashed.append(n) or check(n, p))
    owner = Asking("GET", "/api/live", basic("ops", "the-owners-password"), None, "10.0.0.1")
    assert isinstance(asyncio.run(guard.admit(owner, LIVE_FIGURES)), Account)  # verified before the attack
    attacker = Asking("GET", "/api/live?x", basic("ops", "guess"), None, "10.0.0.1")
    answers = [asyncio.run(guard.admit(attacker, LIVE_FIGURES)) for _ in range(6)]
    assert [cast(JsonAnswer, a).status for a in answers] == [401, 401, 401, 429, 429, 429]
    assert len(hashed) == 1 + 3  # the owner once, then three guesses: the throttled ones were never hashed
    first = cast(JsonAnswer, answers[3])
    assert first.headers == {"Retry-After": "1"} and first.body["retry_after_s"] == 1
    assert "p06 users unthrottle" in first.body["error"]
    assert isinstance(asyncio.run(guard.admit(owner, LIVE_FIGURES)), Account)  # verified credentials pass
    elsewhere = Asking("GET", "/api/live", basic("ops", "the-owners-password"), None, "10.0.0.2")
    guard.accounts._verified.clear()  # as after a restart: a real check, from an address nobody guessed from
    assert isinstance(asyncio.run(guard.admit(elsewhere, LIVE_FIGURES)), Account)
    time.sleep(0.7)  # the first wait is over: one more guess is checked, and the wait doubles
    assert cast(JsonAnswer, asyncio.run(guard.admit(attacker, LIVE_FIGURES))).status == 401
    grown = cast(JsonAnswer, asyncio.run(guard.admit(attacker, LIVE_FIGURES)))
    assert grown.status == 429 and grown.headers["Retry-After"] == "2"
    metrics = guard.record.collect()
    assert {f.name: f.samples[0].value for f in metrics} == {"p06_login_failures": 4, "p06_login_throttled": 4}
    form = {"name": "ops", "password": "guess", "csrf": guard.csrf.token("b"), "lang": "en"}
    posted = Asking("POST", "/login", None, None, "10.0.0.1", csrf="b")
    page = cast(PageAnswer, asyncio.run(LoginDesk(guard, "/", "en").submit(form, posted)))
    wait = page.headers["Retry-After"]  # the login form says it too, in the page's language
    assert page.status == 429 and f"Too many failed logins from this address: try again in {wait} s." in page.html
    # a fifth failure from the address (any name): its own count is reached, every account is refused there, unhashed
    nobody = Asking("GET", "/", basic("", "x"), None, "10.0.0.1")
    assert cast(JsonAnswer, asyncio.run(guard.admit(nobody, LIVE_FIGURES))).status == 401
    again = Asking("GET", "/", basic("other", "other-s-password"), None, "10.0.0.1")
    before = len(hashed)
    assert asyncio.run(guard.who(again)).__class__.__name__ == "Throttled" and len(hashed) == before
    # a national operator clears it (`p06 users unthrottle`): at once, through the shared file
    entries = Throttle(tmp_path, limits).entries()
    assert {(e.account, e.address) for e in entries} == {("ops", "10.0.0.1"), ("", "10.0.0.1"), ("?", "10.0.0.1")}
    assert Throttle(tmp_path, limits).clear(address="10.0.0.1") == 3
    assert isinstance(asyncio.run(guard.who(again)), Account)


def test_the_client_address_is_a_trusted_proxy_s_header_or_the_connection_s() -> None:
    proxies = trusted_networks("10.0.0.5, 192.168.0.0/16")
    assert client_address("203.0.113.7", "1.2.3.4", proxies) == "203.0.113.7"  # not a proxy: its header is ignored
    assert client_address("10.0.0.5", "1.2.3.4", ()) == "10.0.0.5"  # no proxy configured
    assert client_address("10.0.0.5", "6.6.6.6, 1.2.3.4", proxies) == "1.2.3.4"  # the address the proxy saw
    assert client_address("10.0.0.5", "1.2.3.4, 192.168.1.1", proxies) == "1.2.3.4"  # through two proxies
    assert client_address("10.0.0.5", None, proxies) == "10.0.0.5" and CSRF_COOKIE == "p06_csrf"


def test_the_sink_metrics_keep_their_names_types_and_labels() -> None:
    audit = Audit.__new__(Audit)  # its verdict only: no warehouse behind it
    audit.results = {"recent": CheckResult(seconds=1.5, differences={"rollups": 1}, live="agree")}
    audit.runs = {"recent": 3}
    stats = {"events": 10, "rejected": 2, "away_from_home": 1, "batches": 4, "write_s": 0.5, "lag": None}
    stats["lag_seconds"] = -1
    store = cast(Store, types.SimpleNamespace(up=True, write_errors=2))
    text = exposition(sink_registry(lambda: stats, store, audit))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert {name: f.type for name, f in families.items()} == {
        "p06_sink_events": "counter",
        "p06_sink_rejected": "counter",
        "p06_sink_away_from_home": "counter",
        "p06_sink_batches": "counter",
        "p06_sink_write_seconds": "counter",
        "p06_sink_lag": "gauge",
        "p06_sink_lag_seconds": "gauge",
        "p06_sink_clickhouse_up": "gauge",
        "p06_sink_clickhouse_write_errors": "counter",
        "p06_reconcile_agree": "gauge",
        "p06_reconcile_differences": "gauge",
        "p06_reconcile_errors": "gauge",
        "p06_reconcile_live_compared": "gauge",
        "p06_reconcile_runs": "counter",
        "p06_reconcile_duration_seconds": "gauge",
    }
    assert samples[("p06_sink_events_total", ())] == 10 and samples[("p06_sink_lag", ())] == -1
    assert samples[("p06_sink_lag_seconds", ())] == -1 and samples[("p06_sink_clickhouse_write_errors_total", ())] == 2
    assert samples[("p06_reconcile_agree", ())] == 0
    assert samples[("p06_reconcile_differences", (("check", "recent"), ("source", "rollups")))] == 1
    assert samples[("p06_reconcile_runs_total", (("check", "recent"),))] == 3
    assert samples[("p06_reconcile_live_compared", (("check", "recent"),))] == 1
