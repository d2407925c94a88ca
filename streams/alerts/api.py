"""The alerts API of every worker: the board as the account may see it, and an operator's ack or silence,
handed to the alert's province owner through the feed topic (only the owner writes an alert)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web

from auth import COOKIE, LIVE_FIGURES, Account, Guard
from streams.view.auth_aiohttp import guarded
from streams.view.auth_aiohttp import json_response as _json

from .board import AlertBoard
from .feed import command_record

Send = Callable[[str, bytes], Awaitable[object]]  # (province, feed record)
MAX_SILENCE_HOURS = 24 * 30


class AlertsApi:
    def __init__(self, board: AlertBoard, guard: Guard, send: Send) -> None:
        self.board, self.guard, self.send = board, guard, send

    async def listing(self, request: web.Request, account: Account) -> web.Response:
        return _json({"alerts": self.board.seen_by(account.sees)})

    async def act(self, request: web.Request, account: Account) -> web.Response:
        alert = self.board.alerts.get(request.match_info["id"])
        if alert is None or not account.sees(alert["scope"]):
            return _json({"error": f"no alert {request.match_info['id']!r}; `p06 alerts list` shows their ids"}, 404)
        session = request.cookies.get(COOKIE)
        if "Authorization" not in request.headers and not self.guard.csrf.valid(
            session, request.headers.get("X-CSRF-Token")
        ):
            return _json({"error": "send the session's CSRF token (X-CSRF-Token, from /api/me)"}, 403)
        command = request.match_info["command"]
        until = None
        if command == "silence":
            try:
                hours = float(request.query.get("hours", "4"))
            except ValueError:
                hours = -1
            if not 0 < hours <= MAX_SILENCE_HOURS:
                return _json({"error": f"hours is a number of hours, above 0 and up to {MAX_SILENCE_HOURS}"}, 400)
            until = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
        await self.send(alert["scope"], command_record(command, alert["id"], account.name, until))
        return _json({"id": alert["id"], "command": command, "by": account.name, "until": until}, 202)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/alerts", guarded(self.guard, LIVE_FIGURES, self.listing))
        router.add_post("/api/alerts/{id}/{command:ack|silence}", guarded(self.guard, LIVE_FIGURES, self.act))
