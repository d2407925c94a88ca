"""The durable side of the sink: one ClickHouse client, reconnected after any failure, and its state (up or
down, outages) as /health shows it.

What a write does, and why it is safe to repeat, is the sink's protocol (sinks/ingest/checkpoint.py); the
store runs it under its lock on a connected client. A new connection is migrated, its day rollups put in
the country's days (days.align), and first repairs what a write cut short may have left (rollups.repair).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client

from schemas.calendar import Calendar
from schemas.settings import Settings
from sinks.warehouse import days, rollups
from sinks.warehouse.clickhouse import open_client
from sinks.warehouse.migrations import migrate
from sinks.warehouse.reader import ClientReader, Row

T = TypeVar("T")

log = logging.getLogger("p06.sink")


class Store:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: Client | None = None
        self.lock = threading.Lock()  # chDB and clickhouse-connect clients are not shared across threads
        self.up: bool | None = None  # None until the first attempt: the first state is always logged
        self.outages = 0
        self.write_errors = 0  # writes ClickHouse did not take (each retried): /metrics
        self.last_error = ""

    def _connected(self) -> Client:
        if self.client is None:
            client = open_client(self.settings)
            migrate(client)
            if days.align(client, Calendar(self.settings.timezone)):  # P06_TIMEZONE changed, or the code before 0008
                log.info("day rollups rebuilt in the days of %s", self.settings.timezone)
            rollups.repair(client)  # a write cut short (a failure or a crash) may have left heads behind
            self.client = client
        return self.client

    def connect(self) -> None:
        with self.lock:
            self._guard(self._connected)

    def write(self, action: Callable[[Client], None]) -> None:
        """Run a write on the connected client, between reads; raises when ClickHouse did not accept it."""
        with self.lock:
            try:
                self._guard(lambda: action(self._connected()))
            except Exception:
                self.write_errors += 1
                raise

    def query(self, sql: str, params: dict[str, Any] | None) -> list[Row]:
        return self.read_between_writes(lambda reader: reader.query(sql, params))

    def read_between_writes(self, read: Callable[[ClientReader], T]) -> T:
        """Several queries with no write between them: a check that compares two tables needs that."""
        with self.lock:
            return self._guard(lambda: read(ClientReader(self._connected())))

    def _guard(self, action):
        try:
            result = action()
        except ValueError:
            raise  # a refused query, not an outage
        except Exception as exc:
            self._went_down(exc)
            raise
        self._came_up()
        return result

    def _went_down(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
        if self.client is not None:
            try:
                self.client.close()
            except Exception:  # already broken; we only want its resources back
                pass
            self.client = None
        if self.up is not False:
            self.outages += 1
            log.warning("ClickHouse unreachable (%s); holding position and retrying", self.last_error)
        self.up = False

    def _came_up(self) -> None:
        if self.up is not True:
            log.info("ClickHouse %s at %s", "back" if self.up is False else "ready", self.settings.clickhouse_dsn)
        self.up = True

    def close(self) -> None:
        with self.lock:
            if self.client is not None:
                self.client.close()
                self.client = None
