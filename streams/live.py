"""The live figures: locality snapshots rolled up ward -> province -> nation, and split urban/rural.

Pure functions of the snapshots the worker keeps (one per locality), so any worker holding the
snapshots answers the same, and a figure is always recomputed from state, never accumulated.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from schemas.metrics import ZERO, Vector, add, as_dict
from schemas.registry import registry

from .state import FLOW_METRICS

DAY_MS = 86_400_000
Snapshot = Mapping[str, Any]


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat() if ms else None


def _vector(snapshot: Snapshot | None) -> Vector:
    return tuple(snapshot["figures"]) if snapshot else ZERO


def live_body(snapshots: Mapping[str, Snapshot], now_ms: int | None = None) -> dict[str, Any]:
    """The body of GET /api/live."""
    now_ms = now_ms or int(time.time() * 1000)
    reg = registry()
    provinces: dict[str, Vector] = {}
    urban, rural = ZERO, ZERO
    freshness: dict[str, Any] = {}
    total_wards = reported_wards = 0
    newest_nation = 0
    for code in reg.provinces:
        province_snap = snapshots.get(code)
        figures = _vector(province_snap)
        newest = province_snap["last_reported_ms"] if province_snap else 0
        reported = 0
        for ward in reg.wards_by_province[code]:
            snap = snapshots.get(ward)
            if snap is None:
                continue
            v = tuple(snap["figures"])
            figures = add(figures, v)
            if reg.localities[ward].area == "urban":
                urban = add(urban, v)
            else:
                rural = add(rural, v)
            newest = max(newest, snap["last_reported_ms"])
            reported += snap["last_reported_ms"] >= now_ms - DAY_MS
        provinces[code] = figures
        wards = len(reg.wards_by_province[code])
        freshness[code] = _freshness(newest, reported, wards, now_ms)
        total_wards += wards
        reported_wards += reported
        newest_nation = max(newest_nation, newest)
    nation = ZERO
    for v in provinces.values():
        nation = add(nation, v)
    return {
        "as_of": _iso(now_ms),
        "nation": as_dict(nation),
        "provinces": {code: as_dict(v) for code, v in provinces.items()},
        "urban": as_dict(urban),
        "rural": as_dict(rural),
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
                {"code": code, "name": loc.name, "level": loc.level, "province": loc.province, "last_reported_at": _iso(last)}
            )
    silent.sort(key=lambda s: (s["province"], s["level"] != "province", s["code"]))
    return {"as_of": _iso(now_ms), "silent_after_hours": silent_after_s / 3600, "count": len(silent), "localities": silent}


def windows_body(snapshots: Mapping[str, Snapshot], scope: str, granularity: str) -> dict[str, Any]:
    """Flow totals per event-time hour or day for 'nation', a province code or a ward code."""
    reg = registry()
    if scope == "nation":
        codes = list(reg.localities)
    elif scope in reg.wards_by_province:
        codes = [scope, *reg.wards_by_province[scope]]
    else:
        codes = [scope]
    step = 3600 if granularity == "hour" else 86400
    buckets: dict[int, list[int]] = {}
    for code in codes:
        snap = snapshots.get(code)
        for hour, counts in (snap["hours"] if snap else {}).items():
            start = int(hour) // step * step
            bucket = buckets.setdefault(start, [0] * len(FLOW_METRICS))
            for i, c in enumerate(counts):
                bucket[i] += c
    return {
        "scope": scope,
        "granularity": granularity,
        "windows": [
            {"start": _iso(start * 1000), **dict(zip(FLOW_METRICS, counts))} for start, counts in sorted(buckets.items())
        ],
    }

