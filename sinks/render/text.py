"""Every report as text for official documents: json (the data itself), csv (one row per scope), md (tables).

json and csv are machine data (stable keys, ISO dates, Vietnamese registry names, statuses as
sinks.reports.review writes them); md speaks the report's language (schemas/i18n.py). A report at a date
and a review between two dates each have their section; what the 2024 map adds is in sinks.render.unsplit.
"""

from __future__ import annotations

import csv
import io
import json

from schemas.i18n import DEFAULT, Texts
from schemas.metrics import INDICATORS, METRICS
from sinks.render import unsplit
from sinks.reports.model import (
    SCOPE_TITLES,
    AtDate,
    Completeness,
    Document,
    Indicators,
    NationalDocument,
    Projection,
    ReviewDocument,
    ReviewScope,
)
from sinks.reports.review import EID, GOALS


def as_json(doc: Document) -> str:
    return json.dumps(doc.data, ensure_ascii=False, indent=2) + "\n"


# --- a report at a date ----------------------------------------------------------------------------------

Row = tuple[str, str, dict[str, int], Indicators]


def rows(doc: AtDate, tr: Texts | None = None) -> list[Row]:
    """(code, name, figures, indicators) per scope, in document order; headline scopes named in tr's language."""
    if not isinstance(doc, NationalDocument):
        p = doc.data
        return [(p["code"], p["name"], p["figures"], p["indicators"])] + [
            (w, v["name"], v["figures"], {}) for w, v in p["wards"].items()
        ]
    r, ind = doc.data, doc.data["indicators"]
    name = tr.scope if tr else SCOPE_TITLES.__getitem__
    headline: list[Row] = [
        ("nation", name("nation"), r["nation"], ind["nation"]),
        ("urban", name("urban"), r["urban"], ind["urban"]),
        ("rural", name("rural"), r["rural"], ind["rural"]),
    ]
    return headline + [(p, r["names"][p], f, ind["provinces"][p]) for p, f in r["provinces"].items()]


def events(doc: AtDate) -> dict[str, int]:
    """scope -> distinct archived events behind its figures, for either report kind."""
    if not isinstance(doc, NationalDocument):
        p = doc.data
        return {p["code"]: p["events"], **{w: v["events"] for w, v in p["wards"].items()}}
    counts = doc.data["events"]
    return {"nation": counts["nation"], "urban": counts["urban"], "rural": counts["rural"], **counts["provinces"]}


def report_csv(doc: AtDate) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    changed = doc.data.get("changed_since_last_export", {})
    backing = events(doc)
    writer.writerow(["code", "name", *METRICS, *(i.name for i in INDICATORS), "events", "changed_since_last_export"])
    for code, name, figures, indicators in rows(doc):
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
    writer.writerows(unsplit.csv_rows(doc))
    return buffer.getvalue()


def report_title(doc: AtDate, tr: Texts) -> str:
    if isinstance(doc, NationalDocument):
        return tr("report.title_national")
    return tr("report.title_province", name=doc.data["name"], code=doc.data["code"])


def completeness(doc: AtDate) -> Completeness:
    """The headline scope's: the nation's, or the province's."""
    return doc.data["completeness"]["nation"] if isinstance(doc, NationalDocument) else doc.data["completeness"]


def completeness_values(doc: AtDate, tr: Texts) -> dict[str, str]:
    """The placeholders of report.completeness, formatted."""
    comp = completeness(doc)
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


def report_md(doc: AtDate, lang: str = DEFAULT) -> str:
    tr = Texts(lang)
    report = doc.data
    changed = report.get("changed_since_last_export", {})
    lines = [f"# {report_title(doc, tr)}", "", tr("report.as_of", moment=tr.moment(report["as_of"])), ""]
    last = report.get("last_export")
    if last:
        lines += [f"\\* {tr('report.changed_since', moment=tr.moment(last))}", ""]
    table = rows(doc, tr)
    lines += [
        f"## {tr('report.indicators')}",
        "",
        f"| {tr('report.scope')} | " + " | ".join(tr.indicator(i.name) for i in INDICATORS) + " |",
        "|---|" + "---|" * len(INDICATORS),
    ]
    for _, name, _, indicators in table:
        if indicators:
            lines.append(f"| {name} | " + " | ".join(tr.share(indicators.get(i.name)) for i in INDICATORS) + " |")
    backing = events(doc)
    lines += [
        "",
        tr("report.completeness", **completeness_values(doc, tr)),
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
    lines += unsplit.md_section(doc, tr)
    return "\n".join(lines) + "\n"


# --- a review between two dates --------------------------------------------------------------------------


def goal_title(goal: str, tr: Texts) -> str:
    """An indicator's title, or the title of a goal that is not an indicator (e-ID, completeness, timeliness)."""
    return tr(f"goal.{goal}") if goal in (EID, "reporting_share", "timely_share") else tr.indicator(goal)


def review_title(doc: ReviewDocument, tr: Texts) -> str:
    report = doc.data
    start, end = tr.day(report["from"]), tr.day(report["to"])
    if report["kind"] == "national":
        return tr("review.title_national", start=start, end=end)
    return tr("review.title_province", name=report["name"], code=report["code"], start=start, end=end)


def unit(doc: ReviewDocument, tr: Texts) -> str:
    """What the review ranks, in words: province or ward."""
    return tr(f"unit.{doc.data['units_are'][:-1]}")


def entries(doc: ReviewDocument, tr: Texts | None = None) -> list[ReviewScope]:
    """The headline scopes, then the units (provinces, or a province's wards), then on the 2024 map the units
    that cannot be split, in document order; those named in tr's language (md, html), else as csv names them."""
    return [
        *doc.data["scopes"].values(),
        *doc.data["units"].values(),
        *unsplit.review_entries(doc, tr or unsplit.CSV_TEXTS),
    ]


def name(entry: ReviewScope, tr: Texts) -> str:
    """A scope's name: nation, urban and rural in tr's language, units as the registry names them."""
    return tr.scope(entry["code"]) if entry["code"] in ("nation", "urban", "rural") else entry["name"]


def goal_value(goal: str, value: float | None, tr: Texts) -> str:
    if goal == EID:
        return tr.signed(value)
    return tr.share(value) if goal in ("reporting_share", "timely_share") else tr.points(value)


def projected(p: Projection) -> str:
    """The projected date (ISO) or the status: the csv's value."""
    return (p["date"] or "") if p["status"] == "projected" else p["status"]


def projected_text(p: Projection, tr: Texts) -> str:
    """The projected date or the status, in tr's language."""
    return tr.day(p["date"] or "") if p["status"] == "projected" else tr(f"status.{p['status'].replace(' ', '_')}")


def ranks(doc: ReviewDocument) -> dict[str, dict[str, int]]:
    """goal -> unit code -> its place (1 = most progress)."""
    return {g: {row["code"]: n for n, row in enumerate(ranked, 1)} for g, ranked in doc.data["rankings"].items()}


def review_csv(doc: ReviewDocument) -> str:
    report = doc.data
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    places = ranks(doc)
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
    for e in entries(doc):
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


def review_md(doc: ReviewDocument, lang: str = DEFAULT) -> str:
    tr = Texts(lang)
    report = doc.data
    start, end = tr.day(report["from"]), tr.day(report["to"])
    lines = [f"# {review_title(doc, tr)}", "", _about(doc, tr), ""]
    lines += [
        f"## {tr('review.targets')}",
        "",
        f"| {tr('report.scope')} | {tr('review.target')} | {start} | {end}"
        f" | {tr('review.change')} | {tr('review.projected')} |",
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
    lines += ["", f"## {tr('review.backwards')}", "", *_backwards(doc, tr), ""]
    for goal in GOALS:
        lines += _ranking(doc, goal, tr)
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
    for e in entries(doc, tr):
        fig = e["figures"]
        cells = " | ".join(f"{tr.number(fig['to'][m])} ({tr.signed(fig['change'][m])})" for m in METRICS)
        lines.append(
            f"| {e['code']} | {name(e, tr)} | {cells}"
            f" | {tr.number(e['events']['to'])} ({tr.signed(e['events']['period'])}) |"
        )
    return "\n".join(lines) + "\n"


def _about(doc: ReviewDocument, tr: Texts) -> str:
    report = doc.data
    head = next(iter(report["scopes"].values()))
    comp, events = head["completeness"], head["events"]
    return tr(
        "review.about",
        start=tr.day(report["from"]),
        end=tr.day(report["to"]),
        zone=report["timezone"],
        events=tr.number(events["to"]),
        period=tr.number(events["period"]),
        reporting=tr.number(comp["reporting"]),
        wards=tr.number(comp["wards"]),
        reporting_share=tr.share(comp["reporting_share"]),
        hours=tr.number(report["timely_hours"]),
        timely=tr.number(comp["timely"]),
        timely_share=tr.share(comp["timely_share"]),
    )


def _backwards(doc: ReviewDocument, tr: Texts) -> list[str]:
    found = [
        f"- {b['name']} ({b['code']}): " + ", ".join(tr.indicator(n) for n in b["indicators"])
        for b in doc.data["backwards"]
    ]
    return found or [tr("review.backwards_none", unit=unit(doc, tr))]


def _ranking(doc: ReviewDocument, goal: str, tr: Texts) -> list[str]:
    report = doc.data
    lines = [
        f"## {tr('review.ranking', goal=goal_title(goal, tr))}",
        "",
        f"| {tr('review.rank')} | {tr('report.code')} | {tr('report.name')}"
        f" | {tr('review.progress')} | {tr('review.projected')} |",
        "|---:|---|---|---:|---|",
    ]
    for n, row in enumerate(report["rankings"][goal], 1):
        entry = report["units"][row["code"]]
        when = projected_text(entry["indicators"][goal]["projected"], tr) if goal in entry["indicators"] else ""
        lines.append(f"| {n} | {row['code']} | {row['name']} | {goal_value(goal, row['value'], tr)} | {when} |")
    return lines + [""]
