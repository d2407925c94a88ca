"""The sink's local HTTP API: /health and /metrics (its progress and its reconciliation verdict),
/query (the named queries of sinks.warehouse.queries, through which p06 commands read while the sink owns a
chDB folder), /reports (the national and province reports, rendered) and /periods (reporting periods and
their approval: sinks/web/periods.py).

Bound to 127.0.0.1 only. Every route but /login and a bare /health needs an account (auth's guard):
/query and the national report a national operator, a province report that province's operator or a
national one, /metrics a monitor account. No SQL text is ever taken from a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from auth import METRICS, WAREHOUSE, Account, Accounts, Guard, LoginDesk, out_of_scope
from schemas.calendar import calendar
from schemas.i18n import LANGUAGES
from schemas.maps import CURRENT, MAPS, old_map
from sinks.checks.audit import Audit
from sinks.warehouse.queries import QueryRefused, UnknownQuery, catalogue, resolve
from sinks.warehouse.reader import Row
from sinks.warehouse.store import Store

from .auth_starlette import asking, guarded, login_routes
from .metrics import exposition, sink_registry

if TYPE_CHECKING:
    from sinks.periods import PeriodDesk
    from sinks.reports.dispatch import Request as ReportRequest

log = logging.getLogger("p06.sink")
FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def redacted(dsn: str) -> str:
    """A DSN without its password (http://user:secret@host -> http://user:***@host)."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", dsn)


class StoreReader:
    """A reader of the named queries on the sink's own client, one query at a time between writes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def named(self, name: str, params: dict[str, Any] | None = None) -> list[Row]:
        return self.store.read_between_writes(lambda reader: reader.named(name, params))


def _may_see_province(account: Account, code: str, map_: str) -> bool:
    """A national account sees every province; a province's operator their own, and on the 2024 map the old
    provinces that passed whole into it."""
    if account.role == "national":
        return True
    if account.role != "province":
        return False
    if map_ == CURRENT:
        return account.province == code
    unit = old_map().get(code)
    return unit is not None and unit.level == "province" and unit.became == (account.province,)


def _report_request(
    account: Account, kind: str, code: str | None, query: dict[str, str], default_lang: str
) -> tuple[int, str] | ReportRequest:
    """The report asked by this query, or (status, why not) when the account may not see it or a value is wrong."""
    if kind == "national" and account.role != "national":
        return 403, f"account {account.name!r} ({account.scope}) may not see the national report"
    map_ = query.get("map") or CURRENT
    if map_ not in MAPS:
        return 400, f"map is one of {', '.join(MAPS)}, got {map_!r}"
    if kind == "province" and not _may_see_province(account, str(code), map_):
        return 403, f"account {account.name!r} ({account.scope}) may not see province {code} of the {map_} map"
    fmt = query.get("format", "json")
    if fmt not in FORMATS:
        return 400, f"format is one of {', '.join(FORMATS)}, got {fmt!r}"
    lang = query.get("lang") or default_lang
    if lang not in LANGUAGES:
        return 400, f"lang is one of {', '.join(LANGUAGES)}, got {lang!r}"
    try:
        days = {k: date.fromisoformat(query[k]) if query.get(k) else None for k in ("as_of", "from", "to")}
    except ValueError as exc:
        return 400, f"as_of, from and to are dates YYYY-MM-DD ({exc})"
    if days["as_of"] and (days["from"] or days["to"]):
        return 400, "as_of gives figures at one date, from/to a review between two: use one or the other"
    if days["to"] and not days["from"]:
        return 400, "to needs from (the review's first day)"
    from sinks.reports.dispatch import Request as ReportRequest  # the report stack loads on the first report

    start = days["from"]
    period = None if start is None else (start, days["to"] or calendar().today())  # the country's today
    scope: Literal["national", "province"] = "national" if kind == "national" else "province"
    return ReportRequest(scope, code and str(code), days["as_of"], period, map_, fmt, lang)


def render_report(
    store: Store, account: Account, kind: str, code: str | None, query: dict[str, str]
) -> tuple[int, str, str]:
    """(status, content type, body) of a report for this account; refusals are JSON naming the rule."""
    import json

    from sinks.reports import dispatch

    asked = _report_request(account, kind, code, query, store.settings.lang)
    if isinstance(asked, tuple):
        status, why = asked
        return status, FORMATS["json"], json.dumps({"error": why, "scope": account.scope})
    try:
        produced = dispatch.produce(StoreReader(store), store.settings, asked)
    except ValueError as exc:  # a code or a period the warehouse does not know
        status = 404 if kind == "province" else 400
        return status, FORMATS["json"], json.dumps({"error": str(exc), "scope": account.scope})
    return 200, FORMATS[asked.fmt], produced.text


class SinkApi:
    """The handlers of /health, /metrics, /query and /reports; the guard admits the account first."""

    def __init__(self, store: Store, stats: Callable[[], dict[str, Any]], audit: Audit, guard: Guard) -> None:
        self.store = store
        self.stats = stats
        self.audit = audit
        self.guard = guard
        # one per sink process (build_app runs once), with the guard's login counters
        self.metrics_registry = sink_registry(stats, store, audit, guard.record)

    async def health(self, request: Request) -> JSONResponse:
        up = "up" if self.store.up else "down"
        account = await self.guard.who(asking(request))
        verdict = self.audit.health()
        if not isinstance(account, Account) or account.role == "province":  # progress and the verdict, no figures
            verdict = {"verdict": verdict["verdict"], "differences": verdict["differences"]}
        dsn = redacted(self.store.settings.clickhouse_dsn)
        return JSONResponse({"dsn": dsn, "clickhouse": up, **self.stats(), "reconcile": verdict})

    async def metrics(self, request: Request, account: Account) -> PlainTextResponse:
        return PlainTextResponse(exposition(self.metrics_registry))

    async def query(self, request: Request, account: Account) -> JSONResponse:
        """A named query: {"name": ..., "params": {...}}; national operators only (it reads every province)."""
        if account.role != "national":
            words = f"may not run named queries; GET /reports/province/{account.province} gives its province"
            return JSONResponse(out_of_scope(account, words), status_code=403)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "sql" in body or "name" not in body:
            return JSONResponse(
                {
                    "error": "send a named query as JSON {\"name\": ..., \"params\": {...}}; SQL text is never run",
                    "queries": catalogue(),
                },
                status_code=400,
            )
        return await self._named(body["name"], body.get("params"))

    async def _named(self, name: Any, params: Any) -> JSONResponse:
        try:
            resolve(name, params)  # refuse before taking the sink's lock
            rows = await asyncio.to_thread(StoreReader(self.store).named, name, params)
        except UnknownQuery as exc:
            return JSONResponse({"error": str(exc), "queries": catalogue()}, status_code=404)
        except (QueryRefused, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception as exc:  # ClickHouse down or the query failed: say so, keep serving
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=503)
        return JSONResponse({"rows": rows})

    async def reports(self, request: Request, account: Account) -> Response:
        store = self.store
        kind, code = ("province", request.path_params["code"]) if "code" in request.path_params else ("national", None)
        try:
            status, media, body = await asyncio.to_thread(
                render_report, store, account, kind, code, dict(request.query_params)
            )
        except Exception as exc:  # ClickHouse down: say so, keep serving
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=503)
        return Response(body, status_code=status, media_type=media)

    def routes(self) -> list[Route]:
        return [
            Route("/health", self.health),
            Route("/metrics", guarded(self.guard, METRICS, self.metrics)),
            Route("/query", guarded(self.guard, WAREHOUSE, self.query), methods=["POST"]),
            Route("/reports/national", guarded(self.guard, WAREHOUSE, self.reports)),
            Route("/reports/province/{code}", guarded(self.guard, WAREHOUSE, self.reports)),
        ]


def build_app(
    store: Store,
    stats: Callable[[], dict[str, Any]],
    audit: Audit,
    accounts: Accounts | None = None,
    periods: PeriodDesk | None = None,
) -> Starlette:
    """periods: where operators' period actions go (None: /periods answers, but actions need the running sink)."""
    from .periods import PeriodsApi

    settings = store.settings
    guard = Guard.for_service(settings, "sink", accounts)
    desk = LoginDesk(guard, "/reports/national?format=html", settings.lang)
    routes = [*SinkApi(store, stats, audit, guard).routes(), *PeriodsApi(store, periods, guard).routes()]
    return Starlette(routes=[*routes, *login_routes(desk)])


class _Server(uvicorn.Server):
    def capture_signals(self):  # the sink owns SIGTERM/SIGINT, not uvicorn
        return contextlib.nullcontext()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start(
    store: Store,
    port: int,
    stats: Callable[[], dict[str, Any]],
    audit: Audit,
    periods: PeriodDesk | None = None,
    host: str = "127.0.0.1",
) -> _Server | None:
    """Serve in the running event loop; None (with a warning) when the port is taken."""
    if not port_free(port, host):
        log.warning("port %s is taken: no health, metrics or reports through this sink until it stops", port)
        return None
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any local client as the client's
    # address; the guard reads it from P06_TRUSTED_PROXIES only (auth.address)
    config = uvicorn.Config(
        build_app(store, stats, audit, periods=periods),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        proxy_headers=False,
    )
    server = _Server(config)
    asyncio.get_running_loop().create_task(server.serve())
    return server
