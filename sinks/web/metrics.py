"""The sink's /metrics: one prometheus_client registry per sink process, read at each scrape from the
sink's progress (its stats and whether ClickHouse takes its writes) and the reconciliation's verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sinks.checks.audit import Audit
from sinks.warehouse.store import Store

COUNTERS = (  # (name, key in the sink's stats, help)
    ("p06_sink_events_total", "events", "valid events written to ClickHouse"),
    ("p06_sink_rejected_total", "rejected", "invalid messages or batch elements skipped"),
    (
        "p06_sink_away_from_home_total",
        "away_from_home",
        "valid events not archived where they landed (wrong key or partition): the worker re-sends them home",
    ),
    ("p06_sink_batches_total", "batches", "batches written to ClickHouse"),
    ("p06_sink_write_seconds_total", "write_s", "time spent writing batches (archive and rollups)"),
)


class SinkCollector(Collector):
    """The sink's progress, as stats() and the store say at the moment of the scrape."""

    def __init__(self, stats: Callable[[], dict[str, Any]], store: Store) -> None:
        self.stats = stats
        self.store = store

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        now = self.stats()
        for name, key, text in COUNTERS:
            yield CounterMetricFamily(name, text, value=now[key])
        lag = now["lag"]
        yield GaugeMetricFamily(
            "p06_sink_lag", "records on the broker not yet committed (-1: unknown)", value=-1 if lag is None else lag
        )
        yield GaugeMetricFamily(
            "p06_sink_lag_seconds",
            "age of the last record committed while later ones wait (0: none wait, -1: unknown)",
            value=now["lag_seconds"],
        )
        yield GaugeMetricFamily(
            "p06_sink_clickhouse_up", "1 while ClickHouse accepts the sink's writes", value=int(bool(self.store.up))
        )
        yield CounterMetricFamily(
            "p06_sink_clickhouse_write_errors",
            "writes ClickHouse did not take (the sink holds its position and retries each)",
            value=self.store.write_errors,
        )


def sink_registry(
    stats: Callable[[], dict[str, Any]], store: Store, audit: Audit, *more: Collector
) -> CollectorRegistry:
    """The sink's progress, the reconciliation's verdict, and more (its logins')."""
    registry = CollectorRegistry()
    registry.register(SinkCollector(stats, store))
    registry.register(audit)
    for collector in more:
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> str:
    """The registry in Prometheus' text format."""
    return generate_latest(registry).decode()
