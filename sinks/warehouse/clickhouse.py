"""The one place that opens a ClickHouse client: embedded chDB (chdb://FOLDER) or a server (http(s)://)."""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from schemas.settings import Settings
from sinks.warehouse.tables import DATABASE

__all__ = ["DATABASE", "chdb_folder", "is_embedded", "open_client"]  # DATABASE is named in tables.py


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
