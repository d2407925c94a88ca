"""The worker's own figures for /metrics: what it read, applied, refused and how far behind it is.

`Stats` is what the worker counts; `WorkerCollector` reads it (and the consumer, for lag and
assignment) at each scrape, and `metrics_registry` gives the process's one registry, which
prometheus_client renders (`render`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

QUANTILES = (0.5, 0.99)


@dataclass
class Stats:
    """Counters for /metrics; process-local, reset on restart like any Prometheus counter."""

    messages: int = 0
    events: int = 0
    events_changed: int = 0
    dlq: int = 0
    conflicts: int = 0
    rerouted: int = 0
    stale: int = 0
    batches: int = 0
    rebalances: int = 0  # partition assignments this worker received (its first included)
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    positions: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> last offset read
    read_at: dict[tuple[str, int], float] = field(default_factory=dict)  # (topic, partition) -> its Kafka timestamp
    started: float = field(default_factory=time.time)

    def keep_only(self, owned: set[tuple[str, int]]) -> None:
        """After a rebalance: forget partitions this worker no longer owns, so one regained after another
        worker moved it on does not look behind."""
        self.positions = {k: v for k, v in self.positions.items() if k in owned}
        self.read_at = {k: v for k, v in self.read_at.items() if k in owned}


@dataclass
class Consumer:
    """What the collector asks the worker's Kafka consumer, without knowing Faust."""

    position_gaps: Callable[[], int]  # seeks back over skipped records (streams.positions)
    assigned_partitions: Callable[[], int]  # of the events topic
    highwater: Callable[[str, int], int | None]  # raises when the partition is no longer ours


COUNTERS = (  # attribute of Stats, name, HELP
    ("messages", "p06_messages_total", "Kafka messages read from the events topic."),
    ("events", "p06_events_processed_total", "Valid events folded into locality state (resends included)."),
    (
        "events_changed",
        "p06_events_changed_total",
        "Events seen for the first time (not a resend, not a conflicting copy).",
    ),
    ("dlq", "p06_dlq_total", "Invalid messages or batch elements sent to the dead-letter topic."),
    (
        "conflicts",
        "p06_conflicting_copies_total",
        "Copies of a counted event with other content, sent to the dead-letter topic (the first copy counts).",
    ),
    ("rerouted", "p06_rerouted_total", "Events keyed under another locality, sent back under their own key."),
    ("stale", "p06_stale_messages_total", "Messages fetched before a rebalance, left to be fetched again."),
    ("rebalances", "p06_rebalances_total", "Partition assignments this worker received, its first included."),
)


class WorkerCollector(Collector):
    """Reads the worker's Stats and consumer at each scrape."""

    def __init__(self, stats: Stats, consumer: Consumer) -> None:
        self.stats, self.consumer = stats, consumer

    def describe(self) -> list[Metric]:
        return []  # no collect() at registration: the consumer may not exist yet

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        for attribute, name, help_text in COUNTERS:
            yield CounterMetricFamily(name, help_text, value=getattr(s, attribute))
        yield CounterMetricFamily(
            "p06_position_gaps_total",
            "Times records past the position kept with the state arrived, or did not, "
            "and the worker read from its position again.",
            value=self.consumer.position_gaps(),
        )
        yield GaugeMetricFamily(
            "p06_assigned_partitions",
            "Partitions of the events topic this worker owns now.",
            value=self.consumer.assigned_partitions(),
        )
        yield from self._lag()
        yield self._latency()
        yield GaugeMetricFamily("p06_up_since_seconds", "Seconds since the worker started.", value=self._uptime())

    def _lag(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "p06_consumer_lag", "Messages not yet processed, per partition.", labels=["topic", "partition"]
        )
        seconds = GaugeMetricFamily(
            "p06_consumer_lag_seconds",
            "Age of the last message processed while later ones wait, per partition (0 when none wait).",
            labels=["topic", "partition"],
        )
        now = time.time()
        for (topic, partition), offset in sorted(self.stats.positions.items()):
            try:
                highwater = self.consumer.highwater(topic, partition)
            except Exception:  # partition revoked since: no lag to report
                continue
            if highwater is not None:
                waiting = max(0, highwater - offset - 1)
                lag.add_metric([topic, str(partition)], waiting)
                read_at = self.stats.read_at.get((topic, partition), now)
                seconds.add_metric([topic, str(partition)], max(0.0, now - read_at) if waiting else 0.0)
        yield lag
        yield seconds

    def _latency(self) -> Metric:
        name = "p06_processing_latency_seconds"
        summary = SummaryMetricFamily(name, "Kafka timestamp to processed, over the last 10,000 messages.", labels=[])
        if self.stats.latencies_s:
            ordered = sorted(self.stats.latencies_s)
            for q in QUANTILES:
                summary.add_sample(name, {"quantile": str(q)}, ordered[int(q * (len(ordered) - 1))])
            summary.add_sample(f"{name}_sum", {}, sum(ordered))
            summary.add_sample(f"{name}_count", {}, len(ordered))
        return summary

    def _uptime(self) -> float:
        return float(round(time.time() - self.stats.started))


def metrics_registry(stats: Stats, consumer: Consumer, *more: Collector) -> CollectorRegistry:
    """The process's one registry: the worker's figures, read at each scrape, and more (its logins')."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(stats, consumer))
    for collector in more:
        registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> str:
    """The Prometheus text exposition of the registry."""
    return generate_latest(registry).decode()
