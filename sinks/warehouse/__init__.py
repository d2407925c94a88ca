"""The warehouse: ClickHouse tables, their migrations and grants, the sink's store, and every read.

Modules: tables (every table's name), clickhouse (the one client factory), migrations and sql/ (the DDL),
access and sql/access/ (`p06 warehouse grant`), archive (events -> archive rows), rollups (the counted
rows, heads and buckets a batch writes), store (the sink's connection), queries (the named reads),
reader (who answers them), figures (scopes' figures from rollups or from the archive).
"""

from sinks.warehouse.access import AccessError
from sinks.warehouse.archive import COLUMNS, FROM_MONTH, Columns
from sinks.warehouse.clickhouse import chdb_folder, is_embedded, open_client
from sinks.warehouse.figures import activity, daily_series, end_of_day, from_archive, from_rollups
from sinks.warehouse.migrations import MigrationError, migrate
from sinks.warehouse.queries import STATE_METRICS, QueryRefused, UnknownQuery, catalogue, resolve
from sinks.warehouse.reader import (
    ApiReader,
    ClientReader,
    DirectReader,
    Reader,
    Row,
    WarehouseUnavailable,
    open_reader,
)
from sinks.warehouse.store import Store
from sinks.warehouse.tables import (
    ARCHIVE,
    BATCH,
    BATCH_BUCKETS,
    COUNTED,
    DATABASE,
    EVENTS_RAW,
    FIGURE_TABLES,
    HEADS,
    IDENTITIES,
    LEDGER,
    ROLLUP_DAY,
    ROLLUP_HOUR,
    SINK_TABLES,
)

__all__ = [
    "ARCHIVE",
    "BATCH",
    "BATCH_BUCKETS",
    "COLUMNS",
    "COUNTED",
    "DATABASE",
    "EVENTS_RAW",
    "FIGURE_TABLES",
    "FROM_MONTH",
    "HEADS",
    "IDENTITIES",
    "LEDGER",
    "ROLLUP_DAY",
    "ROLLUP_HOUR",
    "SINK_TABLES",
    "STATE_METRICS",
    "AccessError",
    "ApiReader",
    "ClientReader",
    "Columns",
    "DirectReader",
    "MigrationError",
    "QueryRefused",
    "Reader",
    "Row",
    "Store",
    "UnknownQuery",
    "WarehouseUnavailable",
    "activity",
    "catalogue",
    "chdb_folder",
    "daily_series",
    "end_of_day",
    "from_archive",
    "from_rollups",
    "is_embedded",
    "migrate",
    "open_client",
    "open_reader",
    "resolve",
]
