"""The dashboard's period panel, passed through to the sink's API (/periods), which owns periods.

Why a pass-through: the rules, the one writer and the audit are the sink's; the worker holds no period
state and no credentials. It forwards the operator's own credentials (the Authorization header or the
session cookie, signed with the key worker and sink share), so the sink's guard judges the very person
who pressed, and the page stays on one origin (no CORS).
"""

from __future__ import annotations

import aiohttp
import orjson
from aiohttp import web

from auth import LIVE_FIGURES, Account, Guard

from .auth_aiohttp import guarded
from .auth_aiohttp import json_response as _json

FORWARDED = ("Authorization", "Cookie", "X-CSRF-Token")
MONTHS = "2"  # this month and the last: the panel shows the most recent one that has ended


class PeriodsPassage:
    def __init__(self, sink_url: str) -> None:
        self.sink_url = sink_url

    async def _forward(self, request: web.Request, method: str, path: str, body: bytes | None) -> web.Response:
        headers = {h: request.headers[h] for h in FORWARDED if h in request.headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
                async with http.request(method, self.sink_url + path, data=body, headers=headers) as answer:
                    return web.Response(body=await answer.read(), status=answer.status, content_type="application/json")
        except (aiohttp.ClientError, TimeoutError) as exc:
            why = f"the sink's API ({self.sink_url}) did not answer ({type(exc).__name__}): is `p06 sink` running?"
            return _json({"error": why}, 503)

    async def listing(self, request: web.Request, account: Account) -> web.Response:
        return await self._forward(request, "GET", f"/periods?months={MONTHS}", None)

    async def act(self, request: web.Request, account: Account) -> web.Response:
        period, province = request.match_info["period"], request.match_info["province"]
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _json({"error": 'send JSON {"action": ..., "expected": ...}'}, 400)
        return await self._forward(request, "POST", f"/periods/{period}/{province}", orjson.dumps(body))

    def add_routes(self, router: web.UrlDispatcher, guard: Guard) -> None:
        router.add_get("/api/periods", guarded(guard, LIVE_FIGURES, self.listing))
        router.add_post("/api/periods/{period}/{province}", guarded(guard, LIVE_FIGURES, self.act))
