"""`p06 sink`, `p06 report`, `p06 history`, `p06 reconcile`: the warehouse side of p06."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from schemas.calendar import calendar
from schemas.i18n import LANGUAGES
from schemas.settings import settings

if TYPE_CHECKING:
    from sinks.reports.dispatch import Request as ReportRequest

report_app = typer.Typer(
    help="Official figures from ClickHouse: national or one province, at a date or between two.", no_args_is_help=True
)


def sink() -> None:
    """Archive every valid event in ClickHouse and keep the rollups; commits offsets only after a durable write."""
    from sinks.ingest import sink as sink_module

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aiokafka", "kafka", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sink_module.run(settings())


class Format(str, Enum):
    json = "json"
    csv = "csv"
    md = "md"
    html = "html"


def _reader():
    from sinks.warehouse.reader import WarehouseUnavailable, open_reader

    try:
        return open_reader(settings())
    except WarehouseUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


AS_OF = typer.Option(
    None, "--as-of", formats=["%Y-%m-%d"], help="figures at the end of this day (the country's time, P06_TIMEZONE)"
)
FROM = typer.Option(
    None,
    "--from",
    formats=["%Y-%m-%d"],
    help="a review from this day: each figure at both ends, the change, rankings, projected dates",
)
TO = typer.Option(
    None,
    "--to",
    formats=["%Y-%m-%d"],
    help="the review's last day (default: today; days are the country's, P06_TIMEZONE)",
)
FORMAT = typer.Option(Format.json, "--format", help="json (the /api/live shape), csv, md or html")
OUT = typer.Option(None, "--out", help="write to this file (an export) instead of stdout")
Lang = Enum("Lang", {code: code for code in LANGUAGES}, type=str)  # type: ignore[misc]
LANG = typer.Option(
    None,
    "--lang",
    help="language of md and html: vi (Vietnamese) or en (English); default P06_LANG, else vi;"
    " json and csv are the same in every language",
)


class Map(str, Enum):
    current = "2025"
    old = "2024"


MAP = typer.Option(
    Map.current,
    "--map",
    help="2025: the 34 provinces of today; 2024: the 63 before the reform of 1 July 2025"
    " (figures of units that straddle old provinces are listed apart, never split)",
)


def _period(as_of: datetime | None, start: datetime | None, end: datetime | None) -> tuple[date, date] | None:
    """--from/--to as two days (--to defaults to the country's today), None for a report at one date;
    usage errors exit 2."""
    problem = None
    if start is None:
        problem = "--to needs --from (the review's first day); for figures at one date use --as-of" if end else None
    elif as_of is not None:
        problem = "--as-of gives figures at one date, --from/--to a review between two: use one or the other"
    else:
        last = end.date() if end else calendar().today()
        if start.date() > last:
            problem = (
                f"--from {start.date()} is after --to {last}{'' if end else f' (today, {calendar().name})'}:"
                " give the review's first day to --from and its last to --to"
            )
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    return None if start is None else (start.date(), last)


def _lang(lang: Enum | None) -> str:
    return str(lang.value) if lang else settings().lang  # --lang, else P06_LANG


def _report(request: ReportRequest, out: Path | None) -> None:
    """Build and render the report asked (sinks.reports.dispatch), then print it or write it as an export."""
    from sinks.reports import dispatch
    from sinks.warehouse.reader import WarehouseUnavailable

    reader = _reader()
    try:
        produced = dispatch.produce(reader, settings(), request)
    except (ValueError, WarehouseUnavailable) as exc:  # a wrong argument, or the sink's API refused the credentials
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        reader.close()
    if out is None:
        typer.echo(produced.text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(produced.text, encoding="utf-8")
    changed = dispatch.record_export(settings(), request, produced)  # writing a file is an export
    typer.echo(
        f"wrote {out}" if changed is None else f"wrote {out} ({changed} scope(s) changed since the last export)",
        err=True,
    )


PERIOD = typer.Option(
    None,
    "--period",
    help="a reporting period YYYY-MM (JSON): each province's status, its figures as approved (approved or accepted)"
    " or current, and what arrived after approval",
)


def _period_report(month: str, others: bool, fmt: Format, out: Path | None) -> None:
    """`--period`: the period report (sinks.periods.report), JSON."""
    from sinks.periods import period_report
    from sinks.warehouse.reader import WarehouseUnavailable

    if others or fmt is not Format.json:
        typer.echo(
            "error: --period gives its own JSON report: use it without --as-of, --from/--to, --map and --format",
            err=True,
        )
        raise typer.Exit(2)
    reader = _reader()
    try:
        text = json.dumps(period_report(reader, settings(), month), ensure_ascii=False, indent=2) + "\n"
    except (ValueError, WarehouseUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        reader.close()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


@report_app.command("national")
def report_national(
    as_of: datetime | None = AS_OF,
    start: datetime | None = FROM,
    end: datetime | None = TO,
    fmt: Format = FORMAT,
    out: Path | None = OUT,
    lang: Lang | None = LANG,
    map_: Map = MAP,
    month: str | None = PERIOD,
) -> None:
    """Nation, provinces, urban and rural: the twelve metrics, indicators and reporting completeness;
    with --from, a review between two dates; with --period, a reporting period and its approvals."""
    from sinks.reports import Request

    if month is not None:
        _period_report(month, bool(as_of or start or end or map_ is not Map.current), fmt, out)
        return
    period = _period(as_of, start, end)
    day = None if period or as_of is None else as_of.date()
    _report(Request("national", None, day, period, map_.value, fmt.value, _lang(lang)), out)


@report_app.command("province")
def report_province(
    code: str = typer.Argument(..., help="province code on the --map, e.g. 01"),
    as_of: datetime | None = AS_OF,
    start: datetime | None = FROM,
    end: datetime | None = TO,
    fmt: Format = FORMAT,
    out: Path | None = OUT,
    lang: Lang | None = LANG,
    map_: Map = MAP,
) -> None:
    """One province with each of its wards; with --from, a review between two dates."""
    from sinks.reports import Request

    period = _period(as_of, start, end)
    day = None if period or as_of is None else as_of.date()
    _report(Request("province", code, day, period, map_.value, fmt.value, _lang(lang)), out)


def history(
    entity: str = typer.Argument(..., help="LOCALITY/KIND:ID, e.g. 00070/village:V12, 01/task:T003, 01/system:S1"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of text"),
) -> None:
    """Every event that set one task, village or system, in event-time order, and which one is current."""
    from sinks.reports import history as module
    from sinks.warehouse.reader import WarehouseUnavailable

    reader = _reader()
    try:
        result = module.history(reader, entity)
    except (ValueError, WarehouseUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        reader.close()
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else module.as_text(result))


def reconcile(
    as_of: datetime | None = AS_OF,
    no_live: bool = typer.Option(
        False, "--no-live", help="compare the warehouse only; without it an unreachable worker fails"
    ),
    worker_url: str | None = typer.Option(
        None, help="live worker base URL (default P06_WORKER_URL, else http://127.0.0.1:P06_WORKER_WEB_PORT)"
    ),
) -> None:
    """Recount every figure from the raw archive; compare with rollups, latest states and live counters.
    Exit 0 only if all agree."""
    from auth.accounts import client_credentials
    from sinks.checks.reconcile import LiveUnavailable
    from sinks.checks.reconcile import reconcile as run
    from sinks.warehouse.reader import WarehouseUnavailable

    if as_of is not None and not no_live:
        typer.echo("live: the worker counts now, not at a past date; use --no-live with --as-of", err=True)
        raise typer.Exit(2)
    url = None if no_live else (worker_url or settings().live_url)
    reader = _reader()
    try:
        diffs, compared = run(reader, url, as_of.date() if as_of else None, client_credentials(settings()))
    except LiveUnavailable as exc:
        typer.echo(f"live: {exc}; start the worker or pass --no-live", err=True)
        raise typer.Exit(3) from None
    except WarehouseUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        reader.close()
    for line in compared:
        typer.echo(f"compared: {line}")
    for diff in diffs:
        typer.echo(f"DIFF {diff}")
    typer.echo(f"{len(diffs)} difference(s)" if diffs else "all figures agree")
    raise typer.Exit(1 if diffs else 0)


warehouse_app = typer.Typer(
    help="The ClickHouse server's users and privileges (a server DSN; embedded chDB has no users).",
    no_args_is_help=True,
)


@warehouse_app.command("grant")
def warehouse_grant(
    province: list[str] = typer.Option(
        [],
        "--province",
        help="also make p06_province_PP for this province (repeat);"
        " its password: file p06_province_PP in P06_CLICKHOUSE_PASSWORDS_DIR",
    ),
    show: bool = typer.Option(False, "--print", help="print the statements (passwords masked) instead of running them"),
) -> None:
    """Create or update p06_sink (inserts, migrations), p06_reports (SELECT only) and the province readers
    (row policy: their province's rows), with no file, URL or remote table function for any of them.
    Run with P06_CLICKHOUSE_URL holding an administrator's credentials (http://admin:PASSWORD@host:8123)."""
    from sinks.warehouse.access import AccessError, apply, plan
    from sinks.warehouse.clickhouse import is_embedded, open_client

    s = settings()
    try:
        statements = plan(s, province)
    except AccessError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if show:
        typer.echo(";\n".join(st.shown for st in statements) + ";")
        return
    if is_embedded(s.clickhouse_dsn):
        typer.echo(
            "error: embedded chDB has no users or grants; set P06_CLICKHOUSE_URL to a server's DSN with an"
            " administrator's credentials (the sink's API answers only named queries on chDB)",
            err=True,
        )
        raise typer.Exit(2)
    client = open_client(s)
    try:
        apply(client, statements)
    finally:
        client.close()
    typer.echo(
        f"applied {len(statements)} statements: users p06_sink, p06_reports"
        + "".join(f", p06_province_{p}" for p in province)
    )
