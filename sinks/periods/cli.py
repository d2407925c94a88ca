"""`p06 period list|show|approve|accept|reopen`: operators' reporting periods, through the sink's API.

An action must pass the guard and reach the one writer, so every command asks the running sink (its API
on 127.0.0.1:P06_SINK_API_PORT) as the account of P06_OPERATOR_USER (a province operator acts for their
province only). Exit 0 when applied, 1 when the writer refused (the reason on stderr), 2 on a usage error
or a refused account.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import typer

from schemas.settings import settings

period_app = typer.Typer(
    help="Reporting periods (a month of the country's time): status per province, approve, accept, reopen.",
    no_args_is_help=True,
)
PERIOD = typer.Argument(..., help="the month, YYYY-MM (the country's time, P06_TIMEZONE)")
PROVINCE = typer.Argument(..., help="province code, e.g. 01")
EXPECTED = typer.Option(
    None,
    "--expected",
    help="the status you saw (open, approved, accepted); refused if another operator changed it since."
    " Default: the status now",
)


def _call(
    method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
) -> httpx.Response:
    from auth.accounts import client_credentials
    from sinks.warehouse.reader import sink_api_url

    s = settings()
    try:
        with httpx.Client(base_url=sink_api_url(s), auth=client_credentials(s), timeout=60) as http:
            response = http.request(method, path, json=body, params=params)
    except httpx.HTTPError as exc:
        typer.echo(f"error: the sink's API on {sink_api_url(s)} did not answer ({exc}); start `p06 sink`", err=True)
        raise typer.Exit(2) from None
    if response.status_code in (400, 401, 403, 404, 503):
        typer.echo(f"error: {response.status_code}: {response.text[:500]}", err=True)
        raise typer.Exit(2)
    return response


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@period_app.command("list")
def period_list(months: int = typer.Option(3, min=1, max=36, help="how many months back, this one first")) -> None:
    """Each recent period: status, completeness and timeliness per province (yours, for a province operator)."""
    _print(_call("GET", "/periods", params={"months": str(months)}).json())


@period_app.command("show")
def period_show(period: str = PERIOD, province: str | None = typer.Option(None, help="one province only")) -> None:
    """The period report: figures as approved or current, status, and what arrived after approval."""
    _print(_call("GET", f"/periods/{period}", params={"province": province} if province else None).json())


def _act(action: str, period: str, province: str, expected: str | None) -> None:
    response = _call("POST", f"/periods/{period}/{province}", {"action": action, "expected": expected})
    outcome = response.json()
    _print(outcome)
    if response.status_code == 409:
        typer.echo(f"refused: {outcome['reason']}", err=True)
        raise typer.Exit(1)
    if response.status_code == 202:
        typer.echo(f"no outcome yet; see `p06 period show {period}`", err=True)
        raise typer.Exit(1)


@period_app.command("approve")
def approve(period: str = PERIOD, province: str = PROVINCE, expected: str | None = EXPECTED) -> None:
    """Approve a province's figures for an ended period (its operator, or a national one)."""
    _act("approve", period, province, expected)


@period_app.command("accept")
def accept(period: str = PERIOD, province: str = PROVINCE, expected: str | None = EXPECTED) -> None:
    """Accept an approved period (national operators)."""
    _act("accept", period, province, expected)


@period_app.command("reopen")
def reopen(period: str = PERIOD, province: str = PROVINCE, expected: str | None = EXPECTED) -> None:
    """Reopen (send back) an approved period; an accepted one: national operators only."""
    _act("reopen", period, province, expected)
