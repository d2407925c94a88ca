"""A review between two dates as text: json (sinks.reports.review's dict), csv (a row per scope), md (tables).

json and csv are machine data (stable keys, ISO dates, statuses as sinks.reports.review writes them); md speaks
the review's language (schemas/i18n.py).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from schemas.i18n import DEFAULT, Texts
from schemas.metrics import INDICATORS, METRICS
from sinks.render import unsplit
from sinks.reports.review import EID, GOALS


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def goal_title(goal: str, tr: Texts) -> str:
    """An indicator's title, or the title of a goal that is not an indicator (e-ID, completeness, timeliness)."""
    return tr(f"goal.{goal}") if goal in (EID, "reporting_share", "timely_share") else tr.indicator(goal)


def title(report: dict[str, Any], tr: Texts) -> str:
    start, end = tr.day(report["from"]), tr.day(report["to"])
    if report["kind"] == "national":
        return tr("review.title_national", start=start, end=end)
    return tr("review.title_province", name=report["name"], code=report["code"], start=start, end=end)


def unit(report: dict[str, Any], tr: Texts) -> str:
    """What the review ranks, in words: province or ward."""
    return tr(f"unit.{report['units_are'][:-1]}")


def entries(report: dict[str, Any], tr: Texts | None = None) -> list[dict[str, Any]]:
    """The headline scopes, then the units (provinces, or a province's wards), then on the 2024 map the units
    that cannot be split, in document order; those named in tr's language (md, html), else as csv names them."""
    return [
        *report["scopes"].values(),
        *report["units"].values(),
        *unsplit.review_entries(report, tr or unsplit.CSV_TEXTS),
    ]


def name(entry: dict[str, Any], tr: Texts) -> str:
    """A scope's name: nation, urban and rural in tr's language, units as the registry names them."""
    return tr.scope(entry["code"]) if entry["code"] in ("nation", "urban", "rural") else entry["name"]


def goal_value(goal: str, value: float | None, tr: Texts) -> str:
    if goal == EID:
        return tr.signed(value)
    return tr.share(value) if goal in ("reporting_share", "timely_share") else tr.points(value)


def projected(p: dict[str, Any]) -> str:
    """The projected date (ISO) or the status: the csv's value."""
    return p["date"] if p["status"] == "projected" else p["status"]


def projected_text(p: dict[str, Any], tr: Texts) -> str:
    """The projected date or the status, in tr's language."""
    return tr.day(p["date"]) if p["status"] == "projected" else tr(f"status.{p['status'].replace(' ', '_')}")


def ranks(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    """goal -> unit code -> its place (1 = most progress)."""
    return {g: {row["code"]: n for n, row in enumerate(rows, 1)} for g, rows in report["rankings"].items()}


def as_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    places = ranks(report)
    worse = {b["code"]: " ".join(b["indicators"]) for b in report["backwards"]}
    writer.writerow(
        [
            "from",
            "to",
            "code",
            "name",
            *(f"{m}_{end}" for m in METRICS for end in ("from", "to", "change")),
            *(f"{i.name}_{end}" for i in INDICATORS for end in ("from", "to", "change", "projected")),
            "events_from",
            "events_to",
            "events_period",
            "reporting_share",
            "timely_share",
            *(f"rank_{g}" for g in GOALS),
            "went_backwards",
        ]
    )
    for e in entries(report):
        fig, ind, comp = e["figures"], e["indicators"], e["completeness"]
        writer.writerow(
            [
                report["from"],
                report["to"],
                e["code"],
                e["name"],
                *(fig[end][m] for m in METRICS for end in ("from", "to", "change")),
                *(
                    v
                    for i in INDICATORS
                    for v in (
                        *(_number(ind[i.name][end]) for end in ("from", "to", "change")),
                        projected(ind[i.name]["projected"]),
                    )
                ),
                e["events"]["from"],
                e["events"]["to"],
                e["events"]["period"],
                _number(comp["reporting_share"]),
                _number(comp["timely_share"]),
                *(places[g].get(e["code"], "") for g in GOALS),
                worse.get(e["code"], ""),
            ]
        )
    return buffer.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def as_md(report: dict[str, Any], lang: str = DEFAULT) -> str:
    tr = Texts(lang)
    start, end = tr.day(report["from"]), tr.day(report["to"])
    lines = [f"# {title(report, tr)}", "", _about(report, tr), ""]
    lines += [
        f"## {tr('review.targets')}",
        "",
        f"| {tr('report.scope')} | {tr('review.target')} | {start} | {end} | {tr('review.change')} | {tr('review.projected')} |",
        "|---|---|---:|---:|---:|---|",
    ]
    for e in report["scopes"].values():
        for i in INDICATORS:
            v = e["indicators"][i.name]
            lines.append(
                f"| {name(e, tr)} | {tr.indicator(i.name)} | {tr.share(v['from'])} | {tr.share(v['to'])}"
                f" | {tr.points(v['change'])} | {projected_text(v['projected'], tr)} |"
            )
        lines.append(f"| {name(e, tr)} | {tr.metric(EID)} | | | {tr.signed(e['figures']['change'][EID])} | |")
    lines += ["", f"## {tr('review.backwards')}", "", *_backwards(report, tr), ""]
    for goal in GOALS:
        lines += _ranking(report, goal, tr)
    lines += [
        f"## {tr('report.figures')}",
        "",
        tr("review.figures_note", start=start, end=end),
        "",
        f"| {tr('report.code')} | {tr('report.name')} | "
        + " | ".join(tr.metric(m) for m in METRICS)
        + f" | {tr('review.events_period')} |",
        "|---|---|" + "---:|" * (len(METRICS) + 1),
    ]
    for e in entries(report, tr):
        fig = e["figures"]
        cells = " | ".join(f"{tr.number(fig['to'][m])} ({tr.signed(fig['change'][m])})" for m in METRICS)
        lines.append(
            f"| {e['code']} | {name(e, tr)} | {cells} | {tr.number(e['events']['to'])} ({tr.signed(e['events']['period'])}) |"
        )
    return "\n".join(lines) + "\n"


def _about(report: dict[str, Any], tr: Texts) -> str:
    head = next(iter(report["scopes"].values()))
    comp, events = head["completeness"], head["events"]
    return tr(
        "review.about",
        start=tr.day(report["from"]),
        end=tr.day(report["to"]),
        events=tr.number(events["to"]),
        period=tr.number(events["period"]),
        reporting=tr.number(comp["reporting"]),
        wards=tr.number(comp["wards"]),
        reporting_share=tr.share(comp["reporting_share"]),
        hours=tr.number(report["timely_hours"]),
        timely=tr.number(comp["timely"]),
        timely_share=tr.share(comp["timely_share"]),
    )


def _backwards(report: dict[str, Any], tr: Texts) -> list[str]:
    found = [
        f"- {b['name']} ({b['code']}): " + ", ".join(tr.indicator(n) for n in b["indicators"])
        for b in report["backwards"]
    ]
    return found or [tr("review.backwards_none", unit=unit(report, tr))]


def _ranking(report: dict[str, Any], goal: str, tr: Texts) -> list[str]:
    lines = [
        f"## {tr('review.ranking', goal=goal_title(goal, tr))}",
        "",
        f"| {tr('review.rank')} | {tr('report.code')} | {tr('report.name')} | {tr('review.progress')} | {tr('review.projected')} |",
        "|---:|---|---|---:|---|",
    ]
    for n, row in enumerate(report["rankings"][goal], 1):
        entry = report["units"][row["code"]]
        when = projected_text(entry["indicators"][goal]["projected"], tr) if goal in entry["indicators"] else ""
        lines.append(f"| {n} | {row['code']} | {row['name']} | {goal_value(goal, row['value'], tr)} | {when} |")
    return lines + [""]
