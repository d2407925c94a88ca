"""The sink's counters, as /health and /metrics show them (sinks/web/api.py reads Sink.snapshot())."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sinks.ingest.batch import Batch


@dataclass
class Stats:
    messages: int = 0
    events: int = 0
    rejected: int = 0  # invalid messages or batch elements: the streams' DLQ reports them
    away_from_home: int = 0  # valid events skipped where they landed: the worker re-sends them home
    batches: int = 0
    write_s: float = 0.0  # time spent writing batches to ClickHouse (archive and rollups), retries included
    largest_batch: int = 0  # rows; P06_SINK_BATCH_ROWS bounds it (give or take one fetch of large messages)
    lag: int | None = None  # records on the broker not yet committed by this sink; None until known
    started: float = field(default_factory=time.monotonic)

    def count(self, batch: Batch) -> None:
        """A batch written and committed (or its commit attempted)."""
        self.messages += batch.messages
        self.events += len(batch.columns)
        self.rejected += batch.rejected
        self.away_from_home += batch.away_from_home
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch.columns))
