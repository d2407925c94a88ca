"""The incremental rollups on a real chDB folder, against the independent recount.

Events arrive as senders send them: stamped +07:00, late by days, resent, sent again with other
content or at another hour of the same day, in batches of any size; and a write may fail at any
statement and be retried, by the same batch or by a batch cut differently (a restarted sink reads
from its last commit).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from schemas.events import validate_event
from schemas.registry import registry
from sinks.checks.recount import end_of, recount
from sinks.ingest import checkpoint
from sinks.warehouse import rollups
from sinks.warehouse.archive import COLUMNS, TABLE, Columns, now
from sinks.warehouse.figures import from_archive, from_rollups
from sinks.warehouse.migrations import migrate
from sinks.warehouse.reader import ClientReader

VIETNAM = timezone(timedelta(hours=7))
SCOPES = ("nation", "urban", "rural", "provinces", "wards")


def _columns(events: list[tuple[int, dict]]) -> Columns:
    columns = Columns()
    for offset, raw in events:
        columns.add(validate_event(raw), "t", 0, offset, now())
    return columns


def _archive(client, columns: Columns) -> None:
    client.insert(TABLE, columns.data, column_names=list(COLUMNS), column_oriented=True)


def _write(client, events: list[dict], first_offset: int = 0) -> None:
    columns = _columns(list(enumerate(events, first_offset)))
    _archive(client, columns)
    checkpoint.apply(client, columns)


def test_a_batch_in_vietnamese_time_lands_in_its_utc_hours(chdb_client) -> None:
    migrate(chdb_client)
    ward = registry().wards_by_province["01"][0]
    village = {"type": "village.status", "locality": ward}
    first = [
        {
            **village,
            "event_id": "v1",
            "occurred_at": "2026-11-01T08:00:00+07:00",
            "payload": {"village_id": "V1", "electricity": True, "internet": True},
        }
    ]
    second = [
        {
            **village,
            "event_id": "v2",
            "occurred_at": "2026-11-01T09:30:00+07:00",
            "payload": {"village_id": "V1", "electricity": False, "internet": True},
        },
        {
            "type": "eid.activations",
            "locality": ward,
            "event_id": "e1",
            "occurred_at": "2026-11-01T10:05:00+07:00",
            "payload": {"count": 42},
        },
    ]
    _write(chdb_client, first)
    _write(chdb_client, second, first_offset=1)
    expected = recount(first + second)
    reader = ClientReader(chdb_client)
    assert from_rollups(reader)["nation"] == expected["nation"]
    assert from_rollups(reader)["wards"][ward]["villages_without_electricity"] == 1
    hours = chdb_client.query(
        "SELECT toString(hour), sum(eid_activations) FROM p06.rollup_hour FINAL"
        " WHERE scope = 'nation' GROUP BY hour HAVING sum(eid_activations) != 0"
    ).result_rows
    assert hours == [("2026-11-01 03:00:00", 42)]  # 10:05+07:00 belongs to the 03:00 UTC bucket


def _stream(seed: int) -> list[dict]:
    """A month of a few localities' reports, delivered out of order, with resends and other-content copies."""
    rng = random.Random(seed)
    reg = registry()
    wards = [w for p in ("01", "79") for w in reg.wards_by_province[p][:3]]
    places = wards + ["01"]
    start = datetime(2026, 10, 1, tzinfo=VIETNAM)
    events: list[dict] = []
    for n in range(400):
        where = rng.choice(places)
        at = start + timedelta(days=rng.uniform(0, 30))
        if rng.random() < 0.1:  # near midnight in Vietnam: the UTC day is the day before
            at = at.replace(hour=rng.choice((0, 6)), minute=rng.randrange(60))
        stamp = at.astimezone(rng.choice((VIETNAM, UTC))).isoformat()
        kind = rng.random()
        if where == "01":
            event = {
                "type": "task.status",
                "payload": {
                    "task_id": f"T{rng.randrange(1, 5):03d}",
                    "status": rng.choice(("not_started", "in_progress", "completed")),
                },
            }
        elif kind < 0.55:
            event = {
                "type": "village.status",
                "payload": {
                    "village_id": f"V{rng.randrange(1, 4)}",
                    "electricity": rng.random() < 0.7,
                    "internet": rng.random() < 0.6,
                },
            }
        elif kind < 0.7:
            event = {
                "type": "security.assessment",
                "payload": {
                    "system_id": "S1",
                    "result": rng.choice(("passed", "failed")),
                    "open_findings": rng.randrange(5),
                },
            }
        else:
            event = {"type": "eid.activations", "payload": {"count": rng.randrange(1, 50)}}
        events.append({"event_id": f"e{n}", "locality": where, "occurred_at": stamp, **event})
    rng.shuffle(events)  # late by up to a month
    out: list[dict] = []
    for e in events:
        out.append(e)
        if rng.random() < 0.1:
            out.insert(rng.randrange(len(out)), dict(e))  # a resend, earlier or later in the log
        if rng.random() < 0.05 and e["type"] == "eid.activations":
            out.append({**e, "payload": {"count": e["payload"]["count"] + 1000}})  # other content: the first counts
        if rng.random() < 0.05:  # the same event_id at another hour of its UTC day: a copy too, the first counts
            at = datetime.fromisoformat(e["occurred_at"]).astimezone(UTC)
            out.append({**e, "occurred_at": at.replace(hour=(at.hour + rng.randrange(1, 24)) % 24).isoformat()})
    return out


class Flaky:
    """A client whose n-th insert or command fails once: a write cut short at that point."""

    def __init__(self, client, fail_at: int) -> None:
        self.client, self.fail_at, self.calls = client, fail_at, 0

    def query(self, *args, **kwargs):
        return self.client.query(*args, **kwargs)

    def _write(self, method, *args, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("ClickHouse went away")
        return getattr(self.client, method)(*args, **kwargs)

    def insert(self, *args, **kwargs):
        return self._write("insert", *args, **kwargs)

    def command(self, *args, **kwargs):
        return self._write("command", *args, **kwargs)


def _assert_equal_to_recount(client, stream: list[dict]) -> None:
    reader = ClientReader(client)
    for as_of in (date(2026, 10, 9), date(2026, 10, 20), None):
        until = end_of(as_of) if as_of else None
        expected, got = recount(stream, until), from_rollups(reader, as_of)
        for scope in SCOPES:
            if scope in ("provinces", "wards"):
                zero = dict.fromkeys(got["nation"], 0)
                assert {k: v for k, v in got[scope].items() if v != zero} == {
                    k: v for k, v in expected[scope].items() if v != zero
                }, (as_of, scope)
            else:
                assert got[scope] == expected[scope], (as_of, scope)
    assert from_archive(reader)["nation"] == from_rollups(reader)["nation"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_late_resent_and_conflicting_events_in_batches_give_the_recount(chdb_client, seed) -> None:
    migrate(chdb_client)
    stream = _stream(seed)
    rng = random.Random(seed)
    offset = 0
    while offset < len(stream):
        size = rng.randrange(1, 40)
        _write(chdb_client, stream[offset : offset + size], offset)
        offset += size
    _assert_equal_to_recount(chdb_client, stream)


@pytest.mark.parametrize("seed", [4, 5])
def test_a_write_cut_short_anywhere_is_finished_by_the_batch_read_again(chdb_client, seed) -> None:
    migrate(chdb_client)
    stream = _stream(seed)
    rng = random.Random(seed)
    offset, cut = 0, 0
    while offset < len(stream):
        size = rng.randrange(5, 40)
        batch = list(enumerate(stream[offset : offset + size], offset))
        columns = _columns(batch)
        _archive(chdb_client, columns)
        try:
            checkpoint.apply(Flaky(chdb_client, fail_at=rng.randrange(1, 6)), columns)
        except ConnectionError:
            cut += 1
            rollups.repair(chdb_client)  # as the store does on the connection it opens after a failure
        # Read again from the last commit: the same records, sometimes with the next ones too.
        more = rng.randrange(0, 10)
        again = _columns(list(enumerate(stream[offset : offset + size + more], offset)))
        _archive(chdb_client, again)
        checkpoint.apply(chdb_client, again)
        offset += size + more
    assert cut >= 10  # most batches were cut short somewhere
    _assert_equal_to_recount(chdb_client, stream)


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4, 5])
def test_a_village_that_reports_rarely_keeps_its_figure_when_a_write_is_cut_short(chdb_client, fail_at) -> None:
    """Its previous version lies days before the batch, outside what a batch reads, so the batch takes
    it from the entity's head; a write cut between p06.counted and the heads must not leave a stale head."""
    migrate(chdb_client)
    ward = registry().wards_by_province["79"][0]

    def village(n: int, day: int, electricity: bool) -> dict:
        return {
            "type": "village.status",
            "locality": ward,
            "event_id": f"v{n}",
            "occurred_at": f"2026-10-{day:02d}T09:00:00+07:00",
            "payload": {"village_id": "V1", "electricity": electricity, "internet": True},
        }

    stream = [village(1, 1, False), village(2, 12, True), village(3, 25, False)]
    _write(chdb_client, stream[:1])
    for offset, event in enumerate(stream[1:], 1):
        columns = _columns([(offset, event)])
        _archive(chdb_client, columns)
        try:
            checkpoint.apply(Flaky(chdb_client, fail_at=fail_at), columns)
        except ConnectionError:
            rollups.repair(chdb_client)  # as the store does on the connection it opens after a failure
        checkpoint.apply(chdb_client, columns)
    _assert_equal_to_recount(chdb_client, stream)


@pytest.mark.parametrize("fail_at", [1, 2, 4, 5, 6, 9])
def test_the_sink_s_write_cut_at_any_step_is_finished_by_the_same_batch_again(chdb_client, fail_at) -> None:
    """The whole protocol of sinks/ingest/checkpoint.py, archive included: cut at the archive insert (1),
    the batch's keys (2), identities (4), counted (5), heads (6) or the hour buckets (9), then the batch
    read again from the last commit. The archive holds each row once (the retried insert carries the
    same token) and the rollups equal the recount."""
    migrate(chdb_client)
    chdb_client.command(f"SYSTEM STOP MERGES {TABLE}")  # count() without FINAL: every part's rows
    stream = _stream(6)[:80]
    columns = _columns(list(enumerate(stream)))
    batch = SimpleNamespace(topic="t", offsets={0: (0, len(stream) - 1)}, columns=columns)
    with pytest.raises(ConnectionError):
        checkpoint.write(Flaky(chdb_client, fail_at=fail_at), batch)
    rollups.repair(chdb_client)  # as the store does on the connection it opens after a failure
    checkpoint.write(chdb_client, batch)
    rows, kept = chdb_client.query(f"SELECT count(), (SELECT count() FROM {TABLE} FINAL) FROM {TABLE}").result_rows[0]
    assert rows == kept  # one part: the retried insert was dropped (copies within one insert collapse on insert)
    _assert_equal_to_recount(chdb_client, stream)
