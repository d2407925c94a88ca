"""The sink's local HTTP API: /health and /metrics (its progress and its reconciliation verdict),
/query (the named queries of sinks.warehouse.queries, through which p06 commands read while the sink owns a
chDB folder) and /reports (the national and province reports, rendered).

Bound to 127.0.0.1 only. Every route but /login and a bare /health needs an account (auth.accounts):
/query and the national report a national operator, a province report that province's operator or a
national one, /metrics a monitor account. No SQL text is ever taken from a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from auth.accounts import COOKIE, LOGIN_HELP, Account, Accounts, login_page, safe_next
from schemas.i18n import LANGUAGES, lang_in, pick
from schemas.maps import CURRENT, MAPS, OLD, old_map
from sinks.checks.audit import Audit
from sinks.warehouse.queries import QueryRefused, UnknownQuery, catalogue, resolve
from sinks.warehouse.reader import Row
from sinks.warehouse.store import Store

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


def render_report(
    store: Store, account: Account, kind: str, code: str | None, query: dict[str, str]
) -> tuple[int, str, str]:
    """(status, content type, body) of a report for this account; refusals are JSON naming the rule."""
    from sinks.render import html, review_html
    from sinks.render import review_text as review_render
    from sinks.render import text as render
    from sinks.reports import oldmap, report, review

    def refuse(status: int, message: str) -> tuple[int, str, str]:
        import json

        return status, FORMATS["json"], json.dumps({"error": message, "scope": account.scope})

    if kind == "national" and account.role != "national":
        return refuse(403, f"account {account.name!r} ({account.scope}) may not see the national report")
    map_ = query.get("map") or CURRENT
    if map_ not in MAPS:
        return refuse(400, f"map is one of {', '.join(MAPS)}, got {map_!r}")
    if kind == "province" and not _may_see_province(account, str(code), map_):
        return refuse(403, f"account {account.name!r} ({account.scope}) may not see province {code} of the {map_} map")
    fmt = query.get("format", "json")
    if fmt not in FORMATS:
        return refuse(400, f"format is one of {', '.join(FORMATS)}, got {fmt!r}")
    lang = query.get("lang") or store.settings.lang
    if lang not in LANGUAGES:
        return refuse(400, f"lang is one of {', '.join(LANGUAGES)}, got {lang!r}")
    try:
        days = {k: date.fromisoformat(query[k]) if query.get(k) else None for k in ("as_of", "from", "to")}
    except ValueError as exc:
        return refuse(400, f"as_of, from and to are dates YYYY-MM-DD ({exc})")
    if days["as_of"] and (days["from"] or days["to"]):
        return refuse(400, "as_of gives figures at one date, from/to a review between two: use one or the other")
    if days["to"] and not days["from"]:
        return refuse(400, "to needs from (the review's first day)")
    reader, settings = StoreReader(store), store.settings
    try:
        if days["from"]:
            end = days["to"] or date.today()
            whole, one = (
                (oldmap.review_national, oldmap.review_province) if map_ == OLD else (review.national, review.province)
            )
            built = (
                whole(reader, settings, days["from"], end)
                if kind == "national"
                else one(reader, settings, str(code), days["from"], end)
            )
            renderers = {
                "json": review_render.as_json,
                "csv": review_render.as_csv,
                "md": review_render.as_md,
                "html": review_html.page,
            }
        else:
            module = oldmap if map_ == OLD else report
            built = (
                module.national(reader, settings, days["as_of"])
                if kind == "national"
                else module.province(reader, settings, str(code), days["as_of"])
            )
            snapshot = (
                ("national" if kind == "national" else f"province-{code}")
                if map_ == CURRENT
                else ("national-2024" if kind == "national" else f"province-2024-{code}")
            )  # as `p06 report --map` names them
            report.mark_changes(built, report.snapshot_path(settings, snapshot))
            renderers = {"json": render.as_json, "csv": render.as_csv, "md": render.as_md, "html": html.page}
    except ValueError as exc:
        return refuse(404 if kind == "province" else 400, str(exc))
    if fmt in ("md", "html"):  # the reading language; json and csv are the same in every language
        return 200, FORMATS[fmt], renderers[fmt](built, lang)
    return 200, FORMATS[fmt], renderers[fmt](built)


def build_app(
    store: Store, stats: Callable[[], dict[str, Any]], audit: Audit, accounts: Accounts | None = None
) -> Starlette:
    accounts = accounts or Accounts(store.settings.accounts_folder)
    max_age_s = store.settings.session_hours * 3600

    async def who(request: Request) -> Account | None:
        """In a thread: a password not yet verified costs argon2's ~0.3 s, which must not stall the sink's loop."""
        return await asyncio.to_thread(
            accounts.identify, request.headers.get("authorization"), request.cookies.get(COOKIE), max_age_s
        )

    def login_required() -> JSONResponse:
        return JSONResponse({"error": f"login required: {LOGIN_HELP}"}, status_code=401)

    def operators(
        handler: Callable[[Request, Account], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            account = await who(request)
            if account is None:
                return login_required()
            if account.role not in ("national", "province"):
                return JSONResponse(
                    {
                        "error": f"account {account.name!r} ({account.scope}) reads /metrics only",
                        "scope": account.scope,
                    },
                    status_code=403,
                )
            return await handler(request, account)

        return guarded

    async def health(request: Request) -> JSONResponse:
        up = "up" if store.up else "down"
        account = await who(request)
        verdict = audit.health()
        if account is None or account.role == "province":  # progress and the verdict, no figures
            verdict = {"verdict": verdict["verdict"], "differences": verdict["differences"]}
        return JSONResponse(
            {"dsn": redacted(store.settings.clickhouse_dsn), "clickhouse": up, **stats(), "reconcile": verdict}
        )

    async def metrics(request: Request) -> PlainTextResponse:
        account = await who(request)
        if account is None or account.role != "monitor":
            return PlainTextResponse(
                "metrics need a monitor account's HTTP Basic credentials (`p06 users add NAME --role monitor`)\n",
                status_code=401 if account is None else 403,
                headers={"WWW-Authenticate": 'Basic realm="p06 metrics"'},
            )
        now = stats()
        lines = [
            "# HELP p06_sink_events_total valid events written to ClickHouse",
            "# TYPE p06_sink_events_total counter",
            f"p06_sink_events_total {now['events']}",
            "# HELP p06_sink_rejected_total invalid messages or batch elements skipped",
            "# TYPE p06_sink_rejected_total counter",
            f"p06_sink_rejected_total {now['rejected']}",
            "# HELP p06_sink_away_from_home_total valid events not archived where they landed (wrong key or partition): the worker re-sends them home",
            "# TYPE p06_sink_away_from_home_total counter",
            f"p06_sink_away_from_home_total {now['away_from_home']}",
            "# HELP p06_sink_batches_total batches written to ClickHouse",
            "# TYPE p06_sink_batches_total counter",
            f"p06_sink_batches_total {now['batches']}",
            "# HELP p06_sink_write_seconds_total time spent writing batches (archive and rollups)",
            "# TYPE p06_sink_write_seconds_total counter",
            f"p06_sink_write_seconds_total {now['write_s']:.3f}",
            "# HELP p06_sink_lag records on the broker not yet committed (-1: unknown)",
            "# TYPE p06_sink_lag gauge",
            f"p06_sink_lag {-1 if now['lag'] is None else now['lag']}",
            "# HELP p06_sink_clickhouse_up 1 while ClickHouse accepts the sink's writes",
            "# TYPE p06_sink_clickhouse_up gauge",
            f"p06_sink_clickhouse_up {int(bool(store.up))}",
            *audit.prometheus(),
        ]
        return PlainTextResponse("\n".join(lines) + "\n")

    async def query(request: Request, account: Account) -> JSONResponse:
        """A named query: {"name": ..., "params": {...}}; national operators only (it reads every province)."""
        if account.role != "national":
            return JSONResponse(
                {
                    "error": f"account {account.name!r} ({account.scope}) may not run named queries;"
                    f" GET /reports/province/{account.province} gives its province",
                    "scope": account.scope,
                },
                status_code=403,
            )
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
        try:
            resolve(body["name"], body.get("params"))  # refuse before taking the sink's lock
            rows = await asyncio.to_thread(StoreReader(store).named, body["name"], body.get("params"))
        except UnknownQuery as exc:
            return JSONResponse({"error": str(exc), "queries": catalogue()}, status_code=404)
        except (QueryRefused, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception as exc:  # ClickHouse down or the query failed: say so, keep serving
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=503)
        return JSONResponse({"rows": rows})

    async def reports(request: Request, account: Account) -> Response:
        kind, code = ("province", request.path_params["code"]) if "code" in request.path_params else ("national", None)
        try:
            status, media, body = await asyncio.to_thread(
                render_report, store, account, kind, code, dict(request.query_params)
            )
        except Exception as exc:  # ClickHouse down: say so, keep serving
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=503)
        return Response(body, status_code=status, media_type=media)

    async def login_form(request: Request) -> HTMLResponse:
        target = safe_next(request.query_params.get("next"), "/reports/national?format=html")
        return HTMLResponse(
            login_page(target, pick(request.query_params.get("lang"), lang_in(target), store.settings.lang))
        )

    async def login(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        target = safe_next(form.get("next"), "/reports/national?format=html")
        account = await asyncio.to_thread(accounts.check_password, form.get("name", ""), form.get("password", ""))
        if account is None:
            lang = pick(form.get("lang"), lang_in(target), store.settings.lang)
            return HTMLResponse(login_page(target, lang, wrong=True), status_code=401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, accounts.session_for(account), max_age=int(max_age_s), httponly=True, samesite="strict", path="/"
        )
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/metrics", metrics),
            Route("/query", operators(query), methods=["POST"]),
            Route("/reports/national", operators(reports)),
            Route("/reports/province/{code}", operators(reports)),
            Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["GET", "POST"]),
        ]
    )


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
    config = uvicorn.Config(
        build_app(store, stats, audit), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = _Server(config)
    asyncio.get_running_loop().create_task(server.serve())
    return server
