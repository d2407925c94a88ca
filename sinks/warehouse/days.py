"""The day rollups in the country's calendar: which zone they were built for, and their rebuild.

Migration 0008 makes p06.calendar, the record of that zone (no row: UTC days, the code before
issue 24). `align` runs on every connection the sink (or a report on chDB) opens: when P06_TIMEZONE
is not the recorded zone, rollup_day is rebuilt beside the old one from rollup_hour (UTC hours, exact
instants), swapped in at once (EXCHANGE TABLES: a reader sees the old days or the new, never a mix),
and only then is the zone recorded, so a rebuild cut anywhere is simply done again on the next start.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from schemas.calendar import Calendar
from schemas.metrics import METRICS
from sinks.warehouse.rollups import next_rev
from sinks.warehouse.tables import CALENDAR, ROLLUP_DAY, ROLLUP_HOUR

BEFORE = "UTC"  # the days of a warehouse written before the record existed
_NEXT = f"{ROLLUP_DAY}_next"


def built_for(client: Client) -> str:
    """The zone rollup_day's days are in."""
    rows = client.query(f"SELECT zone FROM {CALENDAR} FINAL").result_rows
    return rows[0][0] if rows else BEFORE


def rebuild(client: Client, cal: Calendar) -> None:
    """rollup_day again from rollup_hour, each UTC hour in the local day it lies in."""
    sums = ", ".join(f"sum({m})" for m in METRICS)
    client.command(f"DROP TABLE IF EXISTS {_NEXT}")
    client.command(f"CREATE TABLE {_NEXT} AS {ROLLUP_DAY}")
    client.command(
        f"INSERT INTO {_NEXT} (day, scope, code, province, area, {', '.join(METRICS)}, rev)"
        f" SELECT toDate(hour, {{tz:String}}) AS day, scope, code, any(province), any(area), {sums}, {{rev:UInt64}}"
        f" FROM {ROLLUP_HOUR} FINAL GROUP BY day, scope, code",
        parameters={"tz": cal.name, "rev": next_rev()},
    )
    client.command(f"EXCHANGE TABLES {ROLLUP_DAY} AND {_NEXT}")
    client.command(f"DROP TABLE {_NEXT}")


def align(client: Client, cal: Calendar) -> bool:
    """Make rollup_day's days those of `cal`; True when it was rebuilt."""
    if built_for(client) == cal.name:
        return False
    rebuild(client, cal)
    client.insert(CALENDAR, [[cal.name, next_rev()]], column_names=["zone", "rev"])
    return True
