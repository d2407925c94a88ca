"""The one guard of both web apps, without a broker: who is asking, how each door refuses, passwords
checked off the event loop, and the sink's /metrics exposition by prometheus_client."""

from __future__ import annotations

import asyncio
import base64
import threading
import types
from pathlib import Path
from typing import cast

import pytest
from prometheus_client.parser import text_string_to_metric_families

from auth import (
    DASHBOARD,
    LIVE_FIGURES,
    METRICS,
    WAREHOUSE,
    Account,
    Accounts,
    Asking,
    Guard,
    JsonAnswer,
    LoginDesk,
    PageAnswer,
    Redirect,
    TextAnswer,
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
    wrong = asyncio.run(desk.submit({"name": "ops", "password": "nope", "lang": "en"}, "127.0.0.1"))
    assert isinstance(wrong, PageAnswer) and wrong.status == 401 and 'lang="en"' in wrong.html
    done = asyncio.run(desk.submit({"name": "ops", "password": "province-password", "next": "//evil/"}, None))
    assert isinstance(done, Redirect) and done.location == "/dashboard/" and done.set_session is not None
    assert done.set_session.max_age_s == 3600
    token = done.set_session.value
    assert guard.identify(asking(session=token)) == guard.accounts.all()["ops"]
    assert guard.identify(asking(session=token[:-2] + ("AA" if not token.endswith("AA") else "BB"))) is None
    assert desk.logout("en") == Redirect("/login?lang=en", end_session=True)
    assert desk.logout("xx") == Redirect("/login", end_session=True)


def test_passwords_are_verified_off_the_event_loop_and_once(guard: Guard, monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 costs ~0.3 s: a check on the loop's thread would stall every other request of the process."""
    threads: list[threading.Thread] = []
    verified = guard.accounts.check_password

    def spy(name: str, password: str):
        threads.append(threading.current_thread())
        return verified(name, password)

    monkeypatch.setattr(guard.accounts, "check_password", spy)

    async def both() -> None:
        await guard.who(asking(basic("nat", "national-password")))
        await guard.password("nat", "national-password", None)

    asyncio.run(both())
    assert len(threads) == 2 and all(t is not threading.main_thread() for t in threads)
    assert len(guard.accounts._verified) >= 1  # the verified credentials are cached (an HMAC, never the password)


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
