"""The one place that opens a ClickHouse client: embedded chDB (chdb://FOLDER) or a server (http(s)://)."""
from __future__ import annotations

from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from schemas.settings import Settings

DATABASE = "p06"
# FINAL merges rows within a partition only, so a WHERE on occurred_at prunes whole months before the
# merge: a count of today's archive read 0.03 s instead of 0.64 s on the benchmark's year. Exact
# because every partitioned table keeps an event's copies in one partition (the archive's key holds
# toDate(occurred_at), its partition toYYYYMM(occurred_at)); the other tables have one partition.
SETTINGS = {"do_not_merge_across_partitions_select_final": 1}


def is_embedded(dsn: str) -> bool:
    return dsn.startswith("chdb://")


def chdb_folder(dsn: str) -> Path | None:
    return Path(dsn.removeprefix("chdb://")) if is_embedded(dsn) else None


def open_client(settings: Settings) -> Client:
    """A client on settings.clickhouse_dsn; both kinds go through clickhouse-connect's DSN parsing.

    chDB is single-process: a second process opening the same folder fails, which callers treat
    like an unreachable server (retry, or go through the owner's API).
    """
    dsn = settings.clickhouse_dsn
    folder = chdb_folder(dsn)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(dsn=f"chdb://{folder}", settings=SETTINGS)
    return clickhouse_connect.get_client(dsn=dsn, connect_timeout=5, send_receive_timeout=60, settings=SETTINGS)
