"""`p06 alerts list|ack|silence`: the business alerts, through a running worker's API (as `p06 live`), as the
account of P06_OPERATOR_USER (a province operator sees and acts on its province's alerts only).
Exit 0 on success, 1 when the worker refused or did not answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from schemas.settings import settings

alerts_app = typer.Typer(
    help="Business alerts: list them, acknowledge one, silence one's notices.", no_args_is_help=True
)
console = Console(stderr=True)
ALERT = typer.Argument(..., help="the alert's id, as `p06 alerts list` shows it (e.g. 01-silent-3)")
URL = typer.Option(None, help="a worker's base URL; default from P06_WORKER_WEB_PORT")


def _call(method: str, path: str, url: str | None, params: dict[str, str] | None = None) -> dict[str, Any]:
    from auth.accounts import client_credentials

    s = settings()
    base = url or s.live_url
    try:
        answer = httpx.request(method, base + path, params=params, auth=client_credentials(s), timeout=10)
    except httpx.HTTPError as exc:
        console.print(f"[red]error:[/red] no answer from {base} ({exc}); is `p06 worker` running?")
        raise typer.Exit(1) from None
    body: dict[str, Any] = answer.json()
    if answer.status_code >= 400:
        console.print(f"[red]error:[/red] {base} refused ({answer.status_code}): {body.get('error')}")
        raise typer.Exit(1)
    return body


@alerts_app.command("list")
def listing(
    fmt: str = typer.Option("table", "--format", help="table or json (the /api/alerts body)"),
    url: str | None = URL,
) -> None:
    """The alerts you may see: firing first."""
    body = _call("GET", "/api/alerts", url)
    if fmt == "json":
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    table = Table(title="Alerts")
    for column in ("id", "kind", "scope", "severity", "state", "since", "wards", "acknowledged by"):
        table.add_column(column)
    for a in body["alerts"]:
        wards = ", ".join(a["wards"][:5]) + (f" (+{len(a['wards']) - 5})" if len(a["wards"]) > 5 else "")
        row = (a["id"], a["kind"], a["scope"], a["severity"], a["state"], a["since"], wards, a["acknowledged_by"] or "")
        table.add_row(*row)
    Console().print(table)


@alerts_app.command()
def ack(alert: str = ALERT, url: str | None = URL) -> None:
    """Acknowledge an alert: its record names you; notices go on."""
    typer.echo(json.dumps(_call("POST", f"/api/alerts/{alert}/ack", url)))


@alerts_app.command()
def silence(
    alert: str = ALERT,
    hours: float = typer.Option(4.0, help="how long no webhook notice of it is sent"),
    url: str | None = URL,
) -> None:
    """Send no webhook notice of an alert for some hours: one due meanwhile is dropped, not sent later (the panel
    still shows the alert)."""
    typer.echo(json.dumps(_call("POST", f"/api/alerts/{alert}/silence", url, {"hours": str(hours)})))
