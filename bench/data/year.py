"""A year of national reporting, written straight into a chDB folder's archive, then rolled up.

Every ward of the sample reports daily: e-ID activations, service dossiers and the status of its 9
villages (11 events; the whole country gives about 13 million a year), and every province one task
a day. Villages gain electricity and internet as the year goes on. The archive is written by SQL
(faster than any sender), as migrations up to 0004 left it; migration 0005 then builds the per-event
deltas and the rollups from it, as it does on a warehouse from before issue 12, and 0007 orders them
by hour and indexes their identities, so the load also times those migrations on a year.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import clickhouse_connect
from rich.progress import Progress

from schemas.calendar import calendar
from schemas.registry import registry
from sinks.warehouse import days as days_module
from sinks.warehouse.migrations import migrate

EVENTS_PER_WARD_DAY = 11  # 2 flows + 9 villages
VILLAGES = 9
ARCHIVE_PRE_0005 = 4

_WARD_ROWS = """
INSERT INTO p06.archive (event_id, type, locality, province, level, area, entity, occurred_at, payload,
    villages, villages_without_electricity, villages_without_internet, eid_activations,
    dossiers_received, dossiers_online, dossiers_on_time, topic, partition, offset, received_at)
SELECT
    concat('y', toString(d), '-', toString(k)) AS event_id,
    multiIf(k = 0, 'eid.activations', k = 1, 'service.dossiers', 'village.status') AS type,
    {wards:Array(String)}[w + 1], {provinces:Array(String)}[w + 1], 'ward', {areas:Array(String)}[w + 1],
    if(k < 2, '', concat('village:V', toString(k - 1))),
    toDateTime64({first:Date}, 6, 'UTC') + toIntervalDay(d) + toIntervalSecond(3600 + (w * 37 + k * 13) % 36000) AS at,
    multiIf(k = 0, concat('{"count":', toString(eid), '}'),
            k = 1, concat('{"received":', toString(received), ',"online":', toString(online),
                          ',"on_time":', toString(on_time), '}'),
            concat('{"village_id":"V', toString(k - 1), '","electricity":', if(dark, 'false', 'true'),
                   ',"internet":', if(offline, 'false', 'true'), '}')),
    k >= 2, k >= 2 AND dark, k >= 2 AND offline,
    if(k = 0, eid, 0), if(k = 1, received, 0), if(k = 1, online, 0), if(k = 1, on_time, 0),
    'year', 0, n, at + toIntervalSecond(60)
FROM (
    SELECT number AS n, intDiv(number, {per_day:UInt64}) AS d, intDiv(number % {per_day:UInt64}, 11) AS w,
        number % 11 AS k,
        cityHash64(w, k) % 100 < greatest(0, 30 - intDiv(d, 12)) AS dark,
        cityHash64(k, w) % 100 < greatest(0, 45 - intDiv(d, 9)) AS offline,
        1 + (w * 7 + d) % 40 AS eid, 3 + (w + d) % 30 AS received,
        intDiv(received * (50 + d % 50), 100) AS online, intDiv(received * 9, 10) AS on_time
    FROM numbers({start:UInt64}, {count:UInt64})
)
"""

_TASK_ROWS = """
INSERT INTO p06.archive (event_id, type, locality, province, level, area, entity, occurred_at, payload,
    tasks_reported, tasks_completed, topic, partition, offset, received_at)
SELECT
    concat('y', toString(d), '-t'), 'task.status', p, p, 'province', '', concat('task:', task),
    toDateTime64({first:Date}, 6, 'UTC') + toIntervalDay(d) + toIntervalSecond(7200) AS at,
    concat('{"task_id":"', task, '","status":"', if(done, 'completed', 'in_progress'), '"}'),
    1, done, 'year', 1, n, at + toIntervalSecond(60)
FROM (
    SELECT number AS n, intDiv(number, length({codes:Array(String)})) AS d,
        {codes:Array(String)}[number % length({codes:Array(String)}) + 1] AS p,
        concat('T', leftPad(toString(1 + (d * 7 + number % 34) % 225), 3, '0')) AS task,
        cityHash64(p, task) % 365 < d AS done
    FROM numbers({days:UInt64})
)
"""


@dataclass(frozen=True)
class Year:
    events: int
    wards: int
    load_s: float  # archive rows written
    migrate_s: float  # migrations 0005-0008: deltas, rollups and identities from the archive, days in P06_TIMEZONE


def load(folder: Path, last_day: date, wards: int | None = None, days: int = 365) -> Year:
    """The `days` days up to last_day, for the first `wards` wards of the registry (all by default)."""
    reg = registry()
    codes = [w for p in reg.provinces for w in reg.wards_by_province[p]][:wards]
    places = [reg.localities[w] for w in codes]
    first = last_day - timedelta(days=days - 1)
    per_day = len(codes) * EVENTS_PER_WARD_DAY
    client = clickhouse_connect.get_client(dsn=f"chdb://{folder}")
    try:
        migrate(client, until=ARCHIVE_PRE_0005)
        start = time.perf_counter()
        params = {
            "wards": codes,
            "provinces": [p.province for p in places],
            "areas": [p.area or "" for p in places],
            "first": first,
            "per_day": per_day,
        }
        with Progress(transient=True) as progress:
            task = progress.add_task(f"a year of {len(codes):,} wards into the archive", total=days)
            for d in range(0, days, 30):  # about a month per insert: memory stays flat
                chunk = min(30, days - d)
                client.command(_WARD_ROWS, parameters={**params, "start": d * per_day, "count": chunk * per_day})
                progress.advance(task, chunk)
        client.command(
            _TASK_ROWS, parameters={"codes": list(reg.provinces), "first": first, "days": days * len(reg.provinces)}
        )
        loaded = time.perf_counter()
        migrate(client)
        days_module.align(client, calendar())  # rollup_day in the country's days, as the sink would on start
        done = time.perf_counter()
        events = int(client.query("SELECT count() FROM p06.archive").result_rows[0][0])
    finally:
        client.close()
    return Year(events, len(codes), loaded - start, done - loaded)
