"""The warehouse side of p06: ClickHouse schema, the Kafka -> ClickHouse sink, reports, history, reconcile.

Public API (the CLI in sinks.cli is wired into p06.py):
"""

from .clickhouse import open_client
from .figures import from_archive, from_rollups
from .migrations import migrate
from .reconcile import Difference, reconcile
from .report import national, province
from .sink import Sink, run
from .warehouse import WarehouseUnavailable, open_reader

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
