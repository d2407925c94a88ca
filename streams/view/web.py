"""The live API and the operators' dashboard, served by every worker on its Faust web server.

The handlers read only the snapshot mirror (streams.view.mirror), never the worker's state: every
worker mirrors every locality's snapshot, so any worker answers for the whole country, whichever
worker counted the events.

Every route but /login needs an account, checked by auth's guard (through streams.view.auth_aiohttp):
a province operator's answers hold their province and its wards only; /metrics answers monitor accounts only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from auth import COOKIE, DASHBOARD, LIVE_FIGURES, METRICS, Account, Guard, LoginDesk, out_of_scope
from schemas.i18n import DEFAULT, for_browser
from schemas.metrics import METRICS as METRIC_NAMES
from schemas.registry import registry
from schemas.settings import settings

from .auth_aiohttp import add_login_routes, asking, guarded
from .auth_aiohttp import json_response as _json
from .live import live_body, province_body, silent_body, windows_body
from .mirror import SnapshotMirror
from .periods import PeriodsPassage

DASHBOARD_FILES = Path(__file__).parent / "dashboard"
SSE_INTERVAL_S = 1.0
AlertsOf = Callable[[Callable[[str], bool]], list[dict[str, Any]]]  # who may see a province -> the alerts shown


def forbidden(account: Account, what: str) -> web.Response:
    return _json(out_of_scope(account, f"may not see {what}"), 403)


def scoped_live(body: dict[str, Any], account: Account) -> dict[str, Any]:
    """/api/live as the account may see it: a province operator gets their province only (no nation, urban, rural)."""
    if account.role == "national":
        return body
    code = account.province
    return {
        "as_of": body["as_of"],
        "scope": account.scope,
        "provinces": {code: body["provinces"][code]},
        "freshness": {"provinces": {code: body["freshness"]["provinces"][code]}},
    }


def scoped_silent(body: dict[str, Any], account: Account) -> dict[str, Any]:
    if account.role == "national":
        return body
    mine = [s for s in body["localities"] if s["province"] == account.province]
    return {**body, "count": len(mine), "localities": mine}


class LiveApi:
    """The handlers of /api/*: each gets the account the guard admitted."""

    def __init__(
        self,
        view: SnapshotMirror,
        guard: Guard,
        stopping: Callable[[], bool],
        silent_after_hours: float,
        alerts: AlertsOf | None = None,
    ):
        self.view, self.alerts = view, alerts
        self.guard = guard
        self.stopping = stopping
        self.silent_after_hours = silent_after_hours

    async def live(self, request: web.Request, account: Account) -> web.Response:
        return _json(scoped_live(live_body(self.view.snapshots, self.view.totals), account))

    async def province(self, request: web.Request, account: Account) -> web.Response:
        code = request.match_info["code"]
        if code not in registry().wards_by_province:
            return _json({"error": f"{code!r} is not a province code; see /api/registry"}, 404)
        if not account.sees(code):
            return forbidden(account, f"province {code}")
        return _json(province_body(self.view.snapshots, code))

    async def silent(self, request: web.Request, account: Account) -> web.Response:
        try:
            hours = float(request.query.get("hours", self.silent_after_hours))
        except ValueError:
            return _json({"error": "hours is a number of hours, e.g. ?hours=24"}, 400)
        return _json(scoped_silent(silent_body(self.view.snapshots, hours * 3600), account))

    async def windows(self, request: web.Request, account: Account) -> web.Response:
        scope = request.query.get("scope", "nation" if account.role == "national" else str(account.province))
        granularity = request.query.get("granularity", "day")
        if granularity not in ("hour", "day") or (scope != "nation" and scope not in registry()):
            return _json({"error": "scope is 'nation' or a locality code; granularity is 'hour' or 'day'"}, 400)
        if not (account.role == "national" or (scope != "nation" and account.sees(scope))):
            return forbidden(account, "the nation" if scope == "nation" else f"locality {scope}")
        return _json(windows_body(self.view.snapshots, scope, granularity))

    async def names(self, request: web.Request, account: Account) -> web.Response:
        reg = registry()
        provinces = {
            code: {"name": reg.localities[code].name, "wards": len(reg.wards_by_province[code])}
            for code in reg.provinces
            if account.sees(code)
        }
        return _json({"metrics": METRIC_NAMES, "provinces": provinces})

    async def me(self, request: web.Request, account: Account) -> web.Response:
        """Who is logged in, and the CSRF token of the forms of this session (None with HTTP Basic: no form)."""
        session = request.cookies.get(COOKIE)
        csrf = self.guard.csrf.token(session) if session else None
        return _json(
            {
                "name": account.name,
                "role": account.role,
                "province": account.province,
                "scope": account.scope,
                "csrf": csrf,
            }
        )

    async def stream(self, request: web.Request, account: Account) -> web.StreamResponse:
        """Server-Sent Events: the /api/live body (as the account may see it) each time a figure or coverage changes."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        last: bytes | None = None
        last_alerts: bytes | None = None
        try:
            while not self.stopping():  # an open dashboard must not hold up the worker's shutdown
                if not isinstance(await self.guard.who(asking(request)), Account):  # revoked or expired: the end
                    break
                body = scoped_live(live_body(self.view.snapshots, self.view.totals), account)
                figures = orjson.dumps({k: v for k, v in body.items() if k != "as_of"})
                if figures != last:
                    await response.write(b"event: live\ndata: " + orjson.dumps(body) + b"\n\n")
                    last = figures
                else:
                    await response.write(b": keep-alive\n\n")
                if self.alerts is not None:  # the alerts this account may see, when they change
                    alerts = orjson.dumps({"alerts": self.alerts(account.sees)})
                    if alerts != last_alerts:
                        await response.write(b"event: alerts\ndata: " + alerts + b"\n\n")
                        last_alerts = alerts
                await asyncio.sleep(SSE_INTERVAL_S)
        except ConnectionResetError:  # the browser went away: nothing to do
            pass
        return response

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for path, handler in (
            ("/api/live", self.live),
            ("/api/live/provinces/{code}", self.province),
            ("/api/live/silent", self.silent),
            ("/api/live/windows", self.windows),
            ("/api/live/stream", self.stream),
            ("/api/registry", self.names),
            ("/api/me", self.me),
        ):
            router.add_get(path, guarded(self.guard, LIVE_FIGURES, handler))


def add_dashboard_routes(router: web.UrlDispatcher, guard: Guard, lang: str) -> None:
    """The page (operators only; a browser without a login goes to /login), its texts and static files."""

    async def page(request: web.Request, account: Account) -> web.StreamResponse:
        # no-store: after a logout, Back or a new visit must ask the server (and be sent to /login)
        return web.FileResponse(DASHBOARD_FILES / "index.html", headers={"Cache-Control": "no-store"})

    async def messages(request: web.Request) -> web.Response:
        """The dashboard's texts in ?lang= (default: lang, P06_LANG) and its number and date formats; public, as the
        page's static files are: the catalogue holds no figures."""
        try:
            return _json(for_browser(request.query.get("lang", lang)))
        except ValueError as exc:
            return _json({"error": f"lang: {exc}"}, 400)

    router.add_get("/dashboard/", guarded(guard, DASHBOARD, page))
    router.add_get("/dashboard/messages.json", messages)
    router.add_static("/dashboard/static/", DASHBOARD_FILES)


def add_metrics_route(router: web.UrlDispatcher, guard: Guard, metrics_text: Callable[[], str]) -> None:
    async def metrics(request: web.Request, account: Account) -> web.Response:
        return web.Response(text=metrics_text(), content_type="text/plain")

    router.add_get("/metrics", guarded(guard, METRICS, metrics))


def install_routes(
    router_app: web.Application,
    view: SnapshotMirror,
    *,
    metrics_text: Callable[[], str],
    stopping: Callable[[], bool],
    silent_after_hours: float,
    lang: str = DEFAULT,
    guard: Guard,
    sink_url: str | None = None,
    more: Callable[[web.UrlDispatcher], None] | None = None,
    alerts: AlertsOf | None = None,
) -> None:
    """metrics_text: the process's Prometheus text; stopping: true once the process is shutting down;
    guard: who may read (its login counters are in metrics_text); sink_url: the sink's API, where the period
    panel's requests go (default: 127.0.0.1:P06_SINK_API_PORT); more: other routes (the alerts API); alerts: the
    alerts an account may see, pushed over the stream for the dashboard's panel."""
    router = router_app.router
    if more is not None:
        more(router)
    LiveApi(view, guard, stopping, silent_after_hours, alerts).add_routes(router)
    add_metrics_route(router, guard, metrics_text)
    add_login_routes(router, LoginDesk(guard, "/dashboard/", lang))
    add_dashboard_routes(router, guard, lang)
    PeriodsPassage(sink_url or f"http://127.0.0.1:{settings().sink_api_port}").add_routes(router, guard)
