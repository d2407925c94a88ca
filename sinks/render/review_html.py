"""A review between two dates as a self-contained HTML page: inline CSS and SVG, no script, no network."""

from __future__ import annotations

from html import escape
from typing import Any

from schemas.i18n import DEFAULT, Texts
from schemas.metrics import INDICATORS, METRICS
from sinks.render.html import document
from sinks.render.review_text import entries, goal_title, goal_value, name, projected_text, title, unit
from sinks.render.svg import bar_chart, line_chart, signed_bars
from sinks.reports.review import EID


def page(report: dict[str, Any], lang: str = DEFAULT) -> str:
    tr = Texts(lang)
    heading = title(report, tr)
    body = [f"<h1>{escape(heading)}</h1>", f'<p class="note">{escape(_about(report, tr))}</p>']
    for i in INDICATORS:
        body.append(_target(report, i.name, i.target, tr))
    body.append(_bars(report, EID, tr))
    body.append(_bars(report, "reporting_share", tr, shares=True))
    body.append(_bars(report, "timely_share", tr, shares=True))
    body += [_backwards(report, tr), _projections(report, tr), _figures(report, tr)]
    return document(lang, heading, body)


def _about(report: dict[str, Any], tr: Texts) -> str:
    head = next(iter(report["scopes"].values()))
    return tr(
        "review.about_short",
        start=tr.day(report["from"]),
        end=tr.day(report["to"]),
        events=tr.number(head["events"]["to"]),
        period=tr.number(head["events"]["period"]),
    )


def _target(report: dict[str, Any], goal: str, target: float | None, tr: Texts) -> str:
    """One target: its trend over the period, the units ranked by progress, the headline scopes' projection."""
    trend = report["trend"]
    points = [(tr.day(d), v) for d, v in zip(trend["dates"], trend["indicators"][goal])]
    chart = line_chart(
        points,
        tr("review.trend", start=tr.day(report["from"]), end=tr.day(report["to"])),
        tr,
        1.0 if target is None else target,
    )
    items = [(f"{r['name']}", r["value"]) for r in report["rankings"][goal]]
    bars = signed_bars(items, tr("review.progress_per", unit=unit(report, tr)), tr.points)
    notes = "".join(
        "<li>"
        + tr.markup(
            "review.target_note",
            ("projected",),
            name=name(e, tr),
            start=tr.share(v["from"]),
            end=tr.share(v["to"]),
            change=tr.points(v["change"]),
            target=tr.share(v["projected"]["target"]),
            projected=projected_text(v["projected"], tr),
        )
        + "</li>"
        for e in report["scopes"].values()
        for v in [e["indicators"][goal]]
    )
    return (
        f'<h2 id="{goal}">{escape(goal_title(goal, tr))}</h2><div class="pair">{chart}{bars}</div>'
        f'<ul class="note">{notes}</ul>'
    )


def _bars(report: dict[str, Any], goal: str, tr: Texts, shares: bool = False) -> str:
    items = [(r["name"], r["value"]) for r in report["rankings"][goal]]
    ranking = tr("report.ranking")
    chart = bar_chart(items, ranking, tr) if shares else signed_bars(items, ranking, lambda v: goal_value(goal, v, tr))
    return f'<h2 id="{goal}">{escape(goal_title(goal, tr))}</h2><div class="pair">{chart}</div>'


def _backwards(report: dict[str, Any], tr: Texts) -> str:
    found = "".join(
        f"<li><b>{escape(b['name'])}</b> ({escape(b['code'])}): "
        + ", ".join(escape(tr.indicator(n)) for n in b["indicators"])
        + "</li>"
        for b in report["backwards"]
    )
    none = escape(tr("review.backwards_none", unit=unit(report, tr)))
    return f'<h2 id="backwards">{escape(tr("review.backwards"))}</h2>' + (
        f"<ul>{found}</ul>" if found else f"<p>{none}</p>"
    )


def _head(tr: Texts, columns: list[str]) -> str:
    return (
        f"<tr><th>{escape(tr('report.code'))}</th><th>{escape(tr('report.name'))}</th>"
        + "".join(f"<th>{escape(c)}</th>" for c in columns)
        + "</tr>"
    )


def _projections(report: dict[str, Any], tr: Texts) -> str:
    lines = [
        f'<h2 id="projections">{escape(tr("review.projections"))}</h2>'
        f"<table>{_head(tr, [tr.indicator(i.name) for i in INDICATORS])}"
    ]
    for e in entries(report, tr):
        cells = "".join(
            f"<td>{escape(projected_text(e['indicators'][i.name]['projected'], tr))}</td>" for i in INDICATORS
        )
        lines.append(f"<tr><td>{escape(e['code'])}</td><td>{escape(name(e, tr))}</td>{cells}</tr>")
    return "".join(lines) + "</table>"


def _figures(report: dict[str, Any], tr: Texts) -> str:
    note = tr("review.figures_at", start=tr.day(report["from"]), end=tr.day(report["to"]))
    lines = [
        f'<h2 id="figures">{escape(tr("report.figures"))}</h2><p class="note">{escape(note)}</p>'
        f"<table>{_head(tr, [*(tr.metric(m) for m in METRICS), tr('review.events_period')])}"
    ]
    for e in entries(report, tr):
        fig = e["figures"]
        cells = "".join(
            f'<td title="{escape(tr("report.was", value=tr.number(fig["from"][m])))}">'
            f'{tr.number(fig["to"][m])} ({tr.signed(fig["change"][m])})</td>'
            for m in METRICS
        )
        lines.append(
            f"<tr><td>{escape(e['code'])}</td><td>{escape(name(e, tr))}</td>{cells}"
            f"<td>{tr.number(e['events']['to'])} ({tr.signed(e['events']['period'])})</td></tr>"
        )
    return "".join(lines) + "</table>"
