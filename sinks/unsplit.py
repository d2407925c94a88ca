"""What a report on the 2024 map adds to every format: which map it is on, and the figures that cannot
be split between old provinces (sinks/oldmap.py), shown apart. Nothing for a report on the 2025 map."""
from __future__ import annotations

from html import escape
from typing import Any

from schemas.metrics import INDICATORS, METRICS

NOTE = ("On the 2024 map (the 63 provinces before the reform of 1 July 2025): each old province's figures are those of"
        " the 2025 wards that lie wholly within it, and the province-level figures of a 2025 province made of it alone."
        " Nation, urban and rural are the same as on the 2025 map.")
TITLE = "Cannot be split between old provinces"
EXPLAIN = ("These 2025 units straddle several 2024 provinces: their figures are counted in the nation but in no old"
           " province, since splitting them would be a guess.")


def _on_old_map(report: dict[str, Any]) -> bool:
    return report.get("map") == "2024"


def _what(unit: dict[str, Any]) -> str:
    kind = "province-level figures of" if unit["level"] == "province" else "ward"
    return f"{kind} {unit['name']}"


def _straddles(unit: dict[str, Any]) -> str:
    return ", ".join(f"{code} {name}" for code, name in unit["old_provinces"].items()) or "no 2024 province known"


def md_section(report: dict[str, Any]) -> list[str]:
    if not _on_old_map(report):
        return []
    lines = ["", "## " + TITLE, "", NOTE, "", EXPLAIN, ""]
    if not report["cannot_split"]:
        return lines + ["None: every figure lies within one old province.", ""]
    lines += ["| 2025 code | Unit | Straddles (2024) | " + " | ".join(METRICS) + " | events |",
              "|---|---|---|" + "---:|" * (len(METRICS) + 1)]
    for unit in report["cannot_split"]:
        cells = " | ".join(f"{unit['figures'][m]:,}" for m in METRICS)
        lines.append(f"| {unit['code']} | {_what(unit)} | {_straddles(unit)} | {cells} | {unit['events']:,} |")
    return lines + [""]


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Rows after the report's own, code written 2025:CODE (a 2025 unit, not an old province)."""
    if not _on_old_map(report):
        return []
    return [[f"2025:{u['code']}", f"{_what(u)} (cannot be split: straddles {_straddles(u)})",
             *(u["figures"][m] for m in METRICS), *("" for _ in INDICATORS), u["events"], ""]
            for u in report["cannot_split"]]


def html_section(report: dict[str, Any]) -> str:
    if not _on_old_map(report):
        return ""
    head = "".join(f"<th>{escape(m)}</th>" for m in METRICS)
    rows = "".join(
        f"<tr><td>{escape(u['code'])}</td><td>{escape(_what(u))}</td><td>{escape(_straddles(u))}</td>"
        + "".join(f"<td>{u['figures'][m]:,}</td>" for m in METRICS) + f"<td>{u['events']:,}</td></tr>"
        for u in report["cannot_split"])
    table = (f"<table><tr><th>2025 code</th><th>Unit</th><th>Straddles (2024)</th>{head}<th>events</th></tr>{rows}</table>"
             if rows else "<p>None: every figure lies within one old province.</p>")
    return (f'<h2 id="cannot-split">{escape(TITLE)}</h2><p class="note">{escape(NOTE)}</p>'
            f'<p class="note">{escape(EXPLAIN)}</p>{table}')
