"""The sink's /periods routes: the reporting periods, their report, and the operators' actions on them.

Guarded like /reports (operators only; a monitor account is refused): a province operator sees and acts
for their own province only. An action is written to the periods topic and the answer is the one
writer's outcome: 200 applied, 409 refused with the reason (the status moved, the period has not ended,
the transition is not allowed), 202 when it has not come back within 30 s (GET the period to see it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from auth import WAREHOUSE, Account, Guard, out_of_scope
from auth.sessions import COOKIE
from schemas.periods import Action, check_period
from schemas.registry import registry
from sinks.periods import figures as reads
from sinks.periods.desk import PeriodDesk, forbidden
from sinks.periods.report import period_list, period_report
from sinks.warehouse.store import Store

from .auth_starlette import guarded

ACTIONS = ("approve", "accept", "reopen")
CSRF_HEADER = "X-CSRF-Token"  # the session's token (auth.csrf), which the dashboard reads from /api/me


def forged(guard: Guard, request: Request) -> bool:
    """A press that a browser's session cookie authenticates must carry that session's CSRF token: another
    site can make a browser send the cookie, never the token. HTTP Basic (the CLI, scripts) needs none."""
    session = request.cookies.get(COOKIE)
    return session is not None and not guard.csrf.valid(session, request.headers.get(CSRF_HEADER))


def _mine(account: Account) -> list[str] | None:
    return None if account.role == "national" else [str(account.province)]


class PeriodsApi:
    def __init__(self, store: Store, desk: PeriodDesk | None, guard: Guard) -> None:
        self.store = store
        self.desk = desk
        self.guard = guard

    async def _read(self, read) -> Any:  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.store.read_between_writes, read)

    async def listing(self, request: Request, account: Account) -> JSONResponse:
        try:
            months = int(request.query_params.get("months", "3"))
            assert 1 <= months <= 36
        except (ValueError, AssertionError):
            return JSONResponse({"error": "months is a whole number from 1 to 36"}, status_code=400)
        settings = self.store.settings
        return JSONResponse(await self._read(lambda r: period_list(r, settings, months, _mine(account))))

    async def show(self, request: Request, account: Account) -> JSONResponse:
        period = request.path_params["period"]
        province = request.query_params.get("province")
        if province and not account.sees(province):
            return JSONResponse(out_of_scope(account, f"may not see province {province}"), status_code=403)
        try:
            check_period(period)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        codes = [province] if province else _mine(account)
        settings = self.store.settings
        return JSONResponse(await self._read(lambda r: period_report(r, settings, period, codes)))

    async def act(self, request: Request, account: Account) -> JSONResponse:
        period, province = request.path_params["period"], request.path_params["province"]
        if forged(self.guard, request):
            refusal = f"a press from the dashboard carries its CSRF token ({CSRF_HEADER}): reload the page, press again"
            return JSONResponse({"error": refusal}, status_code=403)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("action") not in ACTIONS:
            return JSONResponse(
                {"error": f"send JSON {{\"action\": one of {', '.join(ACTIONS)}, \"expected\": the status you saw}}"},
                status_code=400,
            )
        if why := forbidden(account, body["action"], province):
            return JSONResponse(out_of_scope(account, why), status_code=403)
        if province not in registry().provinces:
            return JSONResponse({"error": f"{province!r} is not a province code"}, status_code=404)
        try:
            expected = body.get("expected") or await self._status(check_period(period), province)
            fields = {"period": period, "province": province, "action": body["action"], "expected": expected}
            who = {"by": account.name, "role": account.role, "by_province": account.province}
            action = Action.model_validate(fields | who)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if self.desk is None:
            return JSONResponse({"error": "period actions need the running sink (p06 sink)"}, status_code=503)
        outcome = await self.desk.submit(action)
        if outcome is None:
            return JSONResponse(
                {"pending": action.action_id, "error": "no outcome within 30 s: GET /periods/" + period},
                status_code=202,
            )
        return JSONResponse(outcome, status_code=200 if outcome["outcome"] == "applied" else 409)

    async def _status(self, period: str, province: str) -> str:
        done = reads.standing(await self._read(lambda r: reads.actions(r, period))).get((period, province))
        return str(done["status_after"]) if done else "open"

    def routes(self) -> list[Route]:
        return [
            Route("/periods", guarded(self.guard, WAREHOUSE, self.listing)),
            Route("/periods/{period}", guarded(self.guard, WAREHOUSE, self.show)),
            Route("/periods/{period}/{province}", guarded(self.guard, WAREHOUSE, self.act), methods=["POST"]),
        ]
