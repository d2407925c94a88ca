"""The read side of the live view, apart from the worker that writes it (as Kafka Streams keeps
interactive queries apart from the topology): every locality's snapshot mirrored from the snapshot
topic, their running totals, the live API's bodies, its routes and the operators' dashboard.

It depends on the snapshots alone, never on the worker's state or its Processor.
"""

from .live import LiveTotals, live_body, province_body, silent_body, windows_body
from .mirror import SnapshotMirror
from .web import install_routes

__all__ = [
    "LiveTotals",
    "SnapshotMirror",
    "install_routes",
    "live_body",
    "province_body",
    "silent_body",
    "windows_body",
]
