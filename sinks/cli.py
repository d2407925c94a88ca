"""`p06 sink`, `p06 report`, `p06 history`, `p06 reconcile`: the warehouse side of p06."""
from __future__ import annotations

import json
import logging
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from schemas.settings import settings

report_app = typer.Typer(help="Official figures from ClickHouse: national or one province, at a date.", no_args_is_help=True)


def sink() -> None:
    """Archive every valid event in ClickHouse and keep the rollups; commits offsets only after a durable write."""
    from . import sink as sink_module

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
    from .warehouse import WarehouseUnavailable, open_reader

    try:
        return open_reader(settings())
    except WarehouseUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _emit(report: dict, fmt: Format, out: Optional[Path], kind: str) -> None:
    from . import html, render
    from .report import mark_changes, record_export, snapshot_path

    snapshot = snapshot_path(settings(), kind)
    mark_changes(report, snapshot)
    text = {Format.json: render.as_json, Format.csv: render.as_csv, Format.md: render.as_md, Format.html: html.page}[fmt](report)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    record_export(report, snapshot)  # writing a file is an export: the next report marks changes against it
    typer.echo(f"wrote {out} ({len(report.get('changed_since_last_export', {}))} scope(s) changed since the last export)", err=True)


AS_OF = typer.Option(None, "--as-of", formats=["%Y-%m-%d"], help="figures at the end of this day (UTC)")
FORMAT = typer.Option(Format.json, "--format", help="json (the /api/live shape), csv, md or html")
OUT = typer.Option(None, "--out", help="write to this file (an export) instead of stdout")


@report_app.command("national")
def report_national(as_of: Optional[datetime] = AS_OF, fmt: Format = FORMAT, out: Optional[Path] = OUT) -> None:
    """Nation, provinces, urban and rural: the twelve metrics, indicators and reporting completeness."""
    from .report import national

    reader = _reader()
    try:
        report = national(reader, settings(), as_of.date() if as_of else None)
    finally:
        reader.close()
    _emit(report, fmt, out, "national")


@report_app.command("province")
def report_province(code: str = typer.Argument(..., help="province code, e.g. 01"), as_of: Optional[datetime] = AS_OF,
                    fmt: Format = FORMAT, out: Optional[Path] = OUT) -> None:
    """One province with each of its wards."""
    from .report import province

    reader = _reader()
    try:
        report = province(reader, settings(), code, as_of.date() if as_of else None)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        reader.close()
    _emit(report, fmt, out, f"province-{code}")


def history(entity: str = typer.Argument(..., help="LOCALITY/KIND:ID, e.g. 00070/village:V12, 01/task:T003, 01/system:S1"),
            as_json: bool = typer.Option(False, "--json", help="print JSON instead of text")) -> None:
    """Every event that set one task, village or system, in event-time order, and which one is current."""
    from . import history as module

    reader = _reader()
    try:
        result = module.history(reader, entity)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        reader.close()
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else module.as_text(result))


def reconcile(as_of: Optional[datetime] = AS_OF,
              no_live: bool = typer.Option(False, "--no-live", help="compare the warehouse only; without it an unreachable worker fails"),
              worker_url: Optional[str] = typer.Option(None, help="live worker base URL (default P06_WORKER_URL, else http://127.0.0.1:P06_WORKER_WEB_PORT)")) -> None:
    """Recount every figure from the raw archive; compare with rollups, latest states and live counters. Exit 0 only if all agree."""
    from .reconcile import LiveUnavailable
    from .reconcile import reconcile as run

    if as_of is not None and not no_live:
        typer.echo("live: the worker counts now, not at a past date; use --no-live with --as-of", err=True)
        raise typer.Exit(2)
    url = None if no_live else (worker_url or settings().live_url)
    reader = _reader()
    try:
        diffs, compared = run(reader, url, as_of.date() if as_of else None)
    except LiveUnavailable as exc:
        typer.echo(f"live: {exc}; start the worker or pass --no-live", err=True)
        raise typer.Exit(3) from None
    finally:
        reader.close()
    for line in compared:
        typer.echo(f"compared: {line}")
    for diff in diffs:
        typer.echo(f"DIFF {diff}")
    typer.echo(f"{len(diffs)} difference(s)" if diffs else "all figures agree")
    raise typer.Exit(1 if diffs else 0)
