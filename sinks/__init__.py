"""The warehouse side of p06: ClickHouse schema, the Kafka -> ClickHouse sink, reports, history, reconcile.

Public API (the CLI in sinks.cli is wired into p06.py):
"""

from sinks.checks.reconcile import Difference, reconcile
from sinks.ingest import Sink, run
from sinks.reports.report import national, province
from sinks.warehouse import WarehouseUnavailable, from_archive, from_rollups, migrate, open_client, open_reader

__all__ = [
    "Difference",
    "Sink",
    "WarehouseUnavailable",
    "from_archive",
    "from_rollups",
    "migrate",
    "national",
    "open_client",
    "open_reader",
    "province",
    "reconcile",
    "run",
]
