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
    committed_ms: int | None = None  # the newest Kafka timestamp of the last batch committed
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)  # wall clock, as Kafka timestamps are

    def lag_seconds(self, now: float) -> float:
        """How old the last record committed is while later ones wait (0 when none wait, -1 unknown);
        behind since the start when nothing was committed yet."""
        if self.lag is None:
            return -1.0
        if self.lag == 0:
            return 0.0
        since = self.started_at if self.committed_ms is None else self.committed_ms / 1000
        return max(0.0, now - since)

    def count(self, batch: Batch) -> None:
        """A batch written and committed (or its commit attempted)."""
        self.messages += batch.messages
        self.events += len(batch.columns)
        self.rejected += batch.rejected
        self.away_from_home += batch.away_from_home
        self.batches += 1
        self.committed_ms = batch.newest_ms
        self.largest_batch = max(self.largest_batch, len(batch.columns))
