"""A review between two dates as text: json (sinks.review's dict), csv (a row per scope), md (tables)."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from schemas.metrics import INDICATORS, METRICS

from .render import share
from .review import EID, GOALS

TITLES = {**{i.name: i.title for i in INDICATORS}, EID: "e-ID activations (no target: the period's count)",
          "reporting_share": "Reporting completeness (wards that reported in the period)",
          "timely_share": "Reporting timeliness (wards that reported in the period's last hours)"}


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def title(report: dict[str, Any]) -> str:
    where = "toàn quốc" if report["kind"] == "national" else f"{report['name']} ({report['code']})"
    return f"Đánh giá {where}: {report['from']} → {report['to']}"


def entries(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline scopes, then the units (provinces, or a province's wards), in document order."""
    return [*report["scopes"].values(), *report["units"].values()]


def points(change: float | None) -> str:
    """A share's change in percentage points."""
    return "—" if change is None else f"{change * 100:+.1f} pts"


def goal_value(goal: str, value: float | None) -> str:
    if goal == EID:
        return "—" if value is None else f"{value:+,.0f}"
    return share(value) if goal in ("reporting_share", "timely_share") else points(value)


def projected(p: dict[str, Any]) -> str:
    return p["date"] if p["status"] == "projected" else p["status"]


def ranks(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    """goal -> unit code -> its place (1 = most progress)."""
    return {g: {row["code"]: n for n, row in enumerate(rows, 1)} for g, rows in report["rankings"].items()}


def as_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    places = ranks(report)
    worse = {b["code"]: " ".join(b["indicators"]) for b in report["backwards"]}
    writer.writerow(["from", "to", "code", "name", *(f"{m}_{end}" for m in METRICS for end in ("from", "to", "change")),
                     *(f"{i.name}_{end}" for i in INDICATORS for end in ("from", "to", "change", "projected")),
                     "events_from", "events_to", "events_period", "reporting_share", "timely_share",
                     *(f"rank_{g}" for g in GOALS), "went_backwards"])
    for e in entries(report):
        fig, ind, comp = e["figures"], e["indicators"], e["completeness"]
        writer.writerow([
            report["from"], report["to"], e["code"], e["name"],
            *(fig[end][m] for m in METRICS for end in ("from", "to", "change")),
            *(v for i in INDICATORS for v in (*(_number(ind[i.name][end]) for end in ("from", "to", "change")),
                                              projected(ind[i.name]["projected"]))),
            e["events"]["from"], e["events"]["to"], e["events"]["period"],
            _number(comp["reporting_share"]), _number(comp["timely_share"]),
            *(places[g].get(e["code"], "") for g in GOALS), worse.get(e["code"], ""),
        ])
    return buffer.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def as_md(report: dict[str, Any]) -> str:
    lines = [f"# {title(report)}", "", _about(report), ""]
    lines += ["## Targets", "", f"| Scope | Target | {report['from']} | {report['to']} | Change | Projected |",
              "|---|---|---:|---:|---:|---|"]
    for e in report["scopes"].values():
        for i in INDICATORS:
            v = e["indicators"][i.name]
            lines.append(f"| {e['name']} | {i.title} | {share(v['from'])} | {share(v['to'])} | {points(v['change'])}"
                         f" | {projected(v['projected'])} |")
        lines.append(f"| {e['name']} | e-ID activations | | | {e['figures']['change'][EID]:+,} | |")
    lines += ["", "## Went backwards", "", *_backwards(report), ""]
    for goal in GOALS:
        lines += _ranking(report, goal)
    lines += ["## Figures", "", f"Each cell: the figure at {report['to']} (change since {report['from']}).", "",
              "| Code | Name | " + " | ".join(METRICS) + " | events (in the period) |",
              "|---|---|" + "---:|" * (len(METRICS) + 1)]
    for e in entries(report):
        cells = " | ".join(f"{e['figures']['to'][m]:,} ({e['figures']['change'][m]:+,})" for m in METRICS)
        lines.append(f"| {e['code']} | {e['name']} | {cells} | {e['events']['to']:,} ({e['events']['period']:+,}) |")
    return "\n".join(lines) + "\n"


def _about(report: dict[str, Any]) -> str:
    head = next(iter(report["scopes"].values()))
    comp, events = head["completeness"], head["events"]
    return (f"States (tasks, villages, systems) as they stood at the end of {report['from']} and of {report['to']} (UTC);"
            f" flows (e-ID, dossiers) summed over the period. Backed by {events['to']:,} distinct archived events,"
            f" {events['period']:,} of them in the period. Wards reporting in the period: {comp['reporting']}/{comp['wards']}"
            f" ({share(comp['reporting_share'])}), in its last {report['timely_hours']:g} h {comp['timely']}/{comp['wards']} ({share(comp['timely_share'])}).")


def _backwards(report: dict[str, Any]) -> list[str]:
    names = {i.name: i.title for i in INDICATORS}
    found = [f"- {b['name']} ({b['code']}): " + ", ".join(names[n] for n in b["indicators"]) for b in report["backwards"]]
    return found or [f"No {report['units_are'][:-1]} went backwards on any target."]


def _ranking(report: dict[str, Any], goal: str) -> list[str]:
    lines = [f"## Ranking: {TITLES[goal]}", "", "| # | Code | Name | Progress | Projected |", "|---:|---|---|---:|---|"]
    for n, row in enumerate(report["rankings"][goal], 1):
        unit = report["units"][row["code"]]
        when = projected(unit["indicators"][goal]["projected"]) if goal in unit["indicators"] else ""
        lines.append(f"| {n} | {row['code']} | {row['name']} | {goal_value(goal, row['value'])} | {when} |")
    return lines + [""]
