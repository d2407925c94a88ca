"""Schema migrations on a real chDB folder: applied once, recorded, refused when edited, engines as documented."""
from __future__ import annotations

import pytest

from schemas.metrics import METRICS
from sinks.migrations import Migration, MigrationError, applied, available, migrate


def test_migrations_apply_once_and_are_recorded(chdb_client) -> None:
    first = migrate(chdb_client)
    assert [m.version for m in first] == [m.version for m in available()] and first
    assert migrate(chdb_client) == []  # idempotent: a second start changes nothing
    assert applied(chdb_client) == {m.version: m.checksum for m in available()}
    tables = {r[0] for r in chdb_client.query("SHOW TABLES FROM p06").result_rows}
    assert {"events_raw", "entity_latest", "rollup_hour", "rollup_day", "schema_migrations"} <= tables


def test_every_metric_has_a_column_in_archive_and_rollups(chdb_client) -> None:
    migrate(chdb_client)
    for table in ("events_raw", "rollup_hour", "rollup_day"):
        columns = {r[0] for r in chdb_client.query(f"DESCRIBE TABLE p06.{table}").result_rows}
        assert set(METRICS) <= columns, table


def test_an_edited_migration_is_refused(chdb_client, monkeypatch) -> None:
    migrate(chdb_client)
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in available()]
    monkeypatch.setattr("sinks.migrations.available", lambda: edited)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(chdb_client)


def test_retried_insert_with_the_same_token_is_dropped(chdb_client) -> None:
    migrate(chdb_client)
    row = {"event_id": "e1", "locality": "00070", "province": "01", "occurred_at": "2026-09-01 00:00:00"}
    for token in ("t:0:0-9", "t:0:0-9", "t:0:10-19"):
        chdb_client.insert("p06.events_raw", [list(row.values())], column_names=list(row),
                           settings={"insert_deduplication_token": token})
    raw = chdb_client.query("SELECT count() FROM p06.events_raw").result_rows[0][0]
    final = chdb_client.query("SELECT count() FROM p06.events_raw FINAL").result_rows[0][0]
    assert raw == 2  # the same token once, a new token (another batch) kept until a merge
    assert final == 1  # and the read path sees the event once anyway
