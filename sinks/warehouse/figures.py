"""Figures read from the warehouse: the official path (rollups) and the recount path (raw archive).

Both return {"nation": {...}, "urban": {...}, "rural": {...}, "provinces": {code: {...}},
"wards": {code: {...}}} with every metric, so they can be compared key by key.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from schemas.calendar import calendar
from schemas.hierarchy import roll_up, tiers
from schemas.metrics import METRICS
from schemas.times import clickhouse_param
from sinks.warehouse.reader import Reader

Figures = dict[str, int]


def end_of_day(day: date | None) -> datetime | None:
    """--as-of DATE means up to the end of that day in the country's calendar (its last microsecond)."""
    return None if day is None else calendar().end_of(day)


def zero() -> Figures:
    return dict.fromkeys(METRICS, 0)


def empty_scopes() -> dict[str, Any]:
    return {"nation": zero(), "urban": zero(), "rural": zero(), "provinces": {}, "wards": {}}


def _figures(row: dict[str, Any]) -> Figures:
    return {m: int(row[m]) for m in METRICS}


def from_rollups(reader: Reader, as_of: date | None = None) -> dict[str, Any]:
    """Sum of the day rollups up to as_of (a day of the country's calendar, as rollup_day's days), per scope."""
    rows = reader.named("rollup_sums", {"as_of": (as_of or date(2299, 12, 31)).isoformat()})
    out = empty_scopes()
    for row in rows:
        figures = _figures(row)
        if row["scope"] in ("nation", "urban", "rural"):
            out[row["scope"]] = figures
        elif row["scope"] == "province":
            out["provinces"][row["code"]] = figures
        elif row["scope"] == "ward":
            out["wards"][row["code"]] = figures
    return out


def per_locality_recount(reader: Reader, as_of: date | None = None) -> list[dict[str, Any]]:
    """Each locality's figures straight from the archive: argMax per entity, sum per flow."""
    return reader.named("locality_recount", {"until": _until(as_of)})


def _until(as_of: date | None) -> str:
    return clickhouse_param(end_of_day(as_of) or datetime(2299, 12, 31, tzinfo=UTC))


def from_archive(reader: Reader, as_of: date | None = None) -> dict[str, Any]:
    """The recount rolled up the hierarchy in Python, with the registry (not SQL) deciding the scopes."""
    return tiers(roll_up((row["locality"], _figures(row)) for row in per_locality_recount(reader, as_of)))


def activity(reader: Reader, as_of: date | None = None, province: str | None = None) -> dict[str, dict[str, Any]]:
    """Per locality: when it last reported and how many distinct events (event_id and UTC day), up to as_of."""
    rows = reader.named("activity", {"until": _until(as_of), "province": province or ""})
    return {r["locality"]: {"last_reported_at": r["last_reported_at"], "events": int(r["events"])} for r in rows}


def daily_series(
    reader: Reader, scopes: tuple[str, ...] = ("nation", "urban", "rural")
) -> dict[str, list[tuple[str, Figures]]]:
    """Cumulative figures at the end of each day that has data, per scope: the trend lines."""
    rows = reader.named("daily_series", {"scopes": list(scopes)})
    series: dict[str, list[tuple[str, Figures]]] = defaultdict(list)
    for row in rows:
        series[row["code"]].append((str(row["day"]), _figures(row)))
    return dict(series)
