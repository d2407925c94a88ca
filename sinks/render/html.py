"""The self-contained HTML report: inline CSS and SVG only, so it opens offline and prints as is."""

from __future__ import annotations

from html import escape
from typing import Any

from schemas.i18n import DEFAULT, Texts
from schemas.metrics import INDICATORS, METRICS, indicator_values
from sinks.render import unsplit
from sinks.render.svg import bar_chart, line_chart
from sinks.render.text import completeness_values, events, rows, title

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


def page(report: dict[str, Any], lang: str = DEFAULT) -> str:
    tr = Texts(lang)
    national = "code" not in report
    heading = title(report, tr)
    body = [
        f"<h1>{escape(heading)}</h1>",
        f'<p class="note">{escape(tr("report.as_of", moment=tr.moment(report["as_of"])))}</p>',
        _completeness(report, tr),
    ]
    for indicator in INDICATORS:
        body.append(f'<h2 id="{indicator.name}">{escape(tr.indicator(indicator.name))}</h2><div class="pair">')
        points = [
            (tr.day(d), v) for d, v in zip(report["trend"]["dates"], report["trend"]["indicators"][indicator.name])
        ]
        body.append(line_chart(points, tr("report.trend"), tr, indicator.target))
        body.append(
            bar_chart(_ranking(report, indicator.name), tr("report.ranking") if national else tr("report.wards"), tr)
        )
        body.append("</div>")
    if national:
        body.append(_gap(report, tr))
    body.append(_table(report, tr))
    body.append(unsplit.html_section(report, tr))
    return document(lang, heading, body)


def _ranking(report: dict[str, Any], name: str) -> list[tuple[str, float | None]]:
    if "code" in report:
        items = [(f"{w['name']}", indicator_values(w["figures"])[name]) for w in report["wards"].values()]
        items = [i for i in items if i[1] is not None]
    else:
        items = [(report["names"][p], v[name]) for p, v in report["indicators"]["provinces"].items()]
    return sorted(items, key=lambda item: (item[1] is None, -(item[1] or 0), item[0]))


def _gap(report: dict[str, Any], tr: Texts) -> str:
    ind = report["indicators"]
    items = []
    for indicator in INDICATORS:
        short = tr(f"indicator_short.{indicator.name}")
        items += [
            (tr("report.gap_urban", indicator=short), ind["urban"][indicator.name]),
            (tr("report.gap_rural", indicator=short), ind["rural"][indicator.name]),
        ]
    chart = bar_chart(items, tr("report.gap"), tr, colors=("#1f6feb", "#bf8700"))
    return f'<h2 id="urban-rural">{escape(tr("report.gap"))}</h2><div class="pair">{chart}</div>'


def _completeness(report: dict[str, Any], tr: Texts) -> str:
    """Completeness and the events behind the figures, the counts in bold."""
    backing = tr.number(events(report)[rows(report)[0][0]])
    return (
        f'<p>{tr.markup("report.completeness", ("reporting", "wards"), **completeness_values(report, tr))}'
        f' {tr.markup("report.backed_by", ("events",), events=backing)}</p>'
    )


def _table(report: dict[str, Any], tr: Texts) -> str:
    changed = report.get("changed_since_last_export", {})
    head = "".join(f"<th>{escape(tr.metric(m))}</th>" for m in METRICS)
    head += f'<th title="{escape(tr("report.events_note"))}">{escape(tr("report.events"))}</th>'
    backing = events(report)
    last = tr.moment(report["last_export"]) if report.get("last_export") else tr("report.no_export")
    lines = [
        f'<h2 id="figures">{escape(tr("report.figures"))}</h2>'
        f'<p class="note">{escape(tr("report.highlighted", moment=last))}</p>',
        f"<table><tr><th>{escape(tr('report.code'))}</th><th>{escape(tr('report.name'))}</th>{head}</tr>",
    ]
    for code, name, figures, _ in rows(report, tr):
        cells = "".join(
            f'<td class="changed" title="{escape(tr("report.was", value=tr.number(changed[code][m])))}">{tr.number(figures[m])}</td>'
            if m in changed.get(code, {})
            else f"<td>{tr.number(figures[m])}</td>"
            for m in METRICS
        )
        lines.append(
            f"<tr><td>{escape(code)}</td><td>{escape(name)}</td>{cells}<td>{tr.number(backing[code])}</td></tr>"
        )
    return "".join(lines) + "</table>"
