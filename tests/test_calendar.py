"""The country's calendar (issue 24, part 1): a day, a month, --as-of and --from/--to are P06_TIMEZONE's.

Boundary events carry digit-coded counts (1, 10, 100, ...) so a figure says which of them it holds:
06:00+07:00 on 1 December and 23:30 UTC on 30 November are December in Hà Nội; 23:59+07:00 on the
30th is November; 00:00+07:00 on 1 December (17:00 UTC on the 30th) is December. The recount
(sinks/checks/recount.py, its own rule from P06_TIMEZONE) is the oracle for the seeded stream around them.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from kit.faults import p06
from kit.pipeline import Worker, operator, wait_for_figures
from kit.sinkstream import P06, SinkProcess, publish

from producers import simulated_events
from schemas.calendar import Calendar
from schemas.events import validate_event
from schemas.metrics import METRICS
from schemas.registry import registry
from schemas.settings import Settings, SettingsError, load_settings, settings
from sinks.checks.audit import compare_buckets, recent_buckets_from_archive, recent_buckets_from_rollups
from sinks.checks.recount import end_of, expected_live, recount
from sinks.ingest import checkpoint
from sinks.warehouse import days
from sinks.warehouse.archive import COLUMNS, TABLE, Columns, now
from sinks.warehouse.figures import from_rollups
from sinks.warehouse.migrations import migrate
from sinks.warehouse.reader import ClientReader

NOV30, DEC1 = date(2026, 11, 30), date(2026, 12, 1)
SEEDED_FROM = datetime(2026, 11, 28, 12, tzinfo=UTC)


def seeded(seed: int, n: int) -> list[dict]:
    """The project's generator around the month's end: most senders +07:00, some UTC, a few other zones."""
    events = simulated_events(seed, n, start=SEEDED_FROM, span=timedelta(days=4), provinces=2, wards_per_province=4)
    return [dict(e) for e in events]


def quiet_ward(events: list[dict]) -> str:
    """A ward of a province the seeded stream does not touch: its figures are the boundary events' alone."""
    busy = {registry().localities[e["locality"]].province for e in events}
    province = next(p for p in registry().provinces if p not in busy)
    return registry().wards_by_province[province][0]


def boundary(ward: str) -> list[dict]:
    def eid(name: str, at: str, count: int) -> dict:
        payload = {"count": count}
        return {"type": "eid.activations", "locality": ward, "event_id": name, "occurred_at": at, "payload": payload}

    def village(name: str, at: str, electricity: bool) -> dict:
        payload = {"village_id": "V1", "electricity": electricity, "internet": True}
        return {"type": "village.status", "locality": ward, "event_id": name, "occurred_at": at, "payload": payload}

    return [
        eid("nov-2359", "2026-11-30T23:59:00+07:00", 100),  # November's last minute in Hà Nội
        eid("ny-nov", "2026-11-30T11:00:00-05:00", 10_000),  # 23:00+07:00 on the 30th: November
        eid("dec-0600", "2026-12-01T06:00:00+07:00", 1),  # 23:00 UTC on the 30th: December
        eid("dec-2330z", "2026-11-30T23:30:00Z", 10),  # 06:30+07:00 on the 1st: December
        eid("dec-0000", "2026-12-01T00:00:00+07:00", 1_000),  # 17:00 UTC on the 30th: December
        eid("ny-dec", "2026-11-30T12:00:00-05:00", 100_000),  # 00:00+07:00 on the 1st: December
        village("v-nov", "2026-11-30T20:00:00+07:00", False),
        village("v-dec", "2026-12-01T01:00:00+07:00", True),  # 18:00 UTC on the 30th: the village lit in December
    ]


NOVEMBER_EID, DECEMBER_EID = 10_100, 101_011  # the boundary ward's activations in each month


def test_the_setting_refuses_a_zone_whose_offset_is_not_whole_hours(monkeypatch) -> None:
    with pytest.raises(SettingsError, match=r"P06_TIMEZONE: .*Asia/Kolkata is UTC\+05:30.*must be whole hours"):
        load_settings(timezone="Asia/Kolkata")
    with pytest.raises(SettingsError, match=r"P06_TIMEZONE: .*unknown time zone 'Mars/Olympus'"):
        load_settings(timezone="Mars/Olympus")
    with pytest.raises(SettingsError, match=r"Australia/Lord_Howe is UTC\+10:30"):  # whole hours half the year only
        load_settings(timezone="Australia/Lord_Howe")
    assert load_settings().timezone == "Asia/Ho_Chi_Minh"  # the default
    assert load_settings(timezone="Europe/Paris").timezone == "Europe/Paris"  # DST, but whole hours
    monkeypatch.setenv("P06_TIMEZONE", "Asia/Kolkata")
    refused = subprocess.run([P06, "report", "national"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "P06_TIMEZONE" in refused.stderr and "whole hours" in refused.stderr


def test_a_day_and_a_month_are_the_zones() -> None:
    hanoi, paris = Calendar("Asia/Ho_Chi_Minh"), Calendar("Europe/Paris")
    assert [hanoi.local(t).isoformat() for t in hanoi.day(NOV30)] == [
        "2026-11-30T00:00:00+07:00",
        "2026-12-01T00:00:00+07:00",
    ]
    assert hanoi.day(NOV30)[1] == datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert hanoi.local(hanoi.end_of(NOV30)).isoformat() == "2026-11-30T23:59:59.999999+07:00"
    assert [hanoi.local(t).isoformat() for t in hanoi.month("2026-12")] == [
        "2026-12-01T00:00:00+07:00",
        "2027-01-01T00:00:00+07:00",
    ]
    assert hanoi.month_of(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == "2026-12"
    assert hanoi.day_of(datetime(2026, 11, 30, 16, 59, tzinfo=UTC)) == NOV30
    start, end = paris.day(date(2026, 3, 29))  # the spring-forward day: 23 hours, all whole UTC hours
    assert (end - start) == timedelta(hours=23) and paris.local(start).isoformat() == "2026-03-29T00:00:00+01:00"
    assert hanoi.covers(None, hanoi.day(NOV30)[1]) == {
        "timezone": "Asia/Ho_Chi_Minh",
        "from": None,
        "to": "2026-12-01T00:00:00+07:00",
    }


def _archive_the_old_way(client, events: list[dict]) -> None:
    """Rows as a warehouse before issue 24 holds them: archived, then rolled up by 0005-0007 in UTC days."""
    migrate(client, until=4)
    rows = Columns()
    for offset, raw in enumerate(events):
        rows.add(validate_event(raw), "t", 0, offset, now())
    later = ("map", "sent_locality", "appended_at", "supersedes_id", "supersedes_at", "void", "sent_via")  # 0006-0010
    then = [i for i, c in enumerate(COLUMNS) if c not in later]
    client.insert(TABLE, [rows.data[i] for i in then], column_names=[COLUMNS[i] for i in then], column_oriented=True)
    assert [m.version for m in migrate(client, until=7)] == [5, 6, 7]


def _assert_days_as_recount(client, events: list[dict]) -> None:
    reader = ClientReader(client)
    for day in (date(2026, 11, 28), date(2026, 11, 29), NOV30, DEC1, date(2026, 12, 2), None):
        expected, got = recount(events, end_of(day) if day else None), from_rollups(reader, day)
        assert got["nation"] == expected["nation"], day
        assert {p: f for p, f in got["provinces"].items() if any(f.values())} == expected["provinces"], day


def test_0008_rebuilds_the_day_rollups_of_a_warehouse_written_before(chdb_client, monkeypatch) -> None:
    """An existing warehouse (UTC days) moves to the country's days: every day equals the recount, the
    whole equals it too (nothing lost or doubled), a rebuild cut short is done again, later batches land
    in the same days, the sink's own recent check agrees, and a changed setting rebuilds again."""
    stream = seeded(24, 300)
    ward = quiet_ward(stream)
    events = stream + boundary(ward)
    _archive_the_old_way(chdb_client, events)
    reader = ClientReader(chdb_client)
    old = from_rollups(reader, NOV30)["wards"][ward]["eid_activations"]
    assert old == NOVEMBER_EID + 1 + 10 + 1_000 + 100_000  # UTC days: December's first Hà Nội hours in November

    chdb_client.command(f"CREATE TABLE {days._NEXT} AS p06.rollup_day")  # a rebuild cut short before the swap
    chdb_client.insert(days._NEXT, [[NOV30, "ward", ward, "99", "urban", *([7] * len(METRICS)), 1]])
    assert [m.version for m in migrate(chdb_client)] == [8, 9, 10]
    assert days.built_for(chdb_client) == "UTC"  # no record: the code before built UTC days
    assert days.align(chdb_client, Calendar()) is True
    assert days.built_for(chdb_client) == "Asia/Ho_Chi_Minh" and days.align(chdb_client, Calendar()) is False
    _assert_days_as_recount(chdb_client, events)
    figures = from_rollups(reader, NOV30)["wards"][ward]
    assert (figures["eid_activations"], figures["villages_without_electricity"]) == (NOVEMBER_EID, 1)
    assert from_rollups(reader, DEC1)["wards"][ward]["eid_activations"] == NOVEMBER_EID + DECEMBER_EID

    later = {**boundary(ward)[2], "event_id": "dec-0030", "occurred_at": "2026-12-01T00:30:00+07:00"}
    batch = Columns()
    batch.add(validate_event(later), "t", 0, len(events), now())
    chdb_client.insert(TABLE, batch.data, column_names=list(COLUMNS), column_oriented=True)
    checkpoint.apply(chdb_client, batch)
    _assert_days_as_recount(chdb_client, [*events, later])
    cal = Calendar()
    recent = recent_buckets_from_archive(reader, date(2026, 11, 28), cal)
    assert recent and compare_buckets(recent, recent_buckets_from_rollups(reader, date(2026, 11, 28))) == []

    monkeypatch.setenv("P06_TIMEZONE", "UTC")  # a deployment that changes the setting: rebuilt again
    settings.cache_clear()
    try:
        assert days.align(chdb_client, Calendar("UTC")) is True
        _assert_days_as_recount(chdb_client, [*events, later])
    finally:
        settings.cache_clear()


def _recent_runs(health: dict | None) -> int:
    return (health or {}).get("reconcile", {}).get("checks", {}).get("recent", {}).get("runs", 0)


def _report(*args: str) -> dict:
    return json.loads(p06("report", *args, "--format", "json").stdout)


def test_reports_read_the_countrys_days_through_broker_worker_and_sink(p06_settings: Settings, tmp_path: Path) -> None:
    """Real broker, worker and sink: every report puts the boundary events in their Hà Nội day and month."""
    stream = seeded(25, 400)
    ward = quiet_ward(stream)
    province = registry().localities[ward].province
    events = stream + boundary(ward)
    publish(p06_settings, [orjson.dumps(e) for e in events])
    recent = (Calendar().today() - date(2026, 11, 28)).days + 1  # the sink's own check covers these days
    env = {"P06_RECONCILE_RECENT_DAYS": str(recent), "P06_RECONCILE_RECENT_S": "2"}
    sink = SinkProcess(p06_settings, tmp_path / "sink.log", **env)
    worker = Worker(p06_settings.worker_web_port, tmp_path)  # where reconcile and the sink look
    try:
        sink.wait(lambda h: h["messages"] >= len(events) and h["lag"] == 0)
        wait_for_figures(worker, expected_live(events))

        at_nov30 = _report("national", "--as-of", "2026-11-30")
        assert at_nov30["timezone"] == "Asia/Ho_Chi_Minh" and at_nov30["as_of"] == "2026-11-30T23:59:59.999999+07:00"
        assert at_nov30["covers"] == {"from": None, "to": "2026-12-01T00:00:00+07:00"}
        assert at_nov30["nation"] == recount(events, end_of(NOV30))["nation"]
        assert at_nov30["provinces"][province]["eid_activations"] == NOVEMBER_EID  # 23:59+07:00 in, 00:00+07:00 out
        at_dec1 = _report("province", province, "--as-of", "2026-12-01")
        assert at_dec1["wards"][ward]["figures"]["eid_activations"] == NOVEMBER_EID + DECEMBER_EID
        assert at_dec1["wards"][ward]["figures"]["villages_without_electricity"] == 0
        assert at_dec1["covers"]["to"] == "2026-12-02T00:00:00+07:00"

        december = _report("national", "--from", "2026-12-01", "--to", "2026-12-02")
        assert december["timezone"] == "Asia/Ho_Chi_Minh"
        assert december["covers"] == {"from": "2026-12-01T00:00:00+07:00", "to": "2026-12-03T00:00:00+07:00"}
        assert december["units"][province]["figures"]["change"]["eid_activations"] == DECEMBER_EID
        assert december["scopes"]["nation"]["figures"]["to"] == recount(events, end_of(date(2026, 12, 2)))["nation"]

        done = p06("reconcile")
        assert done.returncode == 0, done.stdout + done.stderr  # rollups == archive recount == live
        windows = httpx.get(
            f"{worker.url}/api/live/windows", params={"scope": province, "granularity": "day"}, auth=operator()
        ).json()
        by_day = {w["start"]: w["eid_activations"] for w in windows["windows"]}
        assert by_day == {"2026-11-30T00:00:00+07:00": NOVEMBER_EID, "2026-12-01T00:00:00+07:00": DECEMBER_EID}
        runs = _recent_runs(sink.health())
        recent_check = sink.wait(lambda h: _recent_runs(h) > runs, timeout=120)["reconcile"]["checks"]["recent"]
        assert not recent_check["error"] and not any(recent_check["differences"].values()), recent_check
    finally:
        worker.stop()
        sink.stop()
