"""The live API and the operators' dashboard, served by every worker on its Faust web server.

The handlers read only the snapshot mirror (streams.view.mirror), never the worker's state: every
worker mirrors every locality's snapshot, so any worker answers for the whole country, whichever
worker counted the events.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from schemas.metrics import METRICS
from schemas.registry import registry

from .live import live_body, province_body, silent_body, windows_body
from .mirror import SnapshotMirror

DASHBOARD = Path(__file__).parent / "dashboard"
SSE_INTERVAL_S = 1.0


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def install_routes(
    router_app: web.Application,
    view: SnapshotMirror,
    *,
    metrics_text: Callable[[], str],
    stopping: Callable[[], bool],
    silent_after_hours: float,
) -> None:
    """metrics_text: the process's Prometheus text; stopping: true once the process is shutting down."""

    async def live(request: web.Request) -> web.Response:
        return _json(live_body(view.snapshots, view.totals))

    async def province(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        if code not in registry().wards_by_province:
            return _json({"error": f"{code!r} is not a province code; see /api/registry"}, 404)
        return _json(province_body(view.snapshots, code))

    async def silent(request: web.Request) -> web.Response:
        hours = float(request.query.get("hours", silent_after_hours))
        return _json(silent_body(view.snapshots, hours * 3600))

    async def windows(request: web.Request) -> web.Response:
        scope = request.query.get("scope", "nation")
        granularity = request.query.get("granularity", "day")
        if granularity not in ("hour", "day") or (scope != "nation" and scope not in registry()):
            return _json({"error": "scope is 'nation' or a locality code; granularity is 'hour' or 'day'"}, 400)
        return _json(windows_body(view.snapshots, scope, granularity))

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
            while not stopping():  # an open dashboard must not hold up the worker's shutdown
                body = live_body(view.snapshots, view.totals)
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
        return web.Response(text=metrics_text(), content_type="text/plain")

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
