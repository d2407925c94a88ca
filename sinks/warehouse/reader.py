"""Read-only queries for reports, the same whether the sink owns chDB (through its API) or not.

Readers answer the named queries of sinks.warehouse.queries (`named`); only a reader on a client of this process
(ClientReader, DirectReader) also runs SQL text (`query`), for the sink's own audit and for tests.

Rows come back as JSON-ready dicts (datetimes as ISO text) on both paths, so callers cannot tell
which path answered.
"""

from __future__ import annotations

import re
import threading
from datetime import date, datetime
from typing import Any, Protocol

import httpx
from clickhouse_connect.driver.client import Client

from auth.accounts import client_credentials
from schemas.calendar import Calendar
from schemas.settings import Settings
from sinks.warehouse import days
from sinks.warehouse.clickhouse import chdb_folder, open_client
from sinks.warehouse.migrations import migrate
from sinks.warehouse.queries import resolve

Row = dict[str, Any]
_READ_ONLY = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)


class WarehouseUnavailable(RuntimeError):
    """Neither the sink's API nor the warehouse itself could be reached; the message says why."""


class Reader(Protocol):
    def named(self, name: str, params: dict[str, Any] | None = None) -> list[Row]: ...


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def run_select(
    client: Client, sql: str, params: dict[str, Any] | None, lock: threading.Lock | None = None
) -> list[Row]:
    if not _READ_ONLY.match(sql):
        raise ValueError("only SELECT queries are answered")
    if lock is None:
        result = client.query(sql, parameters=params or {})
    else:
        with lock:
            result = client.query(sql, parameters=params or {})
    names = result.column_names
    return [{n: jsonable(v) for n, v in zip(names, row)} for row in result.result_rows]


class ClientReader:
    """Reads through a client someone else opened (the sink's own, under its lock)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        return run_select(self.client, sql, params)

    def named(self, name: str, params: dict[str, Any] | None = None) -> list[Row]:
        return run_select(self.client, *resolve(name, params))


class DirectReader(ClientReader):
    """Opens the warehouse itself (chDB folder free, or a server)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(open_client(settings))
        if (
            chdb_folder(settings.clickhouse_dsn) is not None
        ):  # a server's tables are the sink's to make (p06_reports may not)
            migrate(self.client)  # a report on a fresh folder reads empty tables, not missing ones
            days.align(self.client, Calendar(settings.timezone))  # the folder is this process's alone

    def close(self) -> None:
        self.client.close()


class ApiReader:
    """Asks the running sink, which owns the chDB folder."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=120, auth=auth)

    def named(self, name: str, params: dict[str, Any] | None = None) -> list[Row]:
        response = self.http.post("/query", json={"name": name, "params": jsonable(params or {})})
        if response.status_code in (401, 403):
            raise WarehouseUnavailable(
                f"the sink's API refused the credentials ({response.status_code}: "
                f"{response.text[:300]}); set P06_OPERATOR_USER and P06_OPERATOR_PASSWORD_FILE"
                " to a national operator's account"
            )
        if response.status_code != 200:
            raise WarehouseUnavailable(f"the sink's API answered {response.status_code}: {response.text[:300]}")
        return response.json()["rows"]

    def close(self) -> None:
        self.http.close()


def sink_api_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.sink_api_port}"


def _sink_owns(settings: Settings) -> bool:
    try:
        health = httpx.get(f"{sink_api_url(settings)}/health", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    return health.get("dsn") == settings.clickhouse_dsn and health.get("clickhouse") == "up"


def open_reader(settings: Settings) -> DirectReader | ApiReader:
    """The sink's API when it owns this chDB folder, otherwise the warehouse directly."""
    if chdb_folder(settings.clickhouse_dsn) is not None and _sink_owns(settings):
        return ApiReader(sink_api_url(settings), client_credentials(settings))
    try:
        return DirectReader(settings)
    except Exception as exc:  # chDB locked by another process, or a server that does not answer
        raise WarehouseUnavailable(
            f"cannot open {settings.clickhouse_dsn} ({exc}); if a sink owns it, its API on "
            f"{sink_api_url(settings)} did not answer"
        ) from None
