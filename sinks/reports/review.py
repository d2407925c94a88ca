"""A review between two dates (`p06 report ... --from --to`): every format renders this one Review.

The two ends: states (tasks, villages, systems) as they stood at the end of --from and at the end of
--to (days of the country's calendar, P06_TIMEZONE, as --as-of gives them); flows (e-ID activations,
dossiers) up to the end of the day before --from and of --to, so a flow's change is what the days
--from..--to added. Indicators are computed at both ends from those figures. Progress on a target is
the change of its indicator towards the target (a target of 0, systems failing, is approached by
falling); e-ID activations have no indicator and are ranked by the activations of the period. At the
period's pace (the change per day), each target is projected to a date, or "not at this pace".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from schemas.calendar import calendar
from schemas.metrics import FLOW_METRICS, INDICATORS, METRICS, Indicator, indicator_values
from schemas.registry import registry
from schemas.settings import Settings
from sinks.reports.model import SCOPE_TITLES as HEADLINE
from sinks.reports.model import (
    Backwards,
    IndicatorChange,
    Projection,
    Ranked,
    Review,
    ReviewFrame,
    ReviewScope,
    Scope,
    Trend,
)
from sinks.reports.report import completeness, event_counts, moment
from sinks.warehouse import figures
from sinks.warehouse.reader import Reader

Figures = dict[str, int]
EID = "eid_activations"  # a target without an indicator: ranked by the period's activations
HORIZON_DAYS = 36_525  # a projected date further than a century away is reported as "not at this pace"


def check_period(start: date, end: date) -> None:
    if start > end:
        raise ValueError(f"--from {start} is after --to {end}: give the earlier date to --from")


def _flat(tree: dict[str, Any]) -> dict[str, Figures]:
    """from_rollups' nesting as one map: nation, urban, rural, province codes, ward codes."""
    return {**{s: tree[s] for s in HEADLINE}, **tree["provinces"], **tree["wards"]}


@dataclass(frozen=True)
class Period:
    """What one review reads from the warehouse, keyed by scope code."""

    start: date
    end: date
    opening: dict[str, Figures]  # states at the end of start, flows before start
    at_start: dict[str, Figures]  # everything at the end of start (the trend's first point)
    closing: dict[str, Figures]
    events: dict[str, dict[str, int]]  # scope -> {"from", "to", "period"}
    reported: dict[str, dict]  # localities with events in the period: their activity at the end
    silent_after_hours: float

    def ends(self, code: str) -> tuple[Figures, Figures]:
        return self.opening.get(code, figures.zero()), self.closing.get(code, figures.zero())


def load(reader: Reader, settings: Settings, start: date, end: date, province: str | None = None) -> Period:
    check_period(start, end)
    before_day = start - timedelta(days=1)
    at_start, before, closing = (_flat(figures.from_rollups(reader, d)) for d in (start, before_day, end))
    opening = {
        code: {m: (before if m in FLOW_METRICS else at_start).get(code, figures.zero())[m] for m in METRICS}
        for code in set(at_start) | set(before)
    }
    acts = [figures.activity(reader, d, province) for d in (start, before_day, end)]
    counts = [event_counts(a) for a in acts]
    events = {
        code: {
            "from": counts[0].get(code, 0),
            "to": counts[2].get(code, 0),
            "period": counts[2].get(code, 0) - counts[1].get(code, 0),
        }
        for code in counts[2]
    }
    reported = {loc: a for loc, a in acts[2].items() if a["events"] > acts[1].get(loc, {}).get("events", 0)}
    return Period(start, end, opening, at_start, closing, events, reported, settings.silent_after_hours)


def target(indicator: Indicator) -> float:
    """The share to reach: the indicator's own target, else all (100%)."""
    return 1.0 if indicator.target is None else indicator.target


def direction(indicator: Indicator) -> int:
    """+1 when the indicator must rise to its target, -1 when it must fall (a target of 0)."""
    return -1 if target(indicator) == 0.0 else 1


def days(indicator: Indicator, start: date, end: date) -> int:
    """Days the indicator's change took: end-of-day to end-of-day for states, whole days for flows."""
    return (end - start).days + (1 if indicator.denominator in FLOW_METRICS else 0)


def projection(indicator: Indicator, before: float | None, after: float | None, span: int, end: date) -> Projection:
    goal = target(indicator)
    if before is None or after is None:
        return {"target": goal, "status": "no data", "date": None}
    sign = direction(indicator)
    if after * sign >= goal * sign:
        return {"target": goal, "status": "reached", "date": None}
    pace = (after - before) * sign / span if span > 0 else 0.0
    needed = abs(goal - after) / pace if pace > 0 else math.inf
    if needed > HORIZON_DAYS:  # no progress, going back, or a pace that needs more than a century
        return {"target": goal, "status": "not at this pace", "date": None}
    due = end + timedelta(days=math.ceil(needed))
    return {"target": goal, "status": "projected", "date": due.isoformat()}


def _indicators(period: Period, opening: Figures, closing: Figures, provinces: int) -> dict[str, IndicatorChange]:
    before, after = indicator_values(opening, provinces), indicator_values(closing, provinces)
    out: dict[str, IndicatorChange] = {}
    for i in INDICATORS:
        b, a = before[i.name], after[i.name]
        out[i.name] = {
            "from": b,
            "to": a,
            "change": None if a is None or b is None else a - b,
            "projected": projection(i, b, a, days(i, period.start, period.end), period.end),
        }
    return out


def scope(period: Period, code: str, name: str, wards: list[str], provinces: int) -> ReviewScope:
    """One scope's review: figures at both ends and the change, indicators, events, completeness."""
    opening, closing = period.ends(code)
    return {
        "code": code,
        "name": name,
        "figures": {"from": opening, "to": closing, "change": {m: closing[m] - opening[m] for m in METRICS}},
        "indicators": _indicators(period, opening, closing, provinces),
        "events": period.events.get(code, {"from": 0, "to": 0, "period": 0}),
        "completeness": completeness(period.reported, wards, moment(period.end), period.silent_after_hours),
    }


def ward(period: Period, code: str) -> ReviewScope:
    """A ward's review, as a unit of its province's: its own scope and its area."""
    place = registry().localities[code]
    entry = scope(period, code, place.name, [code], 0)
    entry["area"] = place.area
    return entry


def progress(entry: ReviewScope, goal: str) -> float | None:
    """What ranks a scope on a goal: its indicator's move towards the target, the period's activations,
    or its reporting completeness or timeliness within the period."""
    if goal == EID:
        return entry["figures"]["change"][EID]
    if goal == "reporting_share":
        return entry["completeness"]["reporting_share"]
    if goal == "timely_share":
        return entry["completeness"]["timely_share"]
    change = entry["indicators"][goal]["change"]
    indicator = next(i for i in INDICATORS if i.name == goal)
    return None if change is None else change * direction(indicator)


GOALS = (*(i.name for i in INDICATORS), EID, "reporting_share", "timely_share")


def rankings(units: dict[str, ReviewScope]) -> dict[str, list[Ranked]]:
    """Per target, the units from most to least progress (no data last, then by code)."""
    out: dict[str, list[Ranked]] = {}
    for goal in GOALS:
        values = [(code, progress(entry, goal)) for code, entry in units.items()]
        values.sort(key=lambda cv: (cv[1] is None, -(cv[1] or 0), cv[0]))
        out[goal] = [{"code": c, "name": units[c]["name"], "value": v} for c, v in values]
    return out


def backwards(units: dict[str, ReviewScope]) -> list[Backwards]:
    """Units with an indicator worse at --to than at --from."""
    out: list[Backwards] = []
    for code, entry in units.items():
        worse = [i.name for i in INDICATORS if (progress(entry, i.name) or 0) < 0]
        if worse:
            out.append({"code": code, "name": entry["name"], "indicators": worse})
    return out


def trend(reader: Reader, period: Period, kind: str, code: str, key: str, provinces: int) -> Trend:
    """Each indicator at the end of --from, of every day with data inside the period, and of --to."""
    inside = [
        (d, f)
        for d, f in figures.daily_series(reader, (kind,)).get(code, [])
        if period.start.isoformat() < d < period.end.isoformat()
    ]
    points = [
        (period.start.isoformat(), period.at_start.get(key, figures.zero())),
        *inside,
        (period.end.isoformat(), period.closing.get(key, figures.zero())),
    ]
    values = [indicator_values(f, provinces=provinces) for _, f in points]
    return {"dates": [d for d, _ in points], "indicators": {i.name: [v[i.name] for v in values] for i in INDICATORS}}


def frame(period: Period, kind: Scope, code: str, name: str) -> ReviewFrame:
    """The keys every review starts with: what it is, its two ends (days, their last instants, and the
    instants the period covers: flows from the start of --from to the end of --to), its goals."""
    cal = calendar()
    start, end = cal.days(period.start, period.end)
    return {
        "kind": kind,
        "code": code,
        "name": name,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "from_at": cal.local(moment(period.start)).isoformat(),
        "to_at": cal.local(moment(period.end)).isoformat(),
        "timezone": cal.name,
        "covers": {"from": cal.local(start).isoformat(), "to": cal.local(end).isoformat()},
        "goals": list(GOALS),
        "timely_hours": period.silent_after_hours,
    }


def national(reader: Reader, settings: Settings, start: date, end: date) -> Review:
    reg = registry()
    period = load(reader, settings, start, end)
    wards = [w for p in reg.provinces for w in reg.wards_by_province[p]]
    by_area = {a: [w for w in wards if reg.localities[w].area == a] for a in ("urban", "rural")}
    scopes = {
        "nation": scope(period, "nation", HEADLINE["nation"], wards, len(reg.provinces)),
        **{a: scope(period, a, HEADLINE[a], by_area[a], 0) for a in by_area},
    }  # tasks: provinces only
    units = {p: scope(period, p, reg.localities[p].name, list(reg.wards_by_province[p]), 1) for p in reg.provinces}
    return {
        **frame(period, "national", "VN", HEADLINE["nation"]),
        "units_are": "provinces",
        "scopes": scopes,
        "units": units,
        "rankings": rankings(units),
        "backwards": backwards(units),
        "trend": trend(reader, period, "nation", "VN", "nation", len(reg.provinces)),
    }


def province(reader: Reader, settings: Settings, code: str, start: date, end: date) -> Review:
    reg = registry()
    place = reg.get(code)
    if place is None or place.level != "province":
        raise ValueError(f"{code!r} is not a province code (two digits, e.g. 01)")
    period = load(reader, settings, start, end, province=code)
    wards = list(reg.wards_by_province[code])
    units = {w: ward(period, w) for w in wards}
    return {
        **frame(period, "province", code, place.name),
        "units_are": "wards",
        "scopes": {code: scope(period, code, place.name, wards, 1)},
        "units": units,
        "rankings": rankings(units),
        "backwards": backwards(units),
        "trend": trend(reader, period, "province", code, code, 1),
    }
