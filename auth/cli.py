"""`p06 users add|list|revoke`: the operators' accounts in DATA_DIR/users.json (auth.accounts);
`p06 users throttles|unthrottle`: the failed logins being throttled (auth.throttle), seen and cleared.

A password is never taken on the command line (it would show in `ps` and shell history): it is read
from --password-file, from standard input when that is not a terminal, or from a prompt.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import typer

from auth.accounts import AccountError, Accounts
from auth.throttle import ANY_ACCOUNT, Limits, Throttle
from schemas.settings import settings

app = typer.Typer(
    help="Operators' accounts: who may log in to the dashboard, the live API, the reports and /metrics.",
    no_args_is_help=True,
)


class Role(str, Enum):
    national = "national"
    province = "province"
    monitor = "monitor"


def _password(path: Path | None) -> str:
    if path is not None:
        return path.read_text(encoding="utf-8").strip()
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        typer.echo("error: the two passwords differ; nothing changed", err=True)
        raise typer.Exit(2)
    return first


def _accounts() -> Accounts:
    return Accounts(settings().accounts_folder)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="account name: lower-case letters, digits, '.', '_', '-'"),
    role: Role = typer.Option(..., "--role", help="national (everything), province (one province), monitor (/metrics)"),
    province: str | None = typer.Option(
        None, "--province", help="the province code of a --role province account, e.g. 01"
    ),
    password_file: Path | None = typer.Option(
        None,
        "--password-file",
        exists=True,
        dir_okay=False,
        help="read the password from this file (else stdin or a prompt)",
    ),
) -> None:
    """Create an account (a revoked name may be created again, with a new password)."""
    try:
        account = _accounts().add(name, role.value, _password(password_file), province)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"added {account.name} ({account.scope}) to {_accounts().path}")


@app.command("list")
def list_accounts(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Every account: name, role, province, when created and when revoked (never a password or hash)."""
    accounts = [a.public() for a in _accounts().all().values()]
    if as_json:
        typer.echo(json.dumps(accounts, indent=2))
        return
    if not accounts:
        typer.echo(f"no accounts in {_accounts().path}; `p06 users add NAME --role national` makes one")
    for a in accounts:
        state = f"revoked {a['revoked']}" if a["revoked"] else "active"
        typer.echo(f"{a['name']:<20} {a['role']:<9} {a['province'] or '-':<3} created {a['created']}  {state}")


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="the account to revoke")) -> None:
    """Revoke an account: its password and every session it holds stop working at once."""
    try:
        account = _accounts().revoke(name)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"revoked {account.name} ({account.scope}) at {account.revoked}")


def _throttle() -> Throttle:
    s = settings()
    limits = Limits(s.login_failures, s.login_failures_per_address, s.login_wait_s, s.login_wait_max_s)
    return Throttle(s.accounts_folder, limits)


@app.command("throttles")
def throttles(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Failed logins not yet forgotten, per account and address ('*': an address's own count, any account),
    with the seconds each still waits (throttled: its logins answer 429 until then)."""
    entries = _throttle().entries()
    if as_json:
        typer.echo(json.dumps([e.__dict__ for e in entries], indent=2))
        return
    if not entries:
        typer.echo("no failed logins to remember: nothing is throttled")
    for e in entries:
        last = datetime.fromtimestamp(e.last_failure, UTC).isoformat(timespec="seconds")
        state = f"throttled for {e.wait_s:.0f} s more" if e.wait_s > 0 else "not throttled"
        who = "*" if e.account == ANY_ACCOUNT else e.account
        typer.echo(f"{who:<20} {e.address:<40} {e.failures:>5} failures, last {last}  {state}")


@app.command("unthrottle")
def unthrottle(
    name: str | None = typer.Argument(None, help="the account whose failed logins to forget (from every address)"),
    address: str | None = typer.Option(None, "--address", help="forget the failures from this client address"),
) -> None:
    """Clear a throttle at once, on every worker and sink: an account's (every address), an address's
    (its own count and every account's from it), or, with both, that account from that address."""
    if name is None and address is None:
        typer.echo("error: name an account, --address ADDRESS, or both (`p06 users throttles` lists them)", err=True)
        raise typer.Exit(2)
    cleared = _throttle().clear(name, address)
    what = " from ".join(part for part in (name, address) if part)
    typer.echo(f"cleared {cleared} throttle entries of {what}" if cleared else f"nothing throttled for {what}")
