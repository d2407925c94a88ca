"""Baselines: clickhouse-connect inserts into chDB.

- insert_archive (raw_clickhouse_insert_rps): the sink's own rows into a table identical to the sink's
  archive (the migrations: same columns and engine), in the sink's batch size;
- insert (raw_clickhouse_bare_rps): six envelope columns into a bare table without views, 10k a batch;
- idle_rss_mb (chdb_idle_rss_mb): the peak RSS of a process with the sink's imports and the registry,
  chDB open on a fresh folder, the schema applied and one query run: what any sink on embedded chDB
  carries before its first event (its file-backed part is the chDB library's pages).
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson

from schemas.events import InvalidEvent, validate_event
from schemas.registry import registry
from sinks.warehouse.archive import COLUMNS as ARCHIVE_COLUMNS
from sinks.warehouse.archive import TABLE as ARCHIVE
from sinks.warehouse.archive import Columns, now
from sinks.warehouse.migrations import migrate

BATCH = 10_000
COLUMNS = ["event_id", "type", "locality", "province", "occurred_at", "payload"]
DDL = """
CREATE TABLE IF NOT EXISTS bench_events (
    event_id String, type LowCardinality(String), locality LowCardinality(String),
    province LowCardinality(String), occurred_at DateTime64(6, 'UTC'), payload String
) ENGINE = ReplacingMergeTree ORDER BY (province, locality, event_id)
"""


def rows(events: list[dict[str, Any]]) -> list[list[Any]]:
    # The shape an archive row has: envelope columns plus the payload as JSON text.
    reg = registry()
    out = []
    for e in events:
        loc = reg.localities.get(e["locality"])
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00"))
        out.append(
            [
                e["event_id"],
                e["type"],
                e["locality"],
                loc.province if loc else "",
                at,
                orjson.dumps(e["payload"]).decode(),
            ]
        )
    return out


def insert(folder: Path, events: list[dict[str, Any]]) -> float:
    """Rows per second for clickhouse-connect inserting into a fresh chDB folder in batches of 10k."""
    data = rows(events)  # built before the clock starts: the baseline is the insert path only
    client = clickhouse_connect.get_client(dsn=f"chdb://{folder}")
    try:
        client.command("DROP TABLE IF EXISTS bench_events")
        client.command(DDL)
        client.insert("bench_events", data[:BATCH], column_names=COLUMNS)  # warm-up: chDB's first insert pays its start
        client.command("TRUNCATE TABLE bench_events")
        start = time.perf_counter()
        for i in range(0, len(data), BATCH):
            client.insert("bench_events", data[i : i + BATCH], column_names=COLUMNS)
        elapsed = time.perf_counter() - start
        stored = int(client.command("SELECT count() FROM bench_events FINAL"))
        distinct = len({r[0] for r in data})  # resends collapse on event_id, as in the archive
        if stored != distinct:
            raise RuntimeError(f"chDB holds {stored} rows, {distinct} distinct events inserted")
        return len(data) / elapsed
    finally:
        client.close()


def insert_archive(folder: Path, events: list[dict[str, Any]], batch_rows: int) -> float:
    """Rows per second into the sink's archive table (fresh chDB folder, migrations applied)."""
    batches: list[Columns] = []  # built before the clock starts, as the sink builds them while it reads
    received = now()
    for offset, raw in enumerate(events):
        try:
            event = validate_event(raw)
        except InvalidEvent:
            continue
        if not batches or len(batches[-1]) >= batch_rows:
            batches.append(Columns())
        batches[-1].add(event, "bench", 0, offset, received)
    client = clickhouse_connect.get_client(dsn=f"chdb://{folder}")
    try:
        migrate(client)
        client.command(f"TRUNCATE TABLE {ARCHIVE}")
        start = time.perf_counter()
        for batch in batches:
            client.insert(ARCHIVE, batch.data, column_names=list(ARCHIVE_COLUMNS), column_oriented=True)
        elapsed = time.perf_counter() - start
        rows = sum(len(b) for b in batches)
        # resends collapse on the event's identity: locality, event_id and UTC day
        distinct = len({(row[2], row[0], row[7].date()) for b in batches for row in b.rows})
        stored = int(client.command(f"SELECT count() FROM {ARCHIVE} FINAL"))
        if stored != distinct:
            raise RuntimeError(f"chDB holds {stored} rows, {distinct} distinct events inserted")
        return rows / elapsed
    finally:
        client.close()


_IDLE = """
import re, clickhouse_connect, sinks.ingest.sink
from schemas.registry import registry
from sinks.warehouse.migrations import migrate
registry()
client = clickhouse_connect.get_client(dsn="chdb://{folder}")
migrate(client)
client.query("SELECT count() FROM p06.archive FINAL")
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""


def idle_rss_mb(folder: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _IDLE.format(folder=folder)], capture_output=True, text=True, timeout=300, check=True
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024
