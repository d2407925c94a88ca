"""The sink's local HTTP API: while the sink owns a chDB folder, reports query through it.

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
from starlette.responses import JSONResponse
from starlette.routing import Route

from .store import Store

log = logging.getLogger("p06.sink")


def build_app(store: Store, stats: Callable[[], dict[str, Any]]) -> Starlette:
    async def health(_: Request) -> JSONResponse:
        up = "up" if store.up else "down"
        return JSONResponse({"dsn": store.settings.clickhouse_dsn, "clickhouse": up, **stats()})

    async def query(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            rows = await asyncio.to_thread(store.query, body["sql"], body.get("params") or {})
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception as exc:  # ClickHouse down or the query failed: say so, keep serving
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=503)
        return JSONResponse({"rows": rows})

    return Starlette(routes=[Route("/health", health), Route("/query", query, methods=["POST"])])


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


def start(store: Store, port: int, stats: Callable[[], dict[str, Any]]) -> _Server | None:
    """Serve in the running event loop; None (with a warning) when the port is taken."""
    if not port_free(port):
        log.warning("port %s is taken: reports will not reach this sink's chDB until it stops", port)
        return None
    config = uvicorn.Config(build_app(store, stats), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = _Server(config)
    asyncio.get_running_loop().create_task(server.serve())
    return server
