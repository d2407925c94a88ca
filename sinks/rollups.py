"""Rewrite the hour and day rollups of the provinces a batch touched, from the archive.

A state event's row is its contribution minus its predecessor's (window over the entity in
version order); a flow's row is its contribution. Only buckets at or after the batch's earliest
event can change (an event changes only its own delta and its successor's), so only those are
rewritten, with a larger `rev`; ReplacingMergeTree(rev) + FINAL makes the rewrite replace.
"""
from __future__ import annotations

import time
from datetime import datetime

from clickhouse_connect.driver.client import Client

from schemas.metrics import METRICS
from schemas.times import clickhouse_param, to_utc

from .clickhouse import DATABASE

HOUR, DAY = f"{DATABASE}.rollup_hour", f"{DATABASE}.rollup_day"
AREA_SCOPES = ("nation", "urban", "rural")
_last_rev = 0


def next_rev() -> int:
    """Strictly increasing within a process, and above any earlier process's revs (wall clock)."""
    global _last_rev
    _last_rev = max(time.time_ns(), _last_rev + 1)
    return _last_rev


def _sums(prefix: str = "") -> str:
    return ", ".join(f"sum({prefix}{m}) AS {m}" for m in METRICS)


def _deltas() -> str:
    return ", ".join(f"if(entity = '', {m}, {m} - lagInFrame({m}, 1, toInt64(0)) OVER w) AS d_{m}" for m in METRICS)


_COLS = "scope, code, province, area, {bucket}, " + ", ".join(METRICS) + ", rev"

_LOCAL_HOURS = f"""
INSERT INTO {HOUR} ({_COLS.format(bucket='hour')})
WITH d AS (
    SELECT province, locality, level, area, toStartOfHour(occurred_at) AS hour, {_deltas()}
    FROM {DATABASE}.archive FINAL
    WHERE province IN {{provinces:Array(String)}}
    WINDOW w AS (PARTITION BY locality, entity ORDER BY occurred_at, event_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT if(level = 'ward', 'ward', 'province_self'), locality, province, area, hour, {_sums('d_')}, {{rev:UInt64}}
FROM d WHERE hour >= {{since:DateTime64(6, 'UTC')}} GROUP BY level, locality, province, area, hour
UNION ALL
SELECT 'province', province, province, '', hour, {_sums('d_')}, {{rev:UInt64}}
FROM d WHERE hour >= {{since:DateTime64(6, 'UTC')}} GROUP BY province, hour
"""

_AREA_HOURS = f"""
INSERT INTO {HOUR} ({_COLS.format(bucket='hour')})
SELECT 'nation', 'VN', '', '', hour, {_sums()}, {{rev:UInt64}}
FROM {HOUR} FINAL WHERE scope = 'province' AND hour >= {{since:DateTime64(6, 'UTC')}} GROUP BY hour
UNION ALL
SELECT area, area, '', area, hour, {_sums()}, {{rev:UInt64}}
FROM {HOUR} FINAL WHERE scope = 'ward' AND hour >= {{since:DateTime64(6, 'UTC')}} GROUP BY area, hour
"""

_DAYS = f"""
INSERT INTO {DAY} ({_COLS.format(bucket='day')})
SELECT scope, code, any(province), any(area), toDate(hour) AS day, {_sums()}, {{rev:UInt64}}
FROM {HOUR} FINAL
WHERE (province IN {{provinces:Array(String)}} OR scope IN {AREA_SCOPES})
  AND hour >= toStartOfDay({{since:DateTime64(6, 'UTC')}})
GROUP BY scope, code, day
"""


def refresh(client: Client, provinces: set[str], since: datetime) -> None:
    """Rewrite every rollup row the archive's events of these provinces from `since` on determine."""
    if not provinces:
        return
    params = {
        "provinces": sorted(provinces),
        # Converted to UTC before the hour is cut: the buckets are UTC hours (issue 9).
        "since": clickhouse_param(to_utc(since).replace(minute=0, second=0, microsecond=0)),
        "rev": next_rev(),
    }
    for statement in (_LOCAL_HOURS, _AREA_HOURS, _DAYS):
        client.command(statement, parameters=params)
