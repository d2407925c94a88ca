"""Schema migrations on a real chDB folder: applied once, recorded, refused when edited, engines as documented."""

from __future__ import annotations

import pytest

from schemas.events import validate_event
from schemas.metrics import METRICS
from schemas.registry import registry
from sinks.checks.recount import recount
from sinks.ingest import checkpoint
from sinks.warehouse.archive import COLUMNS, TABLE, Columns, now
from sinks.warehouse.figures import from_rollups
from sinks.warehouse.migrations import Migration, MigrationError, applied, available, migrate
from sinks.warehouse.reader import ClientReader


def test_migrations_apply_once_and_are_recorded(chdb_client) -> None:
    first = migrate(chdb_client)
    assert [m.version for m in first] == [m.version for m in available()] and first
    assert migrate(chdb_client) == []  # idempotent: a second start changes nothing
    assert applied(chdb_client) == {m.version: m.checksum for m in available()}
    tables = {r[0] for r in chdb_client.query("SHOW TABLES FROM p06").result_rows}
    assert {"archive", "rollup_hour", "rollup_day", "schema_migrations"} <= tables
    assert not {"entity_latest", "entity_latest_mv"} & tables  # dropped by 0004: reconcile reads the archive


def test_every_metric_has_a_column_in_archive_and_rollups(chdb_client) -> None:
    migrate(chdb_client)
    for table in ("archive", "rollup_hour", "rollup_day"):
        columns = {r[0] for r in chdb_client.query(f"DESCRIBE TABLE p06.{table}").result_rows}
        assert set(METRICS) <= columns, table


def test_an_edited_migration_is_refused(chdb_client, monkeypatch) -> None:
    migrate(chdb_client)
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in available()]
    monkeypatch.setattr("sinks.warehouse.migrations.available", lambda: edited)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(chdb_client)


def test_retried_insert_with_the_same_token_is_dropped(chdb_client) -> None:
    migrate(chdb_client)
    row = {"event_id": "e1", "locality": "00070", "province": "01", "occurred_at": "2026-09-01 00:00:00"}
    for token in ("t:0:0-9", "t:0:0-9", "t:0:10-19"):
        chdb_client.insert(
            "p06.archive", [list(row.values())], column_names=list(row), settings={"insert_deduplication_token": token}
        )
    raw = chdb_client.query("SELECT count() FROM p06.archive").result_rows[0][0]
    final = chdb_client.query("SELECT count() FROM p06.archive FINAL").result_rows[0][0]
    assert raw == 2  # the same token once, a new token (another batch) kept until a merge
    assert final == 1  # and the read path sees the event once anyway


ARCHIVE_COLUMNS = ["event_id", "locality", "province", "occurred_at", "eid_activations", "partition", "offset"]


def _archived(chdb_client, final: bool = True) -> list[tuple]:
    return chdb_client.query(
        f"SELECT event_id, toString(occurred_at), eid_activations, offset FROM p06.archive {'FINAL' if final else ''}"
        " ORDER BY occurred_at, event_id"
    ).result_rows


def test_archive_keeps_the_lowest_offset_of_an_event_per_utc_day(chdb_client) -> None:
    """Issue 11: copies of (locality, event_id, UTC day) collapse to the one with the lowest offset, whatever
    order they were inserted in, before merges (FINAL) and after them; another UTC day is another event."""
    migrate(chdb_client)
    rows = [  # (event_id, occurred_at, count, offset), one insert each, later offsets first
        ("e1", "2026-09-01 10:00:00", 7, 12),
        ("e1", "2026-09-01 10:00:00", 5, 4),  # the first copy: counts
        ("e1", "2026-09-01 23:00:00", 9, 30),  # same UTC day, other content (instant): ignored
        ("e1", "2026-09-02 01:00:00", 3, 31),  # another UTC day: another event
        ("e2", "2026-09-01 10:00:00", 1, 0),  # offset 0 is the greatest precedence there is
        ("e2", "2026-09-01 10:00:00", 2, 1),
    ]
    for i, (event_id, at, count, offset) in enumerate(rows):
        chdb_client.insert(
            "p06.archive",
            [[event_id, "00070", "01", at, count, 0, offset]],
            column_names=ARCHIVE_COLUMNS,
            settings={"insert_deduplication_token": f"t:0:{i}"},
        )
    expected = [
        ("e1", "2026-09-01 10:00:00.000000", 5, 4),
        ("e2", "2026-09-01 10:00:00.000000", 1, 0),
        ("e1", "2026-09-02 01:00:00.000000", 3, 31),
    ]
    assert _archived(chdb_client) == expected
    chdb_client.command("OPTIMIZE TABLE p06.archive FINAL")
    assert _archived(chdb_client, final=False) == expected  # merges keep the same rows


def test_0004_copies_the_old_archive_and_drops_the_latest_state_table(chdb_client, monkeypatch) -> None:
    old = [m for m in available() if m.version < 4]
    monkeypatch.setattr("sinks.warehouse.migrations.available", lambda: old)
    migrate(chdb_client)
    chdb_client.insert(
        "p06.events_raw",
        [["e1", "00070", "01", "2026-09-01 10:00:00", 4, 2, 8], ["e2", "00070", "01", "2026-09-01 11:00:00", 6, 2, 9]],
        column_names=ARCHIVE_COLUMNS,
    )
    monkeypatch.undo()
    assert [m.version for m in migrate(chdb_client, until=4)] == [4]
    assert _archived(chdb_client) == [
        ("e1", "2026-09-01 10:00:00.000000", 4, 8),
        ("e2", "2026-09-01 11:00:00.000000", 6, 9),
    ]
    for statement in next(m for m in available() if m.version == 4).statements():
        chdb_client.command(statement)  # an interrupted run, applied again: nothing changes
    assert _archived(chdb_client) == [
        ("e1", "2026-09-01 10:00:00.000000", 4, 8),
        ("e2", "2026-09-01 11:00:00.000000", 6, 9),
    ]
    tables = {r[0] for r in chdb_client.query("SHOW TABLES FROM p06").result_rows}
    assert "entity_latest" not in tables and "entity_latest_mv" not in tables


def test_0005_builds_the_rollups_of_an_archive_the_batches_then_keep_up_to_date(chdb_client) -> None:
    """A warehouse from before issue 12 gets its per-event deltas and time-ordered rollups from its
    archive (0007 orders them by hour and indexes their identities); the next batches (a late event
    among them, and a counted event sent again at another hour) update them in step with the recount."""
    migrate(chdb_client, until=4)
    ward = registry().wards_by_province["01"][0]

    def village(n: int, at: str, electricity: bool) -> dict:
        return {
            "type": "village.status",
            "locality": ward,
            "event_id": f"v{n}",
            "occurred_at": at,
            "payload": {"village_id": "V1", "electricity": electricity, "internet": True},
        }

    before = [
        village(1, "2026-09-01T08:00:00+07:00", False),
        village(2, "2026-09-03T08:00:00+07:00", True),
        {
            "type": "eid.activations",
            "locality": ward,
            "event_id": "e1",
            "occurred_at": "2026-09-02T23:30:00+07:00",
            "payload": {"count": 5},
        },
    ]
    after = [
        village(3, "2026-09-02T08:00:00+07:00", False),
        village(4, "2026-09-04T08:00:00+07:00", False),
        {**before[2], "occurred_at": "2026-09-02T20:00:00+07:00", "payload": {"count": 500}},
        {  # a correction of e1, counted before 0010: it replaces e1's count in e1's hour (issue 24)
            **before[2],
            "event_id": "e1-fix",
            "occurred_at": "2026-09-05T08:00:00+07:00",
            "payload": {"count": 50},
            "supersedes": {"event_id": "e1", "occurred_at": "2026-09-02T16:30:00Z"},
        },
    ]  # e1 again (13:00 UTC): the first counts

    def columns(events: list[dict], first: int) -> Columns:
        out = Columns()
        for offset, raw in enumerate(events, first):
            out.add(validate_event(raw), "t", 0, offset, now())
        return out

    old = columns(before, 0)
    later = ("map", "sent_locality", "appended_at", "supersedes_id", "supersedes_at", "void", "sent_via")  # 0006-0010
    then = [i for i, c in enumerate(COLUMNS) if c not in later]
    chdb_client.insert(
        TABLE, [old.data[i] for i in then], column_names=[COLUMNS[i] for i in then], column_oriented=True
    )
    assert [m.version for m in migrate(chdb_client)] == [5, 6, 7, 8, 9, 10]
    reader = ClientReader(chdb_client)
    assert from_rollups(reader)["wards"][ward] == recount(before)["wards"][ward]
    for statement in [s for m in available() if m.version >= 5 for s in m.statements()]:
        chdb_client.command(statement)  # an interrupted run from 0005 on, applied again: the same figures
    assert from_rollups(reader)["wards"][ward] == recount(before)["wards"][ward]
    for i, event in enumerate(after):
        batch = columns([event], len(before) + i)
        chdb_client.insert(TABLE, batch.data, column_names=list(COLUMNS), column_oriented=True)
        checkpoint.apply(chdb_client, batch)
    assert from_rollups(reader)["wards"][ward] == recount(before + after)["wards"][ward]


def test_0006_keeps_the_code_as_sent_beside_the_counted_one(chdb_client) -> None:
    """Rows from before 0006 read as sent on the 2025 map; a 2024 event keeps its old code beside the new."""
    migrate(chdb_client, until=5)
    chdb_client.insert(
        "p06.archive", [["e0", "00070", "01", "2026-09-01 00:00:00", 1, 0, 0]], column_names=ARCHIVE_COLUMNS
    )
    assert [m.version for m in migrate(chdb_client)] == [6, 7, 8, 9, 10]
    old = validate_event(
        {
            "type": "eid.activations",
            "map": "2024",
            "locality": "00013",
            "event_id": "e1",
            "occurred_at": "2026-09-01T08:00:00+07:00",
            "payload": {"count": 2},
        }
    )
    batch = Columns()
    batch.add(old, "t", 0, 1, now())
    chdb_client.insert(TABLE, batch.data, column_names=list(COLUMNS), column_oriented=True)
    rows = chdb_client.query(
        "SELECT event_id, map, locality, sent_locality FROM p06.archive FINAL ORDER BY event_id"
    ).result_rows
    assert rows == [("e0", "2025", "00070", "00070"), ("e1", "2024", "00004", "00013")]
