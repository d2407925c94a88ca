"""The sink's local HTTP API: /health and /metrics (its progress and its reconciliation verdict),
and /query, through which reports read while the sink owns a chDB folder.

Bound to 127.0.0.1 only, and only SELECT is answered (the warehouse stays single-writer).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from .audit import Audit
from .store import Store

log = logging.getLogger("p06.sink")


def build_app(store: Store, stats: Callable[[], dict[str, Any]], audit: Audit) -> Starlette:
    async def health(_: Request) -> JSONResponse:
        up = "up" if store.up else "down"
        return JSONResponse({"dsn": store.settings.clickhouse_dsn, "clickhouse": up, **stats(), "reconcile": audit.health()})

    async def metrics(_: Request) -> PlainTextResponse:
        now = stats()
        lines = [
            "# HELP p06_sink_events_total valid events written to ClickHouse", "# TYPE p06_sink_events_total counter",
            f"p06_sink_events_total {now['events']}",
            "# HELP p06_sink_rejected_total invalid messages or batch elements skipped",
            "# TYPE p06_sink_rejected_total counter", f"p06_sink_rejected_total {now['rejected']}",
            "# HELP p06_sink_away_from_home_total valid events not archived where they landed (wrong key or partition): the worker re-sends them home",
            "# TYPE p06_sink_away_from_home_total counter", f"p06_sink_away_from_home_total {now['away_from_home']}",
            "# HELP p06_sink_batches_total batches written to ClickHouse", "# TYPE p06_sink_batches_total counter",
            f"p06_sink_batches_total {now['batches']}",
            "# HELP p06_sink_write_seconds_total time spent writing batches (archive and rollups)",
            "# TYPE p06_sink_write_seconds_total counter", f"p06_sink_write_seconds_total {now['write_s']:.3f}",
            "# HELP p06_sink_lag records on the broker not yet committed (-1: unknown)", "# TYPE p06_sink_lag gauge",
            f"p06_sink_lag {-1 if now['lag'] is None else now['lag']}",
            "# HELP p06_sink_clickhouse_up 1 while ClickHouse accepts the sink's writes", "# TYPE p06_sink_clickhouse_up gauge",
            f"p06_sink_clickhouse_up {int(bool(store.up))}",
            *audit.prometheus(),
        ]
        return PlainTextResponse("\n".join(lines) + "\n")

    async def query(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            rows = await asyncio.to_thread(store.query, body["sql"], body.get("params") or {})
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception as exc:  # ClickHouse down or the query failed: say so, keep serving
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=503)
        return JSONResponse({"rows": rows})

    return Starlette(routes=[Route("/health", health), Route("/metrics", metrics), Route("/query", query, methods=["POST"])])


class _Server(uvicorn.Server):
    def capture_signals(self):  # the sink owns SIGTERM/SIGINT, not uvicorn
        return contextlib.nullcontext()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(store: Store, port: int, stats: Callable[[], dict[str, Any]], audit: Audit) -> _Server | None:
    """Serve in the running event loop; None (with a warning) when the port is taken."""
    if not port_free(port):
        log.warning("port %s is taken: no health, metrics or reports through this sink until it stops", port)
        return None
    config = uvicorn.Config(build_app(store, stats, audit), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = _Server(config)
    asyncio.get_running_loop().create_task(server.serve())
    return server
