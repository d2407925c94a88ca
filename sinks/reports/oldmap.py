"""Reports on the 2024 map (63 provinces, before the reform of 1 July 2025), from the 2025 warehouse.

Every figure is counted under a 2025 unit. An old province's figure is the sum of the 2025 wards (and
their villages) that lie wholly within it, plus the province-level figures of a 2025 province made of
that old province alone. A 2025 unit that straddles several old provinces (a ward made of old wards
of several provinces, the province-level figures of a merged province) cannot be split without a
guess: its figures are listed apart, under `cannot_split`, with the old provinces it straddles.
So the nation (and urban, rural) is the same on both maps, and each old province is exact.

The shape is the 2025 report's (sinks/reports/report.py), with `map`, `became`, and `cannot_split` added.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any

from schemas.maps import OLD, OldUnit, old_map
from schemas.metrics import INDICATORS, METRICS, indicator_values
from schemas.registry import registry
from schemas.settings import Settings
from sinks.reports import report, review
from sinks.reports.model import NationalReport, ProvinceReport, Review, ReviewScope, Straddling, Trend
from sinks.warehouse import figures
from sinks.warehouse.reader import Reader

Figures = dict[str, int]


def _add(target: Figures, more: Figures) -> None:
    for m in METRICS:
        target[m] += more[m]


def _province_self(figs: dict[str, Any]) -> dict[str, Figures]:
    """The figures each 2025 province reported itself (not through its wards): its total less its wards'."""
    reg, out = registry(), {}
    for code, total in figs["provinces"].items():
        own = dict(total)
        for ward in reg.wards_by_province[code]:
            for m, v in figs["wards"].get(ward, {}).items():
                own[m] -= v
        out[code] = own
    return out


@lru_cache(maxsize=1)
def placement() -> dict[str, tuple[str, ...]]:
    """Every 2025 ward and province -> the 2024 provinces it lies in (one: placed; several: cannot be split)."""
    reg, old = registry(), old_map()
    return {code: old.old_provinces_of(code) for code in reg.localities}


def _straddling(code: str, olds: tuple[str, ...], figs: Figures, events: int) -> Straddling:
    place, old = registry().localities[code], old_map()
    return {
        "code": code,
        "name": place.name,
        "level": place.level,
        "old_provinces": {p: old.units[p].name for p in olds},
        "figures": figs,
        "events": events,
    }


def _split(
    figs: dict[str, Any], selves: dict[str, Figures], act: dict[str, dict]
) -> tuple[dict[str, Figures], dict[str, int], list[Straddling]]:
    """Per old province: figures and events of what lies in it; and the units that cannot be split."""
    where = placement()
    provinces: dict[str, Figures] = defaultdict(figures.zero)
    events: dict[str, int] = defaultdict(int)
    apart: list[Straddling] = []
    for code, own in [*figs["wards"].items(), *selves.items()]:
        olds, seen = where[code], act.get(code, {}).get("events", 0)
        if len(olds) == 1:
            _add(provinces[olds[0]], own)
            events[olds[0]] += seen
        elif any(own.values()) or seen:
            apart.append(_straddling(code, olds, own, seen))
    return provinces, events, sorted(apart, key=lambda u: (u["level"] != "province", u["code"]))


def _placed_wards() -> dict[str, list[str]]:
    """Old province -> the 2025 wards that lie wholly within it."""
    out: dict[str, list[str]] = defaultdict(list)
    for code, olds in placement().items():
        if len(olds) == 1 and registry().localities[code].level == "ward":
            out[olds[0]].append(code)
    return out


def national(reader: Reader, settings: Settings, as_of: date | None = None) -> NationalReport:
    current = report.national(reader, settings, as_of)  # nation, urban, rural, trend: the same on both maps
    old = old_map()
    figs = figures.from_rollups(reader, as_of)
    act = figures.activity(reader, as_of)
    provinces, events, apart = _split(figs, _province_self(figs), act)
    wards = _placed_wards()
    at = report.moment(as_of)
    own = {p: provinces.get(p, figures.zero()) for p in old.provinces}
    return {
        **current,
        "map": OLD,
        "provinces": own,
        "names": {p: old.units[p].name for p in old.provinces},
        "became": {p: list(old.units[p].became) for p in old.provinces},
        "indicators": {**current["indicators"], "provinces": {p: indicator_values(f) for p, f in own.items()}},
        "events": {
            "nation": current["events"]["nation"],
            "urban": current["events"]["urban"],
            "rural": current["events"]["rural"],
            "provinces": {p: events.get(p, 0) for p in old.provinces},
        },
        "completeness": {
            "nation": current["completeness"]["nation"],
            "provinces": {
                p: report.completeness(act, wards.get(p, []), at, settings.silent_after_hours) for p in old.provinces
            },
        },
        "cannot_split": apart,
    }


def _old_province(code: str) -> OldUnit:
    """The 2024 map's province of this code, or a ValueError that says how to find one."""
    unit = old_map().get(code)
    if unit is None or unit.level != "province":
        raise ValueError(
            f"{code!r} is not a province code of the 2024 map (two digits, e.g. 01); "
            f"`p06 registry show CODE --map 2024` tells what a code was"
        )
    return unit


def province(reader: Reader, settings: Settings, code: str, as_of: date | None = None) -> ProvinceReport:
    unit = _old_province(code)
    reg = registry()
    figs = figures.from_rollups(reader, as_of)
    act = figures.activity(reader, as_of)
    provinces, events, apart = _split(figs, _province_self(figs), act)
    wards = sorted(_placed_wards().get(code, []))
    own = provinces.get(code, figures.zero())
    at = report.moment(as_of)
    return {
        "map": OLD,
        **report.stamp(at, as_of),
        "code": code,
        "name": unit.name,
        "became": list(unit.became),
        "figures": own,
        "indicators": indicator_values(own),
        "events": events.get(code, 0),
        "completeness": report.completeness(act, wards, at, settings.silent_after_hours),
        "trend": _trend(
            reader,
            wards,
            [p for p, olds in placement().items() if olds == (code,) and reg.localities[p].level == "province"],
            as_of,
        ),
        "wards": report.ward_rows(figs, act, wards),
        "cannot_split": [u for u in apart if code in u["old_provinces"]],
    }


def _trend(reader: Reader, wards: list[str], selves: list[str], as_of: date | None) -> Trend:
    """The old province's indicators at the end of every day with data: its wards' and its own rollups summed."""
    series = figures.daily_series(reader, ("ward", "province_self"))
    mine = [series.get(code, []) for code in (*wards, *selves)]
    days = sorted({d for s in mine for d, _ in s if as_of is None or d <= as_of.isoformat()})
    values = []
    for day in days:  # each code's cumulative figures carried forward to the day
        total = figures.zero()
        for s in mine:
            last = next((f for d, f in reversed(s) if d <= day), None)
            if last:
                _add(total, last)
        values.append(indicator_values(total))
    return {"dates": days, "indicators": {i.name: [v[i.name] for v in values] for i in INDICATORS}}


# --- a review between two dates on the 2024 map (`--from/--to --map 2024`) ---------------------------


def _old_flat(flat: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """A review's flat values per scope (nation, urban, rural, 2025 provinces and wards; figures, or events
    {from, to, period}) on the 2024 map: nation, urban and rural as they are, each old province, and each
    straddling unit under '2025:CODE'. A province's own values are its total less its wards'."""
    reg, where = registry(), placement()
    out: dict[str, dict[str, int]] = {s: flat[s] for s in ("nation", "urban", "rural") if s in flat}

    def put(key: str, values: dict[str, int], sign: int = 1) -> None:
        target = out.setdefault(key, dict.fromkeys(values, 0))
        for k, v in values.items():
            target[k] += sign * v

    for code, values in flat.items():
        place = reg.get(code)
        if place is None:
            continue
        olds = where[code]
        put(olds[0] if len(olds) == 1 else f"2025:{code}", values)
        if place.level == "ward":  # out of its province's total, which holds its wards too
            olds = where[place.province]
            put(olds[0] if len(olds) == 1 else f"2025:{place.province}", values, -1)
    return out


def _old_period(period: review.Period) -> review.Period:
    return replace(
        period,
        opening=_old_flat(period.opening),
        at_start=_old_flat(period.at_start),
        closing=_old_flat(period.closing),
        events=_old_flat(period.events),
    )


def _apart(period: review.Period, old_codes: set[str] | None = None) -> list[ReviewScope]:
    """The straddling units with figures or events at either end: the review's 'cannot be split'."""
    where, reg, old = placement(), registry(), old_map()
    out: list[ReviewScope] = []
    for key in sorted({k for k in (*period.opening, *period.closing, *period.events) if k.startswith("2025:")}):
        code = key.removeprefix("2025:")
        olds = where[code]
        if old_codes is not None and not old_codes & set(olds):
            continue
        place = reg.localities[code]
        ends = [period.opening.get(key, {}), period.closing.get(key, {}), period.events.get(key, {})]
        if not any(v for values in ends for v in values.values()):
            continue  # a merged province whose wards reported, but not itself
        entry = review.scope(
            period, key, place.name, [code] if place.level == "ward" else [], 1 if place.level == "province" else 0
        )
        out.append({**entry, "code": code, "level": place.level, "old_provinces": {p: old.units[p].name for p in olds}})
    return sorted(out, key=lambda u: (u["level"] != "province", u["code"]))


def review_national(reader: Reader, settings: Settings, start: date, end: date) -> Review:
    current = review.national(reader, settings, start, end)  # nation, urban, rural and the trend: the same
    period = _old_period(review.load(reader, settings, start, end))
    old, placed = old_map(), _placed_wards()
    units = {p: review.scope(period, p, old.units[p].name, placed.get(p, []), 1) for p in old.provinces}
    return {
        **current,
        "map": OLD,
        "units": units,
        "rankings": review.rankings(units),
        "backwards": review.backwards(units),
        "cannot_split": _apart(period),
    }


def review_province(reader: Reader, settings: Settings, code: str, start: date, end: date) -> Review:
    unit = _old_province(code)
    reg = registry()
    base = review.load(reader, settings, start, end)
    period = _old_period(base)
    wards = sorted(_placed_wards().get(code, []))
    units = {w: review.ward(base, w) for w in wards}
    selves = [p for p, olds in placement().items() if olds == (code,) and reg.localities[p].level == "province"]
    daily = _trend(reader, wards, selves, end)
    inside = [i for i, d in enumerate(daily["dates"]) if start.isoformat() < d < end.isoformat()]
    ends = [
        indicator_values(period.at_start.get(code, figures.zero())),
        indicator_values(period.closing.get(code, figures.zero())),
    ]
    trend: Trend = {
        "dates": [start.isoformat(), *(daily["dates"][i] for i in inside), end.isoformat()],
        "indicators": {
            i.name: [ends[0][i.name], *(daily["indicators"][i.name][j] for j in inside), ends[1][i.name]]
            for i in INDICATORS
        },
    }
    return {
        **review.frame(period, "province", code, unit.name),
        "map": OLD,
        "became": list(unit.became),
        "units_are": "wards",
        "scopes": {code: review.scope(period, code, unit.name, wards, 1)},
        "units": units,
        "rankings": review.rankings(units),
        "backwards": review.backwards(units),
        "trend": trend,
        "cannot_split": _apart(period, {code}),
    }
