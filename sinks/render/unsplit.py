"""What a report on the 2024 map adds to every format: which map it is on, and the figures that cannot
be split between old provinces (sinks/reports/oldmap.py), shown apart. Nothing for a report on the 2025 map."""

from __future__ import annotations

from html import escape
from typing import Any

from schemas.i18n import Texts
from schemas.metrics import INDICATORS, METRICS
from sinks.reports.model import AtDate, ReviewDocument, ReviewScope, Straddling

CSV_TEXTS = Texts("en")  # csv is machine data: its rows read the same whatever the report's language


def _apart(doc: AtDate) -> list[Straddling] | None:
    """The units listed apart, on the 2024 map; None on the 2025 map, which splits nothing."""
    return doc.data["cannot_split"] if doc.on_old_map else None


def _what(unit: Straddling | ReviewScope, tr: Texts) -> str:
    if unit["level"] == "province":
        return tr("unsplit.province_level", name=unit["name"])
    return tr("unsplit.ward", name=unit["name"])


def _straddles(unit: Straddling | ReviewScope, tr: Texts) -> str:
    return ", ".join(f"{code} {name}" for code, name in unit["old_provinces"].items()) or tr("unsplit.unknown")


def md_section(doc: AtDate, tr: Texts) -> list[str]:
    apart = _apart(doc)
    if apart is None:
        return []
    lines = ["", "## " + tr("unsplit.title"), "", tr("unsplit.note"), "", tr("unsplit.explain"), ""]
    if not apart:
        return lines + [tr("unsplit.none"), ""]
    lines += [
        f"| {tr('unsplit.code')} | {tr('unsplit.unit')} | {tr('unsplit.straddles')} | "
        + " | ".join(tr.metric(m) for m in METRICS)
        + f" | {tr('report.events')} |",
        "|---|---|---|" + "---:|" * (len(METRICS) + 1),
    ]
    for unit in apart:
        cells = " | ".join(tr.number(unit["figures"][m]) for m in METRICS)
        lines.append(
            f"| {unit['code']} | {_what(unit, tr)} | {_straddles(unit, tr)} | {cells} | {tr.number(unit['events'])} |"
        )
    return lines + [""]


def csv_rows(doc: AtDate) -> list[list[Any]]:
    """Rows after the report's own, code written 2025:CODE (a 2025 unit, not an old province)."""
    apart = _apart(doc)
    if apart is None:
        return []
    return [
        [
            f"2025:{u['code']}",
            _row_name(u, CSV_TEXTS),
            *(u["figures"][m] for m in METRICS),
            *("" for _ in INDICATORS),
            u["events"],
            "",
        ]
        for u in apart
    ]


def html_section(doc: AtDate, tr: Texts) -> str:
    apart = _apart(doc)
    if apart is None:
        return ""
    head = "".join(
        f"<th>{escape(c)}</th>"
        for c in (
            tr("unsplit.code"),
            tr("unsplit.unit"),
            tr("unsplit.straddles"),
            *(tr.metric(m) for m in METRICS),
            tr("report.events"),
        )
    )
    rows = "".join(
        f"<tr><td>{escape(u['code'])}</td><td>{escape(_what(u, tr))}</td><td>{escape(_straddles(u, tr))}</td>"
        + "".join(f"<td>{tr.number(u['figures'][m])}</td>" for m in METRICS)
        + f"<td>{tr.number(u['events'])}</td></tr>"
        for u in apart
    )
    table = f"<table><tr>{head}</tr>{rows}</table>" if rows else f"<p>{escape(tr('unsplit.none'))}</p>"
    return (
        f'<h2 id="cannot-split">{escape(tr("unsplit.title"))}</h2><p class="note">{escape(tr("unsplit.note"))}</p>'
        f'<p class="note">{escape(tr("unsplit.explain"))}</p>{table}'
    )


def _row_name(unit: Straddling | ReviewScope, tr: Texts) -> str:
    """A straddling unit as a row's name: what it is and the old provinces it straddles."""
    return tr("unsplit.row", what=_what(unit, tr), straddles=_straddles(unit, tr))


def review_entries(doc: ReviewDocument, tr: Texts = CSV_TEXTS) -> list[ReviewScope]:
    """A review on the 2024 map: its straddling units as rows after the units, code written 2025:CODE; named
    in tr's language (md, html), or as csv names them."""
    if not doc.on_old_map:
        return []
    return [{**u, "code": f"2025:{u['code']}", "name": _row_name(u, tr)} for u in doc.data["cannot_split"]]
