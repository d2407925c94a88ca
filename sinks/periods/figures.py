"""What a reporting period reads from the warehouse: statuses, figures (all rows, or the rows an approval's
positions cover), completeness, timeliness and what arrived after an approval. Through a Reader, so the sink's
writer, its API and `p06 report` (directly or through the API) read it alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson

from schemas.calendar import Calendar
from schemas.hierarchy import roll_up, tiers
from schemas.metrics import METRICS
from schemas.periods import deadline, span
from schemas.registry import registry
from schemas.times import clickhouse_param
from sinks.warehouse.reader import Reader

Figures = dict[str, int]


def until(cal: Calendar, period: str) -> datetime:
    """The last instant of the period: its figures are the figures at its end, as `--as-of` its last day."""
    return span(cal, period)[1] - timedelta(microseconds=1)


def positions(reader: Reader) -> list[int]:
    """ends[p] = one past the highest archived offset of partition p of the events topic (0: none)."""
    rows = reader.named("archive_positions")
    ends = [0] * (max((int(r["partition"]) for r in rows), default=-1) + 1)
    for row in rows:
        ends[int(row["partition"])] = int(row["end"])
    return ends


def figures(reader: Reader, cal: Calendar, period: str, province: str, ends: list[int] | None) -> dict[str, Any]:
    """{"province": the twelve metrics, "wards": {code: ...}} at the period's end; ends: only the rows covered."""
    params = {"until": clickhouse_param(until(cal, period)), "province": province, "ends": ends or []}
    rows = reader.named("period_figures", params)
    rolled = tiers(roll_up((r["locality"], {m: int(r[m]) for m in METRICS}) for r in rows))
    wards = {
        code: rolled["wards"].get(code, dict.fromkeys(METRICS, 0)) for code in registry().wards_by_province[province]
    }
    return {"province": rolled["provinces"].get(province, dict.fromkeys(METRICS, 0)), "wards": wards}


def late(reader: Reader, cal: Calendar, period: str, province: str, ends: list[int]) -> dict[str, Any]:
    """The events of the period's figures beyond an approval's positions: how many, and their ids (the first 100)."""
    params = {"until": clickhouse_param(until(cal, period)), "province": province, "ends": ends}
    row = reader.named("period_late", params)[0]
    return {"events": int(row["events"]), "event_ids": list(row["event_ids"])}


def activity(reader: Reader, cal: Calendar, period: str, days: int, province: str = "") -> dict[str, dict[str, Any]]:
    """Per province: wards, wards that reported in the period, and of those, wards whose first report for it
    the broker received before the deadline (appended_at, never the sender's stamp)."""
    start, _ = span(cal, period)
    params = {"since": clickhouse_param(start), "until": clickhouse_param(until(cal, period)), "province": province}
    due = deadline(cal, period, days)
    reg = registry()
    out: dict[str, dict[str, Any]] = {}
    for code in [province] if province else reg.provinces:
        wards = reg.wards_by_province[code]
        out[code] = {"wards": len(wards), "reported": 0, "on_time": 0}
    for row in reader.named("period_activity", params):
        place = reg.localities.get(row["locality"])
        if place is None or place.level != "ward" or row["province"] not in out:
            continue
        counts = out[row["province"]]
        counts["reported"] += 1
        counts["on_time"] += int(datetime.fromisoformat(row["first_appended"]).replace(tzinfo=due.tzinfo) < due)
    for counts in out.values():
        counts["completeness"] = round(counts["reported"] / counts["wards"], 4) if counts["wards"] else 0.0
        counts["timeliness"] = round(counts["on_time"] / counts["wards"], 4) if counts["wards"] else 0.0
    return out


def actions(reader: Reader, period: str = "") -> list[dict[str, Any]]:
    """Every action ('' : on every period), applied or refused, in the topic's order per (period, province)."""
    rows = reader.named("period_actions", {"period": period})
    for row in rows:
        row["figures"] = orjson.loads(row["figures"]) if row["figures"] else None
    return rows


def standing(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(period, province) -> the last applied action: its status_after is the status now (no row: open)."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row["outcome"] == "applied":
            last[(row["period"], row["province"])] = row
    return last
