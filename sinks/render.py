"""Reports as text for official documents: json, csv (one row per scope), md (tables)."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from schemas.metrics import INDICATORS, METRICS

from . import unsplit

SCOPE_TITLES = {"nation": "Toàn quốc", "urban": "Thành thị (phường)", "rural": "Nông thôn (xã, đặc khu)"}


def share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def rows(report: dict[str, Any]) -> list[tuple[str, str, dict[str, int], dict[str, float | None]]]:
    """(code, name, figures, indicators) per scope, in document order."""
    if "figures" in report:
        out = [(report["code"], report["name"], report["figures"], report["indicators"])]
        out += [(w, v["name"], v["figures"], {}) for w, v in report["wards"].items()]
        return out
    ind = report["indicators"]
    out = [(s, SCOPE_TITLES[s], report[s], ind[s]) for s in ("nation", "urban", "rural")]
    out += [(p, report["names"][p], f, ind["provinces"][p]) for p, f in report["provinces"].items()]
    return out


def events(report: dict[str, Any]) -> dict[str, int]:
    """scope -> distinct archived events behind its figures, for either report kind."""
    if "figures" in report:
        return {report["code"]: report["events"], **{w: v["events"] for w, v in report["wards"].items()}}
    counts = report["events"]
    return {**{s: counts[s] for s in SCOPE_TITLES}, **counts["provinces"]}


def as_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    changed = report.get("changed_since_last_export", {})
    backing = events(report)
    writer.writerow(["code", "name", *METRICS, *(i.name for i in INDICATORS), "events", "changed_since_last_export"])
    for code, name, figures, indicators in rows(report):
        values = [indicators.get(i.name) for i in INDICATORS]
        writer.writerow([code, name, *(figures[m] for m in METRICS),
                         *("" if v is None else f"{v:.4f}" for v in values), backing[code], " ".join(sorted(changed.get(code, {})))])
    writer.writerows(unsplit.csv_rows(report))
    return buffer.getvalue()


def _cell(code: str, metric: str, value: int, changed: dict[str, dict[str, int]]) -> str:
    before = changed.get(code, {}).get(metric)
    return f"{value:,} \\* (was {before:,})" if before is not None else f"{value:,}"


def as_md(report: dict[str, Any]) -> str:
    changed = report.get("changed_since_last_export", {})
    title = f"Báo cáo {report['name']} ({report['code']})" if "code" in report else "Báo cáo toàn quốc"
    lines = [f"# {title}", "", f"Số liệu tính đến (as of): {report['as_of']}", ""]
    if report.get("last_export"):
        lines += [f"\\* changed since the last export ({report['last_export']})", ""]
    table = rows(report)
    lines += ["## Indicators", "", "| Scope | " + " | ".join(i.title for i in INDICATORS) + " |",
              "|---|" + "---|" * len(INDICATORS)]
    for code, name, _, indicators in table:
        if indicators:
            lines.append(f"| {name} | " + " | ".join(share(indicators.get(i.name)) for i in INDICATORS) + " |")
    comp = report["completeness"]
    comp = comp.get("nation", comp)
    lines += ["", f"Reporting completeness: {comp['reporting']}/{comp['wards']} wards ({share(comp['reporting_share'])}),"
              f" timely {comp['timely']}/{comp['wards']} ({share(comp['timely_share'])})",
              f"Backed by {events(report)[table[0][0]]:,} distinct archived events.", ""]
    backing = events(report)
    lines += ["## Figures", "", "Events: distinct archived events behind the row's figures.", "",
              "| Code | Name | " + " | ".join(METRICS) + " | events |", "|---|---|" + "---:|" * (len(METRICS) + 1)]
    for code, name, figures, _ in table:
        cells = " | ".join(_cell(code, m, figures[m], changed) for m in METRICS)
        lines.append(f"| {code} | {name} | {cells} | {backing[code]:,} |")
    lines += unsplit.md_section(report)
    return "\n".join(lines) + "\n"
