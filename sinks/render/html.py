"""Every report as a self-contained HTML page: inline CSS and SVG only (sinks.render.svg), no script, no
network, so it opens offline and prints as is. A report at a date and a review between two dates each have
their section; what the 2024 map adds is in sinks.render.unsplit."""

from __future__ import annotations

from html import escape

from schemas.i18n import DEFAULT, Texts
from schemas.metrics import INDICATORS, METRICS, indicator_values
from sinks.render import unsplit
from sinks.render.svg import bar_chart, line_chart, signed_bars
from sinks.render.text import (
    completeness_values,
    entries,
    events,
    goal_title,
    goal_value,
    name,
    projected_text,
    report_title,
    review_title,
    rows,
    unit,
)
from sinks.reports.model import AtDate, NationalDocument, ReviewDocument
from sinks.reports.review import EID

CSS = """
body{font-family:system-ui,'Segoe UI',Roboto,Arial,sans-serif;margin:24px;color:#1b1f24;max-width:1200px}
h1{font-size:22px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.pair{display:flex;flex-wrap:wrap;gap:16px} table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right} td:nth-child(2),th:nth-child(2){text-align:left}
.changed{background:#fff3cd} .note{color:#555;font-size:12px}
"""


def document(lang: str, heading: str, body: list[str]) -> str:
    """The page around a report's body: its language, title and inline style."""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(heading)}</title>'
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


# --- a report at a date ----------------------------------------------------------------------------------


def report_page(doc: AtDate, lang: str = DEFAULT) -> str:
    tr = Texts(lang)
    report = doc.data
    national = isinstance(doc, NationalDocument)
    heading = report_title(doc, tr)
    body = [
        f"<h1>{escape(heading)}</h1>",
        f'<p class="note">{escape(tr("report.as_of", moment=tr.moment(report["as_of"])))}</p>',
        _completeness(doc, tr),
    ]
    for indicator in INDICATORS:
        body.append(f'<h2 id="{indicator.name}">{escape(tr.indicator(indicator.name))}</h2><div class="pair">')
        points = [
            (tr.day(d), v) for d, v in zip(report["trend"]["dates"], report["trend"]["indicators"][indicator.name])
        ]
        body.append(line_chart(points, tr("report.trend"), tr, indicator.target))
        body.append(
            bar_chart(_ranking(doc, indicator.name), tr("report.ranking") if national else tr("report.wards"), tr)
        )
        body.append("</div>")
    if isinstance(doc, NationalDocument):
        body.append(_gap(doc, tr))
    body.append(_table(doc, tr))
    body.append(unsplit.html_section(doc, tr))
    return document(lang, heading, body)


def _ranking(doc: AtDate, name: str) -> list[tuple[str, float | None]]:
    if isinstance(doc, NationalDocument):
        r = doc.data
        items = [(r["names"][p], v[name]) for p, v in r["indicators"]["provinces"].items()]
    else:
        items = [(f"{w['name']}", indicator_values(w["figures"])[name]) for w in doc.data["wards"].values()]
        items = [i for i in items if i[1] is not None]
    return sorted(items, key=lambda item: (item[1] is None, -(item[1] or 0), item[0]))


def _gap(doc: NationalDocument, tr: Texts) -> str:
    ind = doc.data["indicators"]
    items = []
    for indicator in INDICATORS:
        short = tr(f"indicator_short.{indicator.name}")
        items += [
            (tr("report.gap_urban", indicator=short), ind["urban"][indicator.name]),
            (tr("report.gap_rural", indicator=short), ind["rural"][indicator.name]),
        ]
    chart = bar_chart(items, tr("report.gap"), tr, colors=("#1f6feb", "#bf8700"))
    return f'<h2 id="urban-rural">{escape(tr("report.gap"))}</h2><div class="pair">{chart}</div>'


def _completeness(doc: AtDate, tr: Texts) -> str:
    """Completeness and the events behind the figures, the counts in bold."""
    backing = tr.number(events(doc)[rows(doc)[0][0]])
    return (
        f'<p>{tr.markup("report.completeness", ("reporting", "wards"), **completeness_values(doc, tr))}'
        f' {tr.markup("report.backed_by", ("events",), events=backing)}</p>'
    )


def _table(doc: AtDate, tr: Texts) -> str:
    report = doc.data
    changed = report.get("changed_since_last_export", {})
    head = "".join(f"<th>{escape(tr.metric(m))}</th>" for m in METRICS)
    head += f'<th title="{escape(tr("report.events_note"))}">{escape(tr("report.events"))}</th>'
    backing = events(doc)
    exported = report.get("last_export")
    last = tr.moment(exported) if exported else tr("report.no_export")
    lines = [
        f'<h2 id="figures">{escape(tr("report.figures"))}</h2>'
        f'<p class="note">{escape(tr("report.highlighted", moment=last))}</p>',
        f"<table><tr><th>{escape(tr('report.code'))}</th><th>{escape(tr('report.name'))}</th>{head}</tr>",
    ]
    for code, title, figures, _ in rows(doc, tr):
        cells = "".join(
            f'<td class="changed" title="{escape(tr("report.was", value=tr.number(changed[code][m])))}">'
            f"{tr.number(figures[m])}</td>"
            if m in changed.get(code, {})
            else f"<td>{tr.number(figures[m])}</td>"
            for m in METRICS
        )
        lines.append(
            f"<tr><td>{escape(code)}</td><td>{escape(title)}</td>{cells}<td>{tr.number(backing[code])}</td></tr>"
        )
    return "".join(lines) + "</table>"


# --- a review between two dates --------------------------------------------------------------------------


def review_page(doc: ReviewDocument, lang: str = DEFAULT) -> str:
    tr = Texts(lang)
    heading = review_title(doc, tr)
    body = [f"<h1>{escape(heading)}</h1>", f'<p class="note">{escape(_about(doc, tr))}</p>']
    for i in INDICATORS:
        body.append(_target(doc, i.name, i.target, tr))
    body.append(_bars(doc, EID, tr))
    body.append(_bars(doc, "reporting_share", tr, shares=True))
    body.append(_bars(doc, "timely_share", tr, shares=True))
    body += [_backwards(doc, tr), _projections(doc, tr), _figures(doc, tr)]
    return document(lang, heading, body)


def _about(doc: ReviewDocument, tr: Texts) -> str:
    report = doc.data
    head = next(iter(report["scopes"].values()))
    return tr(
        "review.about_short",
        start=tr.day(report["from"]),
        end=tr.day(report["to"]),
        zone=report["timezone"],
        events=tr.number(head["events"]["to"]),
        period=tr.number(head["events"]["period"]),
    )


def _target(doc: ReviewDocument, goal: str, target: float | None, tr: Texts) -> str:
    """One target: its trend over the period, the units ranked by progress, the headline scopes' projection."""
    report = doc.data
    trend = report["trend"]
    points = [(tr.day(d), v) for d, v in zip(trend["dates"], trend["indicators"][goal])]
    chart = line_chart(
        points,
        tr("review.trend", start=tr.day(report["from"]), end=tr.day(report["to"])),
        tr,
        1.0 if target is None else target,
    )
    items = [(f"{r['name']}", r["value"]) for r in report["rankings"][goal]]
    bars = signed_bars(items, tr("review.progress_per", unit=unit(doc, tr)), tr.points)
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


def _bars(doc: ReviewDocument, goal: str, tr: Texts, shares: bool = False) -> str:
    items = [(r["name"], r["value"]) for r in doc.data["rankings"][goal]]
    ranking = tr("report.ranking")
    chart = bar_chart(items, ranking, tr) if shares else signed_bars(items, ranking, lambda v: goal_value(goal, v, tr))
    return f'<h2 id="{goal}">{escape(goal_title(goal, tr))}</h2><div class="pair">{chart}</div>'


def _backwards(doc: ReviewDocument, tr: Texts) -> str:
    found = "".join(
        f"<li><b>{escape(b['name'])}</b> ({escape(b['code'])}): "
        + ", ".join(escape(tr.indicator(n)) for n in b["indicators"])
        + "</li>"
        for b in doc.data["backwards"]
    )
    none = escape(tr("review.backwards_none", unit=unit(doc, tr)))
    return f'<h2 id="backwards">{escape(tr("review.backwards"))}</h2>' + (
        f"<ul>{found}</ul>" if found else f"<p>{none}</p>"
    )


def _head(tr: Texts, columns: list[str]) -> str:
    return (
        f"<tr><th>{escape(tr('report.code'))}</th><th>{escape(tr('report.name'))}</th>"
        + "".join(f"<th>{escape(c)}</th>" for c in columns)
        + "</tr>"
    )


def _projections(doc: ReviewDocument, tr: Texts) -> str:
    lines = [
        f'<h2 id="projections">{escape(tr("review.projections"))}</h2>'
        f"<table>{_head(tr, [tr.indicator(i.name) for i in INDICATORS])}"
    ]
    for e in entries(doc, tr):
        cells = "".join(
            f"<td>{escape(projected_text(e['indicators'][i.name]['projected'], tr))}</td>" for i in INDICATORS
        )
        lines.append(f"<tr><td>{escape(e['code'])}</td><td>{escape(name(e, tr))}</td>{cells}</tr>")
    return "".join(lines) + "</table>"


def _figures(doc: ReviewDocument, tr: Texts) -> str:
    note = tr("review.figures_at", start=tr.day(doc.data["from"]), end=tr.day(doc.data["to"]))
    lines = [
        f'<h2 id="figures">{escape(tr("report.figures"))}</h2><p class="note">{escape(note)}</p>'
        f"<table>{_head(tr, [*(tr.metric(m) for m in METRICS), tr('review.events_period')])}"
    ]
    for e in entries(doc, tr):
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
