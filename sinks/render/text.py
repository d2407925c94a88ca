"""Reports as text for official documents: json, csv (one row per scope), md (tables).

json and csv are machine data (stable keys, Vietnamese registry names); md speaks the report's
language (schemas/i18n.py).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from schemas.i18n import DEFAULT, Texts
from schemas.metrics import INDICATORS, METRICS
from sinks.render import unsplit

# The headline scopes' names in json and csv: the Vietnamese ones, like the registry's names.
SCOPE_TITLES = {s: Texts("vi").scope(s) for s in ("nation", "urban", "rural")}


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def rows(
    report: dict[str, Any], tr: Texts | None = None
) -> list[tuple[str, str, dict[str, int], dict[str, float | None]]]:
    """(code, name, figures, indicators) per scope, in document order; headline scopes named in tr's language."""
    if "figures" in report:
        out = [(report["code"], report["name"], report["figures"], report["indicators"])]
        out += [(w, v["name"], v["figures"], {}) for w, v in report["wards"].items()]
        return out
    ind = report["indicators"]
    name = tr.scope if tr else SCOPE_TITLES.__getitem__
    out = [(s, name(s), report[s], ind[s]) for s in ("nation", "urban", "rural")]
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
        writer.writerow(
            [
                code,
                name,
                *(figures[m] for m in METRICS),
                *("" if v is None else f"{v:.4f}" for v in values),
                backing[code],
                " ".join(sorted(changed.get(code, {}))),
            ]
        )
    writer.writerows(unsplit.csv_rows(report))
    return buffer.getvalue()


def title(report: dict[str, Any], tr: Texts) -> str:
    if "code" in report:
        return tr("report.title_province", name=report["name"], code=report["code"])
    return tr("report.title_national")


def completeness(report: dict[str, Any]) -> dict[str, Any]:
    comp = report["completeness"]
    return comp.get("nation", comp)


def completeness_values(report: dict[str, Any], tr: Texts) -> dict[str, str]:
    """The placeholders of report.completeness, formatted."""
    comp = completeness(report)
    return {
        "reporting": tr.number(comp["reporting"]),
        "wards": tr.number(comp["wards"]),
        "timely": tr.number(comp["timely"]),
        "reporting_share": tr.share(comp["reporting_share"]),
        "timely_share": tr.share(comp["timely_share"]),
    }


def _cell(code: str, metric: str, value: int, changed: dict[str, dict[str, int]], tr: Texts) -> str:
    before = changed.get(code, {}).get(metric)
    if before is None:
        return tr.number(value)
    return f"{tr.number(value)} \\* ({tr('report.was', value=tr.number(before))})"


def as_md(report: dict[str, Any], lang: str = DEFAULT) -> str:
    tr = Texts(lang)
    changed = report.get("changed_since_last_export", {})
    lines = [f"# {title(report, tr)}", "", tr("report.as_of", moment=tr.moment(report["as_of"])), ""]
    if report.get("last_export"):
        lines += [f"\\* {tr('report.changed_since', moment=tr.moment(report['last_export']))}", ""]
    table = rows(report, tr)
    lines += [
        f"## {tr('report.indicators')}",
        "",
        f"| {tr('report.scope')} | " + " | ".join(tr.indicator(i.name) for i in INDICATORS) + " |",
        "|---|" + "---|" * len(INDICATORS),
    ]
    for code, name, _, indicators in table:
        if indicators:
            lines.append(f"| {name} | " + " | ".join(tr.share(indicators.get(i.name)) for i in INDICATORS) + " |")
    backing = events(report)
    lines += [
        "",
        tr("report.completeness", **completeness_values(report, tr)),
        tr("report.backed_by", events=tr.number(backing[table[0][0]])),
        "",
    ]
    lines += [
        f"## {tr('report.figures')}",
        "",
        tr("report.events_note"),
        "",
        f"| {tr('report.code')} | {tr('report.name')} | "
        + " | ".join(tr.metric(m) for m in METRICS)
        + f" | {tr('report.events')} |",
        "|---|---|" + "---:|" * (len(METRICS) + 1),
    ]
    for code, name, figures, _ in table:
        cells = " | ".join(_cell(code, m, figures[m], changed, tr) for m in METRICS)
        lines.append(f"| {code} | {name} | {cells} | {tr.number(backing[code])} |")
    lines += unsplit.md_section(report, tr)
    return "\n".join(lines) + "\n"
