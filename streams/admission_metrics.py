"""The admission stage's /metrics: what it moved and how far behind the ingestion topics it is, served
to monitor accounts by the same guard as the worker's (a small aiohttp server in its own thread)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from auth import Guard
from auth.accounts import Accounts
from schemas.settings import Settings

from .admission import Admission
from .view.web import add_metrics_route

log = logging.getLogger("p06.admission")


class AdmissionCollector(Collector):
    """The stage's totals and, per ingestion partition, the records waiting and their age."""

    def __init__(self, stage: Admission) -> None:
        self.stage = stage

    def collect(self) -> Iterator[Metric]:
        stage = self.stage
        yield CounterMetricFamily("p06_admission_admitted", "Events moved on to the events topic.", stage.admitted)
        yield CounterMetricFamily(
            "p06_admission_rejected",
            "Events or records sent to the dead-letter topic (another province's, invalid).",
            stage.rejected,
        )
        yield CounterMetricFamily(
            "p06_admission_client_restarts",
            "Kafka clients built again after a broker error or a stall (P06_ADMISSION_STALL_S).",
            stage.restarts,
        )
        labels = ["topic", "partition"]
        lag = GaugeMetricFamily("p06_admission_lag", "Ingestion records not yet moved, per partition.", labels=labels)
        seconds = GaugeMetricFamily(
            "p06_admission_lag_seconds",
            "Age of the last record moved while later ones wait, per partition (0 when none wait).",
            labels=labels,
        )
        now = time.time()
        for (topic, partition), waiting in sorted(stage.waiting.items()):
            read_at = stage.read.get((topic, partition), (0, now))[1]
            lag.add_metric([topic, str(partition)], waiting)
            seconds.add_metric([topic, str(partition)], max(0.0, now - read_at) if waiting else 0.0)
        yield lag
        yield seconds


def admission_registry(stage: Admission) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AdmissionCollector(stage))
    return registry


def serve_metrics(settings: Settings, registry: CollectorRegistry) -> threading.Thread:
    """/metrics on P06_ADMISSION_METRICS_HOST:PORT for monitor accounts, until the process exits;
    a port already taken is logged and the stage moves records without it."""
    app = web.Application()
    guard = Guard(Accounts(settings.accounts_folder), settings.session_hours)
    add_metrics_route(app.router, guard, lambda: generate_latest(registry).decode())
    host, port = settings.admission_metrics_host, settings.admission_metrics_port

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            log.warning("admission: no /metrics (%s:%d: %s); set P06_ADMISSION_METRICS_PORT", host, port, exc)
            return
        log.info("admission: /metrics on http://%s:%d/metrics (monitor accounts)", host, port)
        await asyncio.Event().wait()  # until the process exits

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="admission-metrics", daemon=True)
    thread.start()
    return thread
