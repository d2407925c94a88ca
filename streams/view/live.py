"""The live figures: locality snapshots rolled up ward -> province -> nation, and split urban/rural.

Functions of the snapshots the worker keeps (one per locality), so any worker holding the snapshots
answers the same. The province, urban and rural sums are kept up to date as snapshots are replaced
(LiveTotals) by subtracting the old snapshot and adding the new one, never by adding events: the
sums always equal those of the snapshots held. Each province's freshness is kept the same way.
"""

from __future__ import annotations

import time
from bisect import bisect_left, insort
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.calendar import Calendar, calendar
from schemas.hierarchy import Scope, scopes_of
from schemas.metrics import FLOW_METRICS, ZERO, Vector, add, as_dict
from schemas.registry import registry

DAY_MS = 86_400_000
Snapshot = Mapping[str, Any]


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms else None


def _vector(snapshot: Snapshot | None) -> Vector:
    return tuple(snapshot["figures"]) if snapshot else ZERO


class LiveTotals:
    """Each province's, the urban and the rural sums of the snapshots, kept as snapshots change.

    Re-summing 3,321 wards on every request cost tens of milliseconds of the worker's CPU per
    request; replacing one locality's snapshot here costs a few vector additions.
    """

    def __init__(self, snapshots: Mapping[str, Snapshot] | None = None) -> None:
        reg = registry()
        self.provinces: dict[str, list[int]] = {code: [0] * len(ZERO) for code in reg.provinces}
        self.urban, self.rural = [0] * len(ZERO), [0] * len(ZERO)
        # The hierarchy's scopes kept here: the nation's sum is the provinces' (live_body), a ward's its snapshot.
        self._kept: dict[Scope, list[int]] = {("province", c): v for c, v in self.provinces.items()}
        self._kept.update({("urban", "urban"): self.urban, ("rural", "rural"): self.rural})
        self._targets: dict[str, list[list[int]]] = {}  # per locality, the kept sums it counts in
        # Freshness, kept the same way: each province's own newest report, and its wards' newest reports
        # sorted, so the wards reported within a day are one bisection per province and request (walking
        # the 3,321 wards per request was 9.5% of the worker's time under the dashboard's polling).
        self._province_ms: dict[str, int] = {}
        self._ward_ms: dict[str, list[int]] = {code: [] for code in reg.provinces}
        for code, snapshot in (snapshots or {}).items():
            self.replace(code, None, snapshot)

    def replace(self, code: str, old: Snapshot | None, new: Snapshot | None) -> None:
        """Locality `code` had snapshot `old` and now has `new`."""
        scopes = self._targets.get(code)
        if scopes is None:
            if code not in registry():
                return  # not an official code: never counted (the worker does not produce these)
            scopes = self._targets[code] = [self._kept[s] for s in scopes_of(code) if s in self._kept]
        for sign, snapshot in ((-1, old), (1, new)):
            if snapshot:
                for scope in scopes:
                    for i, v in enumerate(snapshot["figures"]):
                        scope[i] += sign * v
        self._replace_freshness(code, old, new)

    def freshness(self, province: str, now_ms: int) -> tuple[int, int]:
        """The province's newest report (its own or a ward's, ms) and its wards reported within a day of now."""
        wards = self._ward_ms[province]
        newest = max(self._province_ms.get(province, 0), wards[-1] if wards else 0)
        return newest, len(wards) - bisect_left(wards, now_ms - DAY_MS)

    def _replace_freshness(self, code: str, old: Snapshot | None, new: Snapshot | None) -> None:
        place = registry().localities[code]
        if place.level == "province":
            self._province_ms[code] = new["last_reported_ms"] if new else 0
            return
        wards = self._ward_ms[place.province]
        if old:
            at = bisect_left(wards, old["last_reported_ms"])
            if at < len(wards) and wards[at] == old["last_reported_ms"]:  # always, when `old` is what was added
                del wards[at]
        if new:
            insort(wards, new["last_reported_ms"])


def live_body(
    snapshots: Mapping[str, Snapshot], totals: LiveTotals | None = None, now_ms: int | None = None
) -> dict[str, Any]:
    """The body of GET /api/live; `totals` must be those of `snapshots` (computed here when absent)."""
    now_ms = now_ms or int(time.time() * 1000)
    totals = totals or LiveTotals(snapshots)
    reg = registry()
    freshness: dict[str, Any] = {}
    total_wards = reported_wards = 0
    newest_nation = 0
    nation = [0] * len(ZERO)
    for code in reg.provinces:
        newest, reported = totals.freshness(code, now_ms)
        wards = len(reg.wards_by_province[code])
        freshness[code] = _freshness(newest, reported, wards, now_ms)
        total_wards += wards
        reported_wards += reported
        newest_nation = max(newest_nation, newest)
        nation = [a + b for a, b in zip(nation, totals.provinces[code])]
    return {
        "as_of": _iso(now_ms),
        "nation": as_dict(tuple(nation)),
        "provinces": {code: as_dict(tuple(v)) for code, v in totals.provinces.items()},
        "urban": as_dict(tuple(totals.urban)),
        "rural": as_dict(tuple(totals.rural)),
        "freshness": {
            "nation": _freshness(newest_nation, reported_wards, total_wards, now_ms),
            "provinces": freshness,
        },
    }


def _freshness(newest_ms: int, reported: int, wards: int, now_ms: int) -> dict[str, Any]:
    return {
        "last_reported_at": _iso(newest_ms),
        "newest_event_age_s": round((now_ms - newest_ms) / 1000, 3) if newest_ms else None,
        "wards": wards,
        "wards_reported_last_day": reported,
        "wards_reported_last_day_share": round(reported / wards, 4) if wards else None,
    }


def province_body(snapshots: Mapping[str, Snapshot], code: str, now_ms: int | None = None) -> dict[str, Any]:
    """The body of GET /api/live/provinces/{code}: the province and each of its wards."""
    now_ms = now_ms or int(time.time() * 1000)
    reg = registry()
    figures = _vector(snapshots.get(code))
    wards: dict[str, Any] = {}
    for ward in reg.wards_by_province[code]:
        snap = snapshots.get(ward)
        v = _vector(snap)
        figures = add(figures, v)
        wards[ward] = {
            "name": reg.localities[ward].name,
            "area": reg.localities[ward].area,
            "figures": as_dict(v),
            "last_reported_at": _iso(snap["last_reported_ms"]) if snap else None,
            "events": snap["events"] if snap else 0,
        }
    own = snapshots.get(code)
    return {
        "as_of": _iso(now_ms),
        "code": code,
        "name": reg.localities[code].name,
        "figures": as_dict(figures),
        "last_reported_at": _iso(own["last_reported_ms"]) if own else None,
        "events": own["events"] if own else 0,
        "wards": wards,
    }


def silent_body(snapshots: Mapping[str, Snapshot], silent_after_s: float, now_ms: int | None = None) -> dict[str, Any]:
    """Localities that have not reported for longer than the period, never-reported ones included."""
    now_ms = now_ms or int(time.time() * 1000)
    cutoff = now_ms - silent_after_s * 1000
    silent = []
    for code, loc in registry().localities.items():
        snap = snapshots.get(code)
        last = snap["last_reported_ms"] if snap else 0
        if last < cutoff:
            silent.append(
                {
                    "code": code,
                    "name": loc.name,
                    "level": loc.level,
                    "province": loc.province,
                    "last_reported_at": _iso(last),
                }
            )
    silent.sort(key=lambda s: (s["province"], s["level"] != "province", s["code"]))
    return {
        "as_of": _iso(now_ms),
        "silent_after_hours": silent_after_s / 3600,
        "count": len(silent),
        "localities": silent,
    }


def windows_body(
    snapshots: Mapping[str, Snapshot], scope: str, granularity: str, cal: Calendar | None = None
) -> dict[str, Any]:
    """Flow totals per event-time hour (UTC hours) or day (the country's days, P06_TIMEZONE) for 'nation',
    a province code or a ward code. A day window starts at local midnight and is written on that clock."""
    cal = cal or calendar()
    reg = registry()
    if scope == "nation":
        codes = list(reg.localities)
    elif scope in reg.wards_by_province:
        codes = [scope, *reg.wards_by_province[scope]]
    else:
        codes = [scope]
    starts: dict[int, int] = {}  # hour -> its window's start (a day's: computed once per hour, not per locality)
    buckets: dict[int, list[int]] = {}
    for code in codes:
        snap = snapshots.get(code)
        for hour, counts in (snap["hours"] if snap else {}).items():
            start = starts.get(int(hour))
            if start is None:
                start = starts[int(hour)] = _window_start(int(hour), granularity, cal)
            bucket = buckets.setdefault(start, [0] * len(FLOW_METRICS))
            for i, c in enumerate(counts):
                bucket[i] += c
    shown = _iso if granularity == "hour" else lambda ms: cal.local(datetime.fromtimestamp(ms / 1000, UTC)).isoformat()
    return {
        "scope": scope,
        "granularity": granularity,
        "timezone": cal.name,
        "windows": [
            {"start": shown(start * 1000), **dict(zip(FLOW_METRICS, counts))}
            for start, counts in sorted(buckets.items())
        ],
    }


def _window_start(hour: int, granularity: str, cal: Calendar) -> int:
    """The epoch second a window starts: the UTC hour itself, or the local midnight of its day."""
    if granularity == "hour":
        return hour // 3600 * 3600
    return int(cal.start_of(cal.day_of(datetime.fromtimestamp(hour, UTC))).timestamp())
