"""The one place that opens a ClickHouse client: embedded chDB (chdb://FOLDER) or a server (http(s)://)."""
from __future__ import annotations

import os
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from schemas.settings import Settings

DATABASE = "p06"
# chDB's jemalloc keeps freed pages for 5 s before it returns them: about 90 MB of the sink's RSS on a
# year's archive (measured 2026-11-28). Return them at once; read when libchdb loads (on the first
# chdb client, not at import), and an operator's own setting stays.
os.environ.setdefault("JE_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")


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
        return clickhouse_connect.get_client(dsn=f"chdb://{folder}")
    return clickhouse_connect.get_client(dsn=dsn, connect_timeout=5, send_receive_timeout=60)
