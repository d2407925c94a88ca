"""The live API and the operators' dashboard, served by every worker on its Faust web server.

Every worker mirrors every locality's snapshot (streams.snapshots), so any worker answers for the
whole country, whichever worker counted the events.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import faust
import orjson
from aiohttp import web
from faust.types import TP

from schemas.metrics import METRICS
from schemas.registry import registry
from schemas.settings import Settings

from .live import live_body, province_body, silent_body, windows_body
from .worker import Processor

DASHBOARD = Path(__file__).parent / "dashboard"
SSE_INTERVAL_S = 1.0


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def install_routes(router_app: web.Application, app: faust.App, processor: Processor, settings: Settings) -> None:
    async def live(request: web.Request) -> web.Response:
        return _json(live_body(processor.snapshots(), processor.mirror.totals))

    async def province(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        if code not in registry().wards_by_province:
            return _json({"error": f"{code!r} is not a province code; see /api/registry"}, 404)
        return _json(province_body(processor.snapshots(), code))

    async def silent(request: web.Request) -> web.Response:
        hours = float(request.query.get("hours", settings.silent_after_hours))
        return _json(silent_body(processor.snapshots(), hours * 3600))

    async def windows(request: web.Request) -> web.Response:
        scope = request.query.get("scope", "nation")
        granularity = request.query.get("granularity", "day")
        if granularity not in ("hour", "day") or (scope != "nation" and scope not in registry()):
            return _json({"error": "scope is 'nation' or a locality code; granularity is 'hour' or 'day'"}, 400)
        return _json(windows_body(processor.snapshots(), scope, granularity))

    async def names(request: web.Request) -> web.Response:
        reg = registry()
        return _json(
            {
                "metrics": METRICS,
                "provinces": {
                    code: {"name": reg.localities[code].name, "wards": len(reg.wards_by_province[code])}
                    for code in reg.provinces
                },
            }
        )

    async def stream(request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: the /api/live body each time a figure or the coverage changes."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        last: bytes | None = None
        try:
            while not app.should_stop:  # an open dashboard must not hold up the worker's shutdown
                body = live_body(processor.snapshots(), processor.mirror.totals)
                figures = orjson.dumps({k: v for k, v in body.items() if k != "as_of"})
                if figures != last:
                    await response.write(b"event: live\ndata: " + orjson.dumps(body) + b"\n\n")
                    last = figures
                else:
                    await response.write(b": keep-alive\n\n")
                await asyncio.sleep(SSE_INTERVAL_S)
        except ConnectionResetError:  # the browser went away: nothing to do
            pass
        return response

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=prometheus_text(app, processor), content_type="text/plain")

    async def dashboard(request: web.Request) -> web.FileResponse:
        return web.FileResponse(DASHBOARD / "index.html")

    router_app.router.add_get("/api/live", live)
    router_app.router.add_get("/api/live/provinces/{code}", province)
    router_app.router.add_get("/api/live/silent", silent)
    router_app.router.add_get("/api/live/windows", windows)
    router_app.router.add_get("/api/live/stream", stream)
    router_app.router.add_get("/api/registry", names)
    router_app.router.add_get("/metrics", metrics)
    router_app.router.add_get("/dashboard/", dashboard)
    router_app.router.add_static("/dashboard/static/", DASHBOARD)


def prometheus_text(app: faust.App, processor: Processor) -> str:
    s = processor.stats
    lines = [
        "# HELP p06_messages_total Kafka messages read from the events topic.",
        "# TYPE p06_messages_total counter",
        f"p06_messages_total {s.messages}",
        "# HELP p06_events_processed_total Valid events folded into locality state (resends included).",
        "# TYPE p06_events_processed_total counter",
        f"p06_events_processed_total {s.events}",
        "# HELP p06_events_changed_total Events that changed a figure (first sight of a flow, a newer state).",
        "# TYPE p06_events_changed_total counter",
        f"p06_events_changed_total {s.events_changed}",
        "# HELP p06_dlq_total Invalid messages or batch elements sent to the dead-letter topic.",
        "# TYPE p06_dlq_total counter",
        f"p06_dlq_total {s.dlq}",
        "# HELP p06_rerouted_total Events keyed under another locality, sent back under their own key.",
        "# TYPE p06_rerouted_total counter",
        f"p06_rerouted_total {s.rerouted}",
        "# HELP p06_stale_messages_total Messages fetched before a rebalance, left to be fetched again.",
        "# TYPE p06_stale_messages_total counter",
        f"p06_stale_messages_total {s.stale}",
        "# HELP p06_position_gaps_total Times records past the position kept with the state arrived, or did not, and the worker read from its position again.",
        "# TYPE p06_position_gaps_total counter",
        f"p06_position_gaps_total {processor.positions.gaps}",
        "# HELP p06_assigned_partitions Partitions of the events topic this worker owns now.",
        "# TYPE p06_assigned_partitions gauge",
        f"p06_assigned_partitions {sum(tp.topic == processor.events_topic.get_topic_name() for tp in app.consumer.assignment())}",
        "# HELP p06_consumer_lag Messages not yet processed, per partition.",
        "# TYPE p06_consumer_lag gauge",
    ]
    for (topic, partition), offset in sorted(s.positions.items()):
        try:
            highwater = app.consumer.highwater(TP(topic, partition))
        except Exception:  # partition revoked since: no lag to report
            continue
        if highwater is not None:
            lines.append(f'p06_consumer_lag{{topic="{topic}",partition="{partition}"}} {max(0, highwater - offset - 1)}')
    lines += [
        "# HELP p06_processing_latency_seconds Kafka timestamp to processed, over the last 10,000 messages.",
        "# TYPE p06_processing_latency_seconds summary",
    ]
    if s.latencies_s:
        ordered = sorted(s.latencies_s)
        for q in (0.5, 0.99):
            lines.append(f'p06_processing_latency_seconds{{quantile="{q}"}} {ordered[int(q * (len(ordered) - 1))]:.4f}')
        lines.append(f"p06_processing_latency_seconds_sum {sum(ordered):.4f}")
        lines.append(f"p06_processing_latency_seconds_count {len(ordered)}")
    lines.append(f"p06_up_since_seconds {time.time() - processor.started:.0f}")
    return "\n".join(lines) + "\n"
