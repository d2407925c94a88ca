"""A review between two dates as a self-contained HTML page: inline CSS and SVG, no script, no network."""
from __future__ import annotations

from html import escape
from typing import Any

from schemas.metrics import INDICATORS, METRICS

from .html import CSS
from .render import share
from .review import EID
from .review_render import TITLES, entries, goal_value, points, projected, title
from .svg import bar_chart, line_chart, signed_bars


def page(report: dict[str, Any]) -> str:
    heading = title(report)
    body = [f"<h1>{escape(heading)}</h1>", f'<p class="note">{escape(_about(report))}</p>']
    for i in INDICATORS:
        body.append(_target(report, i.name, i.target))
    body.append(_bars(report, EID, lambda v: goal_value(EID, v)))
    body.append(_bars(report, "reporting_share", share, shares=True))
    body.append(_bars(report, "timely_share", share, shares=True))
    body += [_backwards(report), _projections(report), _figures(report)]
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{escape(heading)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")


def _about(report: dict[str, Any]) -> str:
    head = next(iter(report["scopes"].values()))
    return (f"States as they stood at the end of {report['from']} and of {report['to']} (UTC); flows summed over the"
            f" period. Backed by {head['events']['to']:,} distinct archived events, {head['events']['period']:,} in the period.")


def _target(report: dict[str, Any], name: str, target: float | None) -> str:
    """One target: its trend over the period, the units ranked by progress, the headline scopes' projection."""
    trend = report["trend"]
    chart = line_chart(list(zip(trend["dates"], trend["indicators"][name])), f"Trend {report['from']} → {report['to']}",
                       1.0 if target is None else target)
    items = [(f"{r['name']}", r["value"]) for r in report["rankings"][name]]
    bars = signed_bars(items, f"Progress per {report['units_are'][:-1]} (points)", points)
    notes = "".join(
        f"<li>{escape(e['name'])}: {share(v['from'])} → {share(v['to'])} ({points(v['change'])}); "
        f"target {share(v['projected']['target'])}: <b>{escape(projected(v['projected']))}</b></li>"
        for e in report["scopes"].values() for v in [e["indicators"][name]])
    return (f'<h2 id="{name}">{escape(TITLES[name])}</h2><div class="pair">{chart}{bars}</div>'
            f'<ul class="note">{notes}</ul>')


def _bars(report: dict[str, Any], goal: str, label, shares: bool = False) -> str:
    items = [(r["name"], r["value"]) for r in report["rankings"][goal]]
    chart = bar_chart(items, "Ranking") if shares else signed_bars(items, "Ranking", label)
    return f'<h2 id="{goal}">{escape(TITLES[goal])}</h2><div class="pair">{chart}</div>'


def _backwards(report: dict[str, Any]) -> str:
    found = "".join(f"<li><b>{escape(b['name'])}</b> ({escape(b['code'])}): "
                    + ", ".join(escape(TITLES[n]) for n in b["indicators"]) + "</li>" for b in report["backwards"])
    what = report["units_are"]
    return '<h2 id="backwards">Went backwards</h2>' + (f"<ul>{found}</ul>" if found else f"<p>No {what[:-1]} went backwards.</p>")


def _projections(report: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(i.title)}</th>" for i in INDICATORS)
    lines = [f'<h2 id="projections">When each target is reached at the pace of the period</h2>'
             f"<table><tr><th>Code</th><th>Name</th>{head}</tr>"]
    for e in entries(report):
        cells = "".join(f"<td>{escape(projected(e['indicators'][i.name]['projected']))}</td>" for i in INDICATORS)
        lines.append(f"<tr><td>{escape(e['code'])}</td><td>{escape(e['name'])}</td>{cells}</tr>")
    return "".join(lines) + "</table>"


def _figures(report: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(m)}</th>" for m in METRICS)
    lines = [f'<h2 id="figures">Figures</h2><p class="note">At {escape(report["to"])}, with the change since'
             f' {escape(report["from"])}</p><table><tr><th>Code</th><th>Name</th>{head}<th>events</th></tr>']
    for e in entries(report):
        fig = e["figures"]
        cells = "".join(f'<td title="was {fig["from"][m]:,}">{fig["to"][m]:,} ({fig["change"][m]:+,})</td>' for m in METRICS)
        lines.append(f"<tr><td>{escape(e['code'])}</td><td>{escape(e['name'])}</td>{cells}"
                     f"<td>{e['events']['to']:,} ({e['events']['period']:+,})</td></tr>")
    return "".join(lines) + "</table>"
