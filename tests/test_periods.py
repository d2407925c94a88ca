"""Reporting periods and approval (issue 24, part 3) on a real broker and a real `p06 sink`.

One pipeline for the module: a seeded stream stamped +07:00 (and the generator's other zones) over last
month, then approve, a late event, the period report with the approved figures and the late event apart,
reopen, approve again with it, accept; every refusal; province A's operator cannot act for B.
The recount (sinks/checks/recount.py) is the oracle of every figure.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kit.browser import log_in
from kit.pipeline import Worker, monitor, operator
from kit.sinkstream import P06, SinkProcess, publish
from playwright.sync_api import sync_playwright

from auth import Accounts
from producers import simulated_events
from schemas.calendar import Calendar
from schemas.events import validate_event
from schemas.names import ingestion_topic
from schemas.periods import Action, refusal
from schemas.registry import registry
from schemas.settings import Settings
from sinks.checks.recount import recount
from sinks.periods import period_report
from sinks.periods.report import recent
from sinks.warehouse.archive import COLUMNS, TABLE, Columns
from sinks.warehouse.migrations import migrate
from sinks.warehouse.reader import ApiReader
from stack.clients import kafka_python_options
from stack.topics import ensure_ingestion_topics

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[1] / "docs"
CAL = Calendar()
THIS_MONTH, LAST_MONTH = recent(CAL, 2)  # whatever the day the tests run: last month has ended, this one not
START, END = CAL.month(LAST_MONTH)
UNTIL = END - timedelta(microseconds=1)


def test_the_rules_of_the_transitions() -> None:
    """schemas.periods alone: who may do what from which status, and the period must have ended."""
    after_end = END + timedelta(hours=1)

    def why(action: str, current: str, role: str = "national", own: str | None = None, period: str = LAST_MONTH):
        seen = current
        press = Action(period=period, province="01", action=action, expected=seen, by="x", role=role, by_province=own)
        return refusal(press, current, CAL, after_end)

    assert why("approve", "open", "province", "01") is None and why("approve", "open") is None
    assert why("accept", "approved") is None and why("reopen", "approved", "province", "01") is None
    assert why("reopen", "accepted") is None
    assert "national" in str(why("accept", "approved", "province", "01"))
    assert "national" in str(why("reopen", "accepted", "province", "01"))
    assert "cannot accept a period that is open" in str(why("accept", "open"))
    assert "may not act for province 01" in str(why("approve", "open", "province", "02"))
    assert "has not ended" in str(why("approve", "open", period=THIS_MONTH))


def test_0009_old_rows_take_the_sinks_read_time_new_ones_the_brokers(chdb_client) -> None:
    """appended_at of a row archived before 0009 is its received_at (never earlier than the broker's
    append, so never wrongly on time); a row archived since carries the record's broker timestamp."""
    migrate(chdb_client, until=8)
    old = [c for c in COLUMNS if c not in ("appended_at", "supersedes_id", "supersedes_at", "void", "sent_via")]
    received, appended = datetime(2026, 12, 7, 3, tzinfo=UTC), datetime(2026, 12, 1, 2, tzinfo=UTC)
    raw = {"type": "eid.activations", "locality": "00070", "occurred_at": "2026-11-30T23:00:00+07:00"}
    rows = Columns()
    rows.add(validate_event({**raw, "event_id": "old", "payload": {"count": 1}}), "t", 0, 0, received)
    chdb_client.insert(TABLE, [rows.data[COLUMNS.index(c)] for c in old], column_names=old, column_oriented=True)
    assert [m.version for m in migrate(chdb_client)] == [9, 10]
    rows = Columns()
    rows.add(validate_event({**raw, "event_id": "new", "payload": {"count": 2}}), "t", 0, 1, received, appended)
    chdb_client.insert(TABLE, rows.data, column_names=list(COLUMNS), column_oriented=True)
    got = dict(chdb_client.query("SELECT event_id, appended_at FROM p06.archive FINAL").result_rows)
    assert {k: v.replace(tzinfo=UTC) for k, v in got.items()} == {"old": received, "new": appended}


def test_a_sender_cannot_backdate_its_record_on_its_ingestion_topic(p06_settings: Settings) -> None:
    """The broker stamps a province's ingestion records with its own append time (LogAppendTime): a
    record a ward's sender stamps a month early reads with the time it arrived, which admission carries on
    and the archive keeps as appended_at."""
    ensure_ingestion_topics(p06_settings)
    code = registry().provinces[0]
    topic = ingestion_topic(p06_settings.events_topic, code)
    producer = KafkaProducer(**kafka_python_options(p06_settings, f"province-{code}"), acks="all")
    backdated = int((datetime.now(UTC) - timedelta(days=30)).timestamp() * 1000)
    sent = datetime.now(UTC)
    producer.send(topic, b"{}", timestamp_ms=backdated).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(topic, **kafka_python_options(p06_settings, "admin"), auto_offset_reset="earliest")
    records = []
    for _ in range(30):
        records += [r for batch in consumer.poll(timeout_ms=1000).values() for r in batch]
        if records:
            break
    consumer.close()
    assert records and records[0].timestamp_type == 1  # 1: LogAppendTime
    assert records[0].timestamp >= int((sent - timedelta(seconds=5)).timestamp() * 1000) > backdated


def province_account(data: Path, code: str) -> tuple[str, str]:
    password = secrets.token_urlsafe(16)
    name = f"op-{code}"
    Accounts(data).add(name, "province", password, province=code)
    return name, password


@pytest.fixture
def pipeline(p06_settings: Settings, tmp_path: Path) -> Iterator[dict[str, Any]]:
    start = START + timedelta(days=1)
    events = [
        dict(e)
        for e in simulated_events(24, 300, start=start, span=timedelta(days=6), provinces=2, wards_per_province=4)
    ]
    publish(p06_settings, [orjson.dumps(e) for e in events])
    sink = SinkProcess(p06_settings, tmp_path / "sink.log", P06_PERIOD_DEADLINE_DAYS="40")
    worker = Worker(p06_settings.worker_web_port, tmp_path)  # serves the dashboard and its period panel
    try:
        sink.wait(lambda h: h["messages"] >= len(events) and h["lag"] == 0)
        a, b = sorted({registry().localities[e["locality"]].province for e in events})
        accounts = {code: province_account(p06_settings.accounts_folder, code) for code in (a, b)}
        yield {"settings": p06_settings, "events": events, "sink": sink, "a": a, "b": b, "accounts": accounts} | {
            "worker": worker
        }
    finally:
        worker.stop()
        sink.stop()


def press(
    s: Settings, auth: Any, period: str, province: str, action: str, expected: str | None = None
) -> httpx.Response:
    url = f"http://127.0.0.1:{s.sink_api_port}/periods/{period}/{province}"
    return httpx.post(url, json={"action": action, "expected": expected}, auth=auth, timeout=60)


def show(s: Settings, period: str) -> dict[str, Any]:
    return httpx.get(f"http://127.0.0.1:{s.sink_api_port}/periods/{period}", auth=operator(), timeout=60).json()


def report(period: str) -> dict[str, Any]:
    done = subprocess.run([P06, "report", "national", "--period", period], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def late_event(ward: str) -> dict[str, Any]:
    """Last month's report of a ward, sent now: 23:00+07:00 on the month's last day."""
    at = CAL.local(END - timedelta(hours=1)).isoformat()
    return {
        "event_id": "late-1",
        "type": "eid.activations",
        "locality": ward,
        "occurred_at": at,
        "payload": {"count": 7},
    }


def test_approve_a_late_event_reopen_approve_accept_and_every_refusal(pipeline: dict[str, Any]) -> None:
    s, events, sink, a, b = (pipeline[k] for k in ("settings", "events", "sink", "a", "b"))
    op_a = pipeline["accounts"][a]
    # Refused before the topic: a monitor account, a province acting for another, a province accepting.
    assert press(s, monitor(), LAST_MONTH, a, "approve").status_code == 403
    refused = press(s, op_a, LAST_MONTH, b, "approve")
    assert refused.status_code == 403 and f"may not act for province {b}" in refused.text
    assert press(s, op_a, LAST_MONTH, a, "accept", "approved").status_code == 403
    assert press(s, None, LAST_MONTH, a, "approve").status_code == 401
    # Refused by the one writer, with the reason: a period not ended, accepting what is not approved.
    early = press(s, op_a, THIS_MONTH, a, "approve")
    assert early.status_code == 409 and "has not ended" in early.json()["reason"]
    not_approved = press(s, operator(), LAST_MONTH, a, "accept")
    assert not_approved.status_code == 409 and "cannot accept a period that is open" in not_approved.json()["reason"]

    # Two operators press at once, both having seen `open`: one applies, the other is refused.
    answers: list[httpx.Response] = []
    pressers = [
        threading.Thread(target=lambda who=who: answers.append(press(s, who, LAST_MONTH, a, "approve", "open")))
        for who in (op_a, operator())
    ]
    for t in pressers:
        t.start()
    for t in pressers:
        t.join()
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    second = next(r for r in answers if r.status_code == 409).json()
    assert "another operator acted first" in second["reason"]

    before = recount(events, UNTIL)
    period = report(LAST_MONTH)
    assert period["timezone"] == "Asia/Ho_Chi_Minh" and period["covers"]["to"] == CAL.local(END).isoformat()
    assert period["month"]["from"] == CAL.local(START).isoformat()
    pa, pb = period["provinces"][a], period["provinces"][b]
    assert pa["status"] == "approved" and pa["figures_are"] == "approved" and pa["figures"] == before["provinces"][a]
    assert pa["arrived_after_approval"]["events"] == 0 and not any(pa["arrived_after_approval"]["effect"].values())
    assert pb["status"] == "open" and pb["figures_are"] == "current" and pb["figures"] == before["provinces"][b]
    places = registry().localities
    reported = {e["locality"] for e in events if places[e["locality"]].province == a}
    reported = {code for code in reported if places[code].level == "ward"}
    assert pa["reported"] == len(reported) and pa["wards"] == len(registry().wards_by_province[a])
    assert pa["on_time"] == len(reported)  # the deadline is 40 days after the month here

    # A late report for the approved month: counted as always, shown apart, the approved figures unmoved.
    ward = sorted(reported)[0]
    late = late_event(ward)
    publish(s, [orjson.dumps(late)])
    sink.wait(lambda h: h["messages"] >= len(events) + 1 and h["lag"] == 0)
    after = recount([*events, late], UNTIL)
    period = report(LAST_MONTH)
    pa = period["provinces"][a]
    assert pa["figures"] == before["provinces"][a] and pa["wards_figures"][ward] == before["wards"][ward]
    apart = pa["arrived_after_approval"]
    assert apart["events"] == 1 and apart["event_ids"] == ["late-1"]
    assert apart["effect"] == {m: after["provinces"][a][m] - before["provinces"][a][m] for m in after["nation"]}
    assert apart["effect"]["eid_activations"] == 7

    # Reopen and approve again: the approval takes the late report in.
    assert press(s, op_a, LAST_MONTH, a, "reopen", "approved").json()["status_after"] == "open"
    assert press(s, op_a, LAST_MONTH, a, "approve", "open").status_code == 200
    pa = report(LAST_MONTH)["provinces"][a]
    assert pa["figures"] == after["provinces"][a] and pa["arrived_after_approval"]["events"] == 0

    # Accept (national); a province may not reopen what is accepted; the national level may.
    assert press(s, operator(), LAST_MONTH, a, "accept", "approved").json()["status_after"] == "accepted"
    no = press(s, op_a, LAST_MONTH, a, "reopen", "accepted")
    assert no.status_code == 409 and "national" in no.json()["reason"]
    pa = show(s, LAST_MONTH)["provinces"][a]
    assert pa["status"] == "accepted" and pa["figures_are"] == "approved" and pa["figures"] == after["provinces"][a]

    # A province operator sees their own province only; the CLI lists and approves.
    mine = httpx.get(f"http://127.0.0.1:{s.sink_api_port}/periods", auth=op_a, timeout=60).json()
    assert all(set(p["provinces"]) == {a} for p in mine["periods"])
    cli = subprocess.run([P06, "period", "approve", LAST_MONTH, b], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and json.loads(cli.stdout)["status_after"] == "approved", cli.stderr
    cli = subprocess.run(
        [P06, "period", "accept", LAST_MONTH, b, "--expected", "open"], capture_output=True, text=True, timeout=120
    )
    assert cli.returncode == 1 and "another operator acted first" in cli.stderr

    # Timeliness by the broker's time: with no days after the month, every report here came late.
    reader = ApiReader(f"http://127.0.0.1:{s.sink_api_port}", operator())
    strict = period_report(reader, s.model_copy(update={"period_deadline_days": 0}), LAST_MONTH, [a, b])
    assert strict["provinces"][a]["on_time"] == 0 and strict["provinces"][a]["reported"] == len(reported)
    reader.close()

    # The audit: every action the writer judged, applied or refused, in ClickHouse.
    rows = httpx.post(
        f"http://127.0.0.1:{s.sink_api_port}/query",
        json={"name": "period_actions", "params": {"period": LAST_MONTH}},
        auth=operator(),
        timeout=60,
    ).json()["rows"]
    outcomes = [(r["province"], r["action"], r["outcome"]) for r in rows]
    assert outcomes.count((a, "approve", "applied")) == 2 and (a, "accept", "refused") in outcomes
    assert (a, "reopen", "refused") in outcomes and (b, "approve", "applied") in outcomes
    assert sink.alive

    panel(pipeline, b)


def panel(pipeline: dict[str, Any], b: str) -> None:
    """The dashboard's period panel: statuses, completeness, timeliness; the national operator accepts B
    with a button; province A's operator sees A alone, with no button on an accepted period."""
    url, a = pipeline["worker"].url, pipeline["a"]
    deadline = time.monotonic() + 90
    while pipeline["worker"].live() is None:
        assert time.monotonic() < deadline and pipeline["worker"].alive, pipeline["worker"].failure()
        time.sleep(0.3)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        log_in(page, url, operator())
        # The session cookie alone (what another site could make the browser send) is refused; the panel's
        # button below sends the session's CSRF token and is applied.
        forged = page.request.post(f"{url}/api/periods/{LAST_MONTH}/{b}", data={"action": "accept"})
        assert forged.status == 403 and "CSRF" in forged.json()["error"]
        row = page.locator(f'#periods tr[data-code="{b}"]')
        row.locator('button[data-action="accept"]').click()
        page.wait_for_selector(f'#periods tr[data-code="{b}"][data-status="accepted"]', timeout=60_000)
        assert page.get_attribute("#period-outcome", "data-outcome") == "applied"
        assert page.locator(f'#periods tr[data-code="{a}"] button').count() == 1  # accepted: reopen (national)
        page.locator("#period-panel").screenshot(path=str(SHOTS / "period-panel-vi.png"), animations="disabled")
        page.goto(f"{url}/dashboard/?lang=en")
        page.wait_for_selector(f'#periods tr[data-code="{b}"][data-status="accepted"]', timeout=60_000)
        assert "Reporting period and approval" in page.inner_text("#period-panel")
        page.locator("#period-panel").screenshot(path=str(SHOTS / "period-panel-en.png"), animations="disabled")
        mine = browser.new_context().new_page()
        log_in(mine, url, pipeline["accounts"][a])
        mine.wait_for_selector(f'#periods tr[data-code="{a}"]', timeout=60_000)
        assert mine.locator("#periods tbody tr").count() == 1 and mine.locator("#periods button").count() == 0
        browser.close()
