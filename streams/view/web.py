"""The live API and the operators' dashboard, served by every worker on its Faust web server.

The handlers read only the snapshot mirror (streams.view.mirror), never the worker's state: every
worker mirrors every locality's snapshot, so any worker answers for the whole country, whichever
worker counted the events.

Every route but /login needs an account (auth.accounts): a province operator's answers hold
their province and its wards only; /metrics answers monitor accounts only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web

from auth.accounts import COOKIE, LOGIN_HELP, Account, Accounts, login_page, safe_next
from schemas.i18n import DEFAULT, LANGUAGES, for_browser, lang_in, pick
from schemas.metrics import METRICS
from schemas.registry import registry

from .live import live_body, province_body, silent_body, windows_body
from .mirror import SnapshotMirror

DASHBOARD = Path(__file__).parent / "dashboard"
SSE_INTERVAL_S = 1.0


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


Handler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]


def out_of_scope(account: Account, what: str) -> web.Response:
    return _json(
        {"error": f"account {account.name!r} ({account.scope}) may not see {what}", "scope": account.scope}, 403
    )


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


def install_routes(
    router_app: web.Application,
    view: SnapshotMirror,
    *,
    metrics_text: Callable[[], str],
    stopping: Callable[[], bool],
    silent_after_hours: float,
    lang: str = DEFAULT,
    accounts: Accounts,
    session_hours: float,
) -> None:
    """metrics_text: the process's Prometheus text; stopping: true once the process is shutting down;
    accounts: who may read; session_hours: how long a login lasts."""
    max_age_s = session_hours * 3600

    async def who(request: web.Request) -> Account | None:
        """In a thread: a password not yet verified costs argon2's ~0.3 s, which must not stall the worker's loop."""
        return await asyncio.to_thread(
            accounts.identify, request.headers.get("Authorization"), request.cookies.get(COOKIE), max_age_s
        )

    def operators(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """National and province operators only; 401 saying how to log in, 403 for a monitor account."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            account = await who(request)
            if account is None:
                return _json({"error": f"login required: {LOGIN_HELP}"}, 401)
            if account.role not in ("national", "province"):
                return out_of_scope(account, "figures (a monitor account reads /metrics only)")
            return await handler(request, account)

        return guarded

    async def live(request: web.Request, account: Account) -> web.Response:
        return _json(scoped_live(live_body(view.snapshots, view.totals), account))

    async def province(request: web.Request, account: Account) -> web.Response:
        code = request.match_info["code"]
        if code not in registry().wards_by_province:
            return _json({"error": f"{code!r} is not a province code; see /api/registry"}, 404)
        if not account.sees(code):
            return out_of_scope(account, f"province {code}")
        return _json(province_body(view.snapshots, code))

    async def silent(request: web.Request, account: Account) -> web.Response:
        try:
            hours = float(request.query.get("hours", silent_after_hours))
        except ValueError:
            return _json({"error": "hours is a number of hours, e.g. ?hours=24"}, 400)
        return _json(scoped_silent(silent_body(view.snapshots, hours * 3600), account))

    async def windows(request: web.Request, account: Account) -> web.Response:
        scope = request.query.get("scope", "nation" if account.role == "national" else str(account.province))
        granularity = request.query.get("granularity", "day")
        if granularity not in ("hour", "day") or (scope != "nation" and scope not in registry()):
            return _json({"error": "scope is 'nation' or a locality code; granularity is 'hour' or 'day'"}, 400)
        if not (account.role == "national" or (scope != "nation" and account.sees(scope))):
            return out_of_scope(account, "the nation" if scope == "nation" else f"locality {scope}")
        return _json(windows_body(view.snapshots, scope, granularity))

    async def names(request: web.Request, account: Account) -> web.Response:
        reg = registry()
        return _json(
            {
                "metrics": METRICS,
                "provinces": {
                    code: {"name": reg.localities[code].name, "wards": len(reg.wards_by_province[code])}
                    for code in reg.provinces
                    if account.sees(code)
                },
            }
        )

    async def me(request: web.Request, account: Account) -> web.Response:
        return _json({"name": account.name, "role": account.role, "province": account.province, "scope": account.scope})

    async def stream(request: web.Request, account: Account) -> web.StreamResponse:
        """Server-Sent Events: the /api/live body (as the account may see it) each time a figure or the coverage changes."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        last: bytes | None = None
        try:
            while not stopping():  # an open dashboard must not hold up the worker's shutdown
                if await who(request) is None:  # revoked or expired while connected: the stream ends
                    break
                body = scoped_live(live_body(view.snapshots, view.totals), account)
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

    async def messages(request: web.Request) -> web.Response:
        """The dashboard's texts in ?lang= (default: lang, P06_LANG) and its number and date formats; public, as the
        page's static files are: the catalogue holds no figures."""
        try:
            return _json(for_browser(request.query.get("lang", lang)))
        except ValueError as exc:
            return _json({"error": f"lang: {exc}"}, 400)

    async def metrics(request: web.Request) -> web.Response:
        account = await who(request)
        if account is None or account.role != "monitor":
            status = 401 if account is None else 403
            return web.Response(
                status=status,
                text="metrics need a monitor account's HTTP Basic credentials (`p06 users add NAME --role monitor`)\n",
                headers={"WWW-Authenticate": 'Basic realm="p06 metrics"'},
            )
        return web.Response(text=metrics_text(), content_type="text/plain")

    async def dashboard(request: web.Request) -> web.StreamResponse:
        account = await who(request)
        if account is None or account.role not in ("national", "province"):
            raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))  # ?lang= goes along
        return web.FileResponse(DASHBOARD / "index.html")

    def page_lang(asked: object, target: str) -> str:
        """The login page's language: asked for (?lang=, the form's), else the page it returns to's, else lang."""
        return pick(str(asked) if asked else None, lang_in(target), lang)

    async def login_form(request: web.Request) -> web.Response:
        target = safe_next(request.query.get("next"), "/dashboard/")
        return web.Response(
            text=login_page(target, page_lang(request.query.get("lang"), target)), content_type="text/html"
        )

    async def login(request: web.Request) -> web.Response:
        form = await request.post()
        target = safe_next(str(form.get("next", "")), "/dashboard/")
        account = await asyncio.to_thread(
            accounts.check_password, str(form.get("name", "")), str(form.get("password", ""))
        )
        if account is None:
            return web.Response(
                status=401,
                text=login_page(target, page_lang(form.get("lang"), target), wrong=True),
                content_type="text/html",
            )
        response = web.Response(status=303, headers={"Location": target})
        response.set_cookie(
            COOKIE, accounts.session_for(account), max_age=int(max_age_s), httponly=True, samesite="Strict", path="/"
        )
        return response

    async def logout(request: web.Request) -> web.Response:
        asked = request.query.get("lang")  # the login page in the language the dashboard was in
        response = web.Response(
            status=303, headers={"Location": "/login" + (f"?lang={asked}" if asked in LANGUAGES else "")}
        )
        response.del_cookie(COOKIE, path="/")
        return response

    router_app.router.add_get("/api/live", operators(live))
    router_app.router.add_get("/api/live/provinces/{code}", operators(province))
    router_app.router.add_get("/api/live/silent", operators(silent))
    router_app.router.add_get("/api/live/windows", operators(windows))
    router_app.router.add_get("/api/live/stream", operators(stream))
    router_app.router.add_get("/api/registry", operators(names))
    router_app.router.add_get("/api/me", operators(me))
    router_app.router.add_get("/metrics", metrics)
    router_app.router.add_get("/login", login_form)
    router_app.router.add_post("/login", login)
    router_app.router.add_post("/logout", logout)
    router_app.router.add_get("/logout", logout)
    router_app.router.add_get("/dashboard/", dashboard)
    router_app.router.add_get("/dashboard/messages.json", messages)
    router_app.router.add_static("/dashboard/static/", DASHBOARD)
