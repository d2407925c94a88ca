"""The self-contained HTML report: inline CSS and SVG only, so it opens offline and prints as is."""
from __future__ import annotations

from html import escape
from typing import Any

from schemas.metrics import INDICATORS, METRICS, indicator_values

from . import unsplit
from .render import SCOPE_TITLES, events, rows, share
from .svg import bar_chart, line_chart

CSS = """
body{font-family:system-ui,'Segoe UI',Roboto,Arial,sans-serif;margin:24px;color:#1b1f24;max-width:1200px}
h1{font-size:22px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.pair{display:flex;flex-wrap:wrap;gap:16px} table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right} td:nth-child(2),th:nth-child(2){text-align:left}
.changed{background:#fff3cd} .note{color:#555;font-size:12px}
"""


def page(report: dict[str, Any]) -> str:
    national = "code" not in report
    title = "Báo cáo toàn quốc" if national else f"Báo cáo {report['name']} ({report['code']})"
    body = [f"<h1>{escape(title)}</h1>", f'<p class="note">Số liệu tính đến {escape(report["as_of"])}</p>',
            _completeness(report)]
    for indicator in INDICATORS:
        body.append(f'<h2 id="{indicator.name}">{escape(indicator.title)}</h2><div class="pair">')
        points = list(zip(report["trend"]["dates"], report["trend"]["indicators"][indicator.name]))
        body.append(line_chart(points, "Trend (end of each day)", indicator.target))
        body.append(bar_chart(_ranking(report, indicator.name), "Ranking" if national else "Wards"))
        body.append("</div>")
    if national:
        body.append(_gap(report))
    body.append(_table(report))
    body.append(unsplit.html_section(report))
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")


def _ranking(report: dict[str, Any], name: str) -> list[tuple[str, float | None]]:
    if "code" in report:
        items = [(f"{w['name']}", indicator_values(w["figures"])[name]) for w in report["wards"].values()]
        items = [i for i in items if i[1] is not None]
    else:
        items = [(report["names"][p], v[name]) for p, v in report["indicators"]["provinces"].items()]
    return sorted(items, key=lambda item: (item[1] is None, -(item[1] or 0), item[0]))


def _gap(report: dict[str, Any]) -> str:
    ind = report["indicators"]
    items = []
    for indicator in INDICATORS:
        items += [(f"{indicator.title[:18]} · urban", ind["urban"][indicator.name]),
                  (f"{indicator.title[:18]} · rural", ind["rural"][indicator.name])]
    chart = bar_chart(items, "Urban / rural gap", colors=("#1f6feb", "#bf8700"))
    return f'<h2 id="urban-rural">Urban / rural gap</h2><div class="pair">{chart}</div>'


def _completeness(report: dict[str, Any]) -> str:
    comp = report["completeness"]
    comp = comp.get("nation", comp)
    return (f'<p>Reporting completeness: <b>{comp["reporting"]}/{comp["wards"]}</b> wards '
            f'({share(comp["reporting_share"])}); timely {comp["timely"]}/{comp["wards"]} ({share(comp["timely_share"])}); '
            f'backed by <b>{events(report)[rows(report)[0][0]]:,}</b> distinct archived events</p>')


def _table(report: dict[str, Any]) -> str:
    changed = report.get("changed_since_last_export", {})
    head = "".join(f"<th>{escape(m)}</th>" for m in METRICS) + '<th title="distinct archived events behind the figures">events</th>'
    backing = events(report)
    lines = [f'<h2 id="figures">Figures</h2><p class="note">Highlighted: changed since the last export ({escape(str(report.get("last_export")))})</p>',
             f"<table><tr><th>Code</th><th>Name</th>{head}</tr>"]
    for code, name, figures, _ in rows(report):
        cells = "".join(
            f'<td class="changed" title="was {changed[code][m]}">{figures[m]:,}</td>' if m in changed.get(code, {})
            else f"<td>{figures[m]:,}</td>" for m in METRICS)
        lines.append(f"<tr><td>{escape(code)}</td><td>{escape(SCOPE_TITLES.get(name, name))}</td>{cells}<td>{backing[code]:,}</td></tr>")
    return "".join(lines) + "</table>"
