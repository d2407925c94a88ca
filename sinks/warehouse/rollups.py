"""Keep the hour and day rollups up to date with each batch, at a cost that follows the batch.

Tables (sinks/warehouse/sql/0005_incremental_rollups.sql, 0007_counted_by_hour.sql):
- p06.counted: one row per event that counts, with its contribution c_* and its delta d_* (a flow:
  its contribution; a state report: its value minus its entity's value before it). The first copy of
  an event counts (the archive's rule), so a later copy is never written here. A report's events are
  in its original's hour, and only its latest (the one that counts) has a delta.
  Ordered by hour first: a batch reads the hours it touches.
- p06.identities: the hour of each counted event, by identity (point reads): finds an event's first
  copy, which may carry another hour of the same day than a later copy.
- p06.heads: each state entity's newest report (its original's instant and event_id) and its value
  (the sum of its rows' deltas): a new report's predecessor without reading the entity's history.
- rollup_hour / rollup_day: per bucket (a UTC hour; a day of the country's calendar, P06_TIMEZONE, made of
  whole UTC hours), the sum of the deltas in it. A bucket is rewritten whole,
  never incremented (ReplacingMergeTree(rev) + FINAL), so a replayed batch writes the same values.

A batch places its state events in their entities' chains of reports, ordered by their originals: a
report's value is its latest event's contribution (a void one: the value before it), its delta the
change from the report before, and a late event or a correction also rewrites its successor's delta.
It reads only the batch's events, its entities' heads, the stored rows of the entities whose head is
not older than the batch (late events, corrections, copies), and the hours it touched, so its cost does
not grow with the archive.

This module plans a batch and writes each table; the order of those writes, which makes a write cut at
any statement safe to repeat, is the sink's protocol in sinks/ingest/checkpoint.py. `repair` (run by
every new connection, sinks/warehouse/store.py) brings heads level with counted after such a cut.
"""

from __future__ import annotations

import operator
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

from clickhouse_connect.driver.client import Client

from schemas.calendar import Calendar, calendar
from schemas.metrics import FLOW_TYPES, METRICS, key_parts
from schemas.registry import registry
from sinks.warehouse.archive import COLUMNS, Columns
from sinks.warehouse.tables import BATCH, COUNTED, HEADS, IDENTITIES
from sinks.warehouse.tables import BATCH_BUCKETS as BUCKETS
from sinks.warehouse.tables import ROLLUP_DAY as DAY
from sinks.warehouse.tables import ROLLUP_HOUR as HOUR

Vector = tuple[int, ...]
ZERO: Vector = (0,) * len(METRICS)
_FIELD = {name: i for i, name in enumerate(COLUMNS)}
_METRICS_AT = slice(_FIELD[METRICS[0]], _FIELD[METRICS[-1]] + 1)  # contiguous in the archive's columns
_KEYS = (
    "day",
    "locality",
    "event_id",
    "province",
    "level",
    "area",
    "entity",
    "occurred_at",
    "hour",
    "partition",
    "offset",
    "report",
)
COUNTED_COLUMNS = (*_KEYS, *(f"c_{m}" for m in METRICS), *(f"d_{m}" for m in METRICS), "rev")
_last_rev = 0


def next_rev() -> int:
    """Strictly increasing within a process, and above any earlier process's revs (wall clock)."""
    global _last_rev
    _last_rev = max(time.time_ns(), _last_rev + 1)
    return _last_rev


@dataclass(slots=True)
class Row:
    """An event that counts: its place, its version, its contribution and its delta (set by plan())."""

    day: date
    locality: str
    event_id: str
    province: str
    level: str
    area: str
    entity: str
    occurred_at: datetime  # UTC
    hour: datetime
    partition: int
    offset: int
    c: Vector
    # Its report (schemas.metrics.report_key), placed in its original's hour: a flow's always, a state's
    # when it is a correction (an original state event is its own report); MOVED: a row that left its hour.
    report: str = ""
    own: str = ""  # a correction's own key, by which a correction naming it names it (a chain)
    d: Vector = ZERO
    stored: bool = field(default=False, compare=False)  # already in p06.counted

    @property
    def identity(self) -> tuple[date, str, str]:
        return self.day, self.locality, self.event_id

    @property
    def version(self) -> tuple[datetime, str]:
        return self.occurred_at, self.event_id

    @property
    def position(self) -> tuple[datetime, str]:
        """Where a state row lies in its entity's chain: its report's original (instant, event_id)."""
        return (_instant(self.report), _named_id(self.report)) if self.report else self.version

    @property
    def key(self) -> str:
        """Its key in p06.identities (the SQL side: _IDENTITY_KEY)."""
        return f"{self.day.isoformat()}|{self.locality}|{self.event_id}"

    @property
    def bucket(self) -> tuple[str, datetime]:
        return self.locality, self.hour

    def values(self, rev: int) -> list[Any]:
        return [
            self.day,
            self.locality,
            self.event_id,
            self.province,
            self.level,
            self.area,
            self.entity,
            self.occurred_at,
            self.hour,
            self.partition,
            self.offset,
            self.report,
            *self.c,
            *self.d,
            rev,
        ]


def _minus(a: Vector, b: Vector) -> Vector:
    return tuple(map(operator.sub, a, b))


MOVED = "-"  # the report of a row left behind in its old hour when its event joined a chain: counts nothing


def _report(raw: tuple, at: datetime) -> tuple[str, datetime]:
    """A report key and instant as the event names them (its original's; its own when it corrects
    nothing); the key is schemas.metrics.report_key's, which the live worker uses. A chain resolves
    further (_resolve)."""
    named_id = raw[_FIELD["supersedes_id"]]
    original = raw[_FIELD["supersedes_at"]].astimezone(UTC) if named_id else at
    return _key(_kind(raw), named_id or raw[_FIELD["event_id"]], original), original


def _kind(raw: tuple) -> str:
    """What a report is of: a flow's type, a state's entity (schemas.metrics.report_key)."""
    return raw[_FIELD["entity"]] or raw[_FIELD["type"]]


def _key(kind: str, event_id: str, at: datetime) -> str:
    return f"{kind}|{event_id}|{(at - _EPOCH) // timedelta(microseconds=1)}"


def _kind_of(key: str) -> str:
    """A key's kind: a flow's type, a state's entity."""
    return key_parts(key)[0]


def _instant(key: str) -> datetime:
    return _EPOCH + timedelta(microseconds=int(key.rsplit("|", 1)[1]))


def _named_id(key: str) -> str:
    """The event_id a key names (which may itself hold "|")."""
    return key_parts(key)[1][1]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_batch(raw: tuple) -> Row:
    at = raw[_FIELD["occurred_at"]].astimezone(UTC)
    entity, correction = raw[_FIELD["entity"]], bool(raw[_FIELD["supersedes_id"]])
    report, placed = ("", at) if entity and not correction else _report(raw, at)
    return Row(
        day=at.date(),
        locality=raw[_FIELD["locality"]],
        event_id=raw[_FIELD["event_id"]],
        province=raw[_FIELD["province"]],
        level=raw[_FIELD["level"]],
        area=raw[_FIELD["area"]],
        entity=entity,
        occurred_at=at,
        hour=placed.replace(minute=0, second=0, microsecond=0),
        partition=raw[_FIELD["partition"]],
        offset=raw[_FIELD["offset"]],
        c=raw[_METRICS_AT],
        report=report,
        own=_key(_kind(raw), raw[_FIELD["event_id"]], at) if correction else "",
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_C_AT = slice(len(_KEYS), len(_KEYS) + len(METRICS))
_D_AT = slice(len(_KEYS) + len(METRICS), len(_KEYS) + 2 * len(METRICS))


def _from_counted(row: Sequence[Any]) -> Row:
    """A row of p06.counted selected as COUNTED_COLUMNS[:-1] (by position: thousands per batch)."""
    return Row(
        day=row[0],
        locality=row[1],
        event_id=row[2],
        province=row[3],
        level=row[4],
        area=row[5],
        entity=row[6],
        occurred_at=_utc(row[7]),
        hour=_utc(row[8]),
        partition=row[9],
        offset=row[10],
        report=row[11],
        c=tuple(row[_C_AT]),
        d=tuple(row[_D_AT]),
        stored=True,
    )


def _first_copies(columns: Columns) -> list[Row]:
    """The batch's events, one per identity: the copy with the lowest offset (the first in the log)."""
    first: dict[tuple, Row] = {}
    for raw in columns.rows:
        row = _from_batch(raw)
        held = first.get(row.identity)
        if held is None or (row.partition, row.offset) < (held.partition, held.offset):
            first[row.identity] = row
    return list(first.values())


def _load_batch(client: Client, rows: list[Row]) -> None:
    """The batch's keys into p06.batch, so reads select by a subquery on it: a native insert, where
    thousands of keys bound as query parameters cost more than the reads themselves."""
    client.command(f"TRUNCATE TABLE {BATCH}")
    client.insert(
        BATCH,
        [[r.day, r.locality, r.event_id, r.entity, r.report] for r in rows],
        column_names=["day", "locality", "event_id", "entity", "report"],
    )  # occurred_at: no longer read (0007)


_IDENTITY_KEY = "concat(toString(day), '|', locality, '|', event_id)"  # Row.key


def _stored(client: Client) -> dict[tuple, Row]:
    """Rows of p06.counted for the batch's identities: their hours from p06.identities, then those hours."""
    found = client.query(
        f"SELECT {', '.join(COUNTED_COLUMNS[:-1])} FROM {COUNTED} FINAL"
        f" WHERE hour IN (SELECT hour FROM {IDENTITIES} WHERE key IN (SELECT {_IDENTITY_KEY} FROM {BATCH}))"
        f" AND (day, locality, event_id) IN (SELECT day, locality, event_id FROM {BATCH})"
    ).result_rows
    return {(x.day, x.locality, x.event_id): x for x in map(_from_counted, found)}


def _chains(client: Client, since: dict[tuple[str, str], tuple[datetime, str]]) -> dict[tuple[str, str], list[Row]]:
    """The stored rows of these entities, each from the given position on (not those MOVED)."""
    if not since:
        return {}
    first_hour = min(at for at, _ in since.values()).replace(minute=0, second=0, microsecond=0)
    found = client.query(
        f"SELECT {', '.join(COUNTED_COLUMNS[:-1])} FROM {COUNTED} FINAL WHERE hour >= {{first_hour:DateTime('UTC')}}"
        " AND (locality, entity) IN {entities:Array(Tuple(String, String))}",
        parameters={"first_hour": first_hour, "entities": sorted(since)},
    ).result_rows
    chains: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in map(_from_counted, found):
        key = (row.locality, row.entity)
        if row.report != MOVED and row.position >= since[key]:
            chains[key].append(row)
    return chains


Head = tuple[tuple[datetime, str], Vector]  # (the newest report's position, the entity's value)


def _heads(client: Client) -> dict[tuple[str, str], Head]:
    found = client.query(
        f"SELECT locality, entity, occurred_at, event_id, {', '.join(f'c_{m}' for m in METRICS)} FROM {HEADS} FINAL"
        f" WHERE (locality, entity) IN (SELECT locality, entity FROM {BATCH} WHERE entity != '')"
    ).result_rows
    return {(h[0], h[1]): ((_utc(h[2]), h[3]), tuple(h[4:])) for h in found}


@dataclass
class Plan:
    """What a batch writes: rows into p06.counted, heads, and the locality buckets to rewrite."""

    rows: list[Row] = field(default_factory=list)
    heads: dict[tuple[str, str], Head] = field(default_factory=dict)
    buckets: set[tuple[str, datetime]] = field(default_factory=set)

    @property
    def new(self) -> list[Row]:
        """The rows of events not counted before (the others are stored rows whose delta changed)."""
        return [r for r in self.rows if not r.stored]


def plan(client: Client, columns: Columns) -> Plan:
    """Place the batch's first copies in their entities' chains; nothing is written yet."""
    out = Plan()
    batch = _first_copies(columns)
    _load_batch(client, batch)
    stored = _stored(client)
    # A copy whose event is stored from another offset is a later copy: the first one counts.
    batch = [
        stored.get(r.identity, r)
        for r in batch
        if r.identity not in stored
        or (stored[r.identity].partition, stored[r.identity].offset) == (r.partition, r.offset)
    ]
    for r in batch:
        out.buckets.add(r.bucket)  # a replayed batch rewrites its buckets even when its rows are stored
    joined = _resolve(client, batch, out) if any(r.own and not r.stored for r in batch) else []
    flows = [r for r in batch if not r.entity]
    if flows:
        # A correction's report, and a stored row's (a batch applied again): its report as resolved then,
        # which _corrected, looking up the report each event names, misses when that was a chain's link.
        wanted = _corrected(client) | {(r.locality, r.report) for r in flows if r.own or r.stored}
        wanted |= {(locality, key) for locality, key in joined if _kind_of(key) in FLOW_TYPES}
        _place_flows(flows, _reports(client, wanted) if wanted else {}, out)
    states = [r for r in batch if r.entity]
    if states:
        heads = _heads(client)
        by_entity: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for r in states:
            by_entity[(r.locality, r.entity)].append(r)
        chains = _chains(client, _behind_heads(by_entity, heads))
        for key, mine in by_entity.items():
            stored_rows = chains.get(key, [])
            # A row moving into a chain's report replaces its stored row (left behind as MOVED).
            rows = {r.identity: r for r in stored_rows} | {r.identity: r for r in mine if not r.stored}
            merged = sorted(rows.values(), key=lambda r: (r.position, r.version))
            _place(mine, merged, _outside_previous(stored_rows, heads.get(key)), out)
    return out


_CORRECTED = "concat('report|', locality, '|', report)"  # a report with a correction, in p06.identities


def _corrected(client: Client) -> set[tuple[str, str]]:
    """The batch's flow reports that have a correction stored (point reads): only those have other rows."""
    found = client.query(
        f"SELECT key FROM {IDENTITIES} WHERE key IN (SELECT {_CORRECTED} FROM {BATCH} WHERE entity = '')"
    ).result_rows
    return {(key.split("|", 2)[1], key.split("|", 2)[2]) for (key,) in found}


def _reports(client: Client, wanted: set[tuple[str, str]]) -> dict[str, list[Row]]:
    """The stored rows of these (locality, report)s: all in their originals' hours."""
    found = client.query(
        f"SELECT {', '.join(COUNTED_COLUMNS[:-1])} FROM {COUNTED} FINAL WHERE hour IN {{hours:Array(DateTime('UTC'))}}"
        " AND entity = '' AND (locality, report) IN {wanted:Array(Tuple(String, String))}",
        parameters={
            "hours": sorted({_instant(report).replace(minute=0, second=0, microsecond=0) for _, report in wanted}),
            "wanted": sorted(wanted),
        },
    ).result_rows
    reports: dict[str, list[Row]] = defaultdict(list)
    for row in map(_from_counted, found):
        reports[f"{row.locality}|{row.report}"].append(row)
    return reports


def _resolve(client: Client, batch: list[Row], out: Plan) -> list[tuple[str, str]]:
    """Chains: a correction naming a correction joins that one's report. Each new correction's report
    becomes the root its links lead to (the batch's, and the stored rows': a stored correction's report
    is its root), and the rows that named one of them before it arrived (in its own hour, as their
    report) move into its report (appended to `batch`): a MOVED row with no delta stays in the old hour.
    Returns the (locality, report) pairs the batch now joins."""
    new = [r for r in batch if r.own and not r.stored]
    links = {(r.locality, r.own): r.report for r in new}
    asked: set[tuple[str, str]] = set()
    while todo := {(r.locality, _root(links, r.locality, r.report)) for r in new} - asked:
        asked |= todo
        links |= _stored_links(client, todo)
    joined = set()
    for r in new:
        r.report = _root(links, r.locality, r.report)
        r.hour = _instant(r.report).replace(minute=0, second=0, microsecond=0)
        joined.add((r.locality, r.report))
    for orphan in _orphans(client, new):
        out.rows.append(replace(orphan, report=MOVED, d=ZERO))  # its old place: counts nothing
        out.buckets.add(orphan.bucket)
        root = _root(links, orphan.locality, orphan.report)
        hour = _instant(root).replace(minute=0, second=0, microsecond=0)
        own = _key(_kind_of(orphan.report), orphan.event_id, orphan.occurred_at)
        batch.append(replace(orphan, report=root, hour=hour, stored=False, d=ZERO, own=own))
        joined.add((orphan.locality, root))
    return sorted(joined)


def _root(links: dict[tuple[str, str], str], locality: str, key: str) -> str:
    while (locality, key) in links:
        key = links[(locality, key)]  # each link names an earlier instant: the walk ends
    return key


def _stored_links(client: Client, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """For each (locality, key) naming a stored correction of that kind and instant, the report it is in."""
    wanted = {(loc, _named_id(k), _instant(k)): (loc, k) for loc, k in keys}
    found = client.query(
        f"SELECT locality, event_id, occurred_at, report FROM {COUNTED} FINAL"
        f" WHERE hour IN (SELECT hour FROM {IDENTITIES} WHERE key IN {{ids:Array(String)}})"
        f" AND (locality, event_id) IN {{pairs:Array(Tuple(String, String))}} AND report NOT IN ('', '{MOVED}')",
        parameters={
            "ids": [f"{at.date().isoformat()}|{loc}|{event_id}" for loc, event_id, at in wanted],
            "pairs": sorted({(loc, event_id) for loc, event_id, _ in wanted}),
        },
    ).result_rows
    links = {}
    for locality, event_id, at, report in found:
        key = wanted.get((locality, event_id, _utc(at)))
        if key is not None and _kind_of(report) == _kind_of(key[1]) and report != key[1]:
            links[key] = report  # of its kind and instant: a correction, in its root's report
    return links


def _orphans(client: Client, corrections: list[Row]) -> list[Row]:
    """Stored rows whose report is one of these corrections' own keys: they named it before it arrived."""
    found = client.query(
        f"SELECT {', '.join(COUNTED_COLUMNS[:-1])} FROM {COUNTED} FINAL WHERE hour IN {{hours:Array(DateTime('UTC'))}}"
        " AND (locality, report) IN {pairs:Array(Tuple(String, String))}",
        parameters={
            "hours": sorted({_instant(r.own).replace(minute=0, second=0, microsecond=0) for r in corrections}),
            "pairs": sorted({(r.locality, r.own) for r in corrections}),
        },
    ).result_rows
    return list(map(_from_counted, found))


def _place_flows(flows: list[Row], stored: dict[str, list[Row]], out: Plan) -> None:
    """Of each report, the latest event counts (its delta is its contribution), the others nothing:
    a new winner's row is written, and the previous winner's row again with a zero delta."""
    members: dict[str, dict[tuple, Row]] = defaultdict(dict)
    for key, rows in stored.items():
        members[key] = {r.identity: r for r in rows}
    for r in flows:
        members[f"{r.locality}|{r.report}"].setdefault(r.identity, r)
    for report in members.values():
        winner = max(report.values(), key=lambda r: r.version)
        for row in report.values():
            wanted = row.c if row is winner else ZERO
            if not row.stored or row.d != wanted:
                row.d = wanted
                out.rows.append(row)
                out.buckets.add(row.bucket)


def _behind_heads(
    by_entity: dict[tuple[str, str], list[Row]], heads: dict[tuple[str, str], Head]
) -> dict[tuple[str, str], tuple[datetime, str]]:
    """The entities whose stored rows a batch must read, and from which position: those with a row in
    the batch already stored (a copy, a batch read again) or not after their head (a late event, a
    correction). The others only follow their head, which is their predecessor (see repair)."""
    since = {}
    for key, mine in by_entity.items():
        earliest = min(r.position for r in mine)
        if any(r.stored for r in mine) or (key in heads and heads[key][0] >= earliest):
            since[key] = earliest
    return since


def _province_of(locality: str) -> str:
    return registry().localities[locality].province


def _place(mine: list[Row], merged: list[Row], previous: Vector, out: Plan) -> None:
    """One entity's reports in order: the latest event of each counts, with the change from the value
    before it (a void one changes nothing); the others' delta is zero. Rows whose delta changes are
    written, and the entity's head with its newest report and value."""
    mine_ids = {r.identity for r in mine}
    after_mine, written = False, False
    for _, rows in groupby(merged, key=lambda r: r.position):
        report = list(rows)
        counted = max(report, key=lambda r: r.version)
        value = previous if counted.c == ZERO else counted.c  # a state's contribution is never zero: void
        for row in report:
            if after_mine:
                out.buckets.add(row.bucket)  # a late report's successor (or one a failed write may have left)
            wanted = _minus(value, previous) if row is counted else ZERO
            if not row.stored or row.d != wanted:
                row.d = wanted
                out.rows.append(row)
                out.buckets.add(row.bucket)
                written = True
        after_mine = any(row.identity in mine_ids for row in report)
        previous = value
    newest = merged[-1]
    if written:  # rewritten even when unchanged: heads then hold the rev of every write (see repair)
        out.heads[(newest.locality, newest.entity)] = (newest.position, previous)


def _outside_previous(stored_rows: list[Row], head: Head | None) -> Vector:
    """The entity's value just before the batch's earliest position: its head's value, the sum of all its
    rows' deltas, less those of its stored rows from that position on (_chains)."""
    value = ZERO if head is None else head[1]
    for row in stored_rows:
        value = _minus(value, row.d)
    return value


def repair(client: Client) -> None:
    """Bring heads level with counted after a write that stopped between the two (or a crash there).

    Every write of counted rows also writes its entities' heads with the same rev, so counted rows
    with a rev above the newest head's are those a failed write left; their entities' heads are
    computed again from counted. A full read, but only when a connection is opened."""
    newest_head = f"(SELECT max(rev) FROM {HEADS})"
    if not int(
        client.query(f"SELECT count() FROM {COUNTED} WHERE entity != '' AND rev > {newest_head}").result_rows[0][0]
    ):
        return
    values = ", ".join(f"sum(d_{m})" for m in METRICS)
    client.command(
        f"INSERT INTO {HEADS} SELECT locality, entity, max(p).1, max(p).2, {values}, {{rev:UInt64}}"
        f" FROM (SELECT *, {_POSITION} AS p FROM {COUNTED} FINAL WHERE entity != '' AND report != '{MOVED}'"
        f" AND (locality, entity) IN (SELECT locality, entity FROM {COUNTED} WHERE rev > {newest_head}))"
        " GROUP BY locality, entity",
        parameters={"rev": next_rev()},
    )


# Row.position in SQL: a correction's report key "<entity>|<event_id>|<µs>" names it.
_PARTS = "splitByChar('|', report)"
_POSITION = (
    f"if(report = '', (occurred_at, event_id), (fromUnixTimestamp64Micro(toInt64({_PARTS}[-1]), 'UTC'),"
    f" arrayStringConcat(arraySlice({_PARTS}, 2, length({_PARTS}) - 2), '|')))"
)


def write_identities(client: Client, new: list[Row]) -> None:
    """Where each newly counted event lies, by its identity (what _stored looks up); and each report a new
    correction is in (what _corrected looks up: a report without one has no other row to read)."""
    if new:
        keys = [[r.key, r.hour] for r in new] + [[f"report|{r.locality}|{r.report}", r.hour] for r in new if r.own]
        client.insert(IDENTITIES, keys, column_names=["key", "hour"])


def write_counted(client: Client, rows: list[Row], rev: int) -> None:
    """New and rewritten rows in one insert: one part, all or nothing."""
    if rows:
        client.insert(COUNTED, [r.values(rev) for r in rows], column_names=list(COUNTED_COLUMNS))


def write_heads(client: Client, heads: dict[tuple[str, str], Head], rev: int) -> None:
    """The entities' newest versions, with the rev of the counted rows written with them (see repair)."""
    if heads:
        client.insert(
            HEADS,
            [[locality, entity, at, event_id, *c, rev] for (locality, entity), ((at, event_id), c) in heads.items()],
            column_names=["locality", "entity", "occurred_at", "event_id", *(f"c_{m}" for m in METRICS), "rev"],
        )


def _sums(prefix: str = "") -> str:
    return ", ".join(f"sum({prefix}{m})" for m in METRICS)


_ROLLUP_COLUMNS = "scope, code, province, area, {bucket}, " + ", ".join(METRICS) + ", rev"


def rewrite(client: Client, buckets: Iterable[tuple[str, datetime]], rev: int) -> None:
    """Rewrite these (locality, hour) buckets, then the province, nation, urban and rural hours and
    the days they lie in, each from the rows below it."""
    buckets = sorted(set(buckets))
    if not buckets:
        return
    hours = sorted({h for _, h in buckets})
    provinces = sorted({(h, _province_of(loc)) for loc, h in buckets})
    client.command(f"TRUNCATE TABLE {BUCKETS}")
    client.insert(BUCKETS, buckets, column_names=["locality", "hour"])
    client.command(
        f"INSERT INTO {HOUR} ({_ROLLUP_COLUMNS.format(bucket='hour')})"
        " SELECT if(level = 'ward', 'ward', 'province_self'), locality, any(province), any(area), hour,"
        f" {_sums('d_')}, {{rev:UInt64}}"
        f" FROM {COUNTED} FINAL WHERE hour IN {{hours:Array(DateTime('UTC'))}}"
        f" AND (locality, hour) IN (SELECT locality, hour FROM {BUCKETS}) GROUP BY hour, level, locality",
        parameters={"hours": hours, "rev": rev},
    )
    client.command(
        f"INSERT INTO {HOUR} ({_ROLLUP_COLUMNS.format(bucket='hour')})"
        f" SELECT 'province', province, province, '', hour, {_sums()}, {{rev:UInt64}} FROM {HOUR} FINAL"
        " WHERE hour IN {hours:Array(DateTime('UTC'))} AND scope IN ('ward', 'province_self')"
        " AND (hour, province) IN {provinces:Array(Tuple(DateTime('UTC'), String))} GROUP BY hour, province"
        f" UNION ALL SELECT 'nation', 'VN', '', '', hour, {_sums()}, {{rev:UInt64}} FROM {HOUR} FINAL"
        " WHERE hour IN {hours:Array(DateTime('UTC'))} AND scope IN ('ward', 'province_self') GROUP BY hour"
        f" UNION ALL SELECT area, area, '', area, hour, {_sums()}, {{rev:UInt64}} FROM {HOUR} FINAL"
        " WHERE hour IN {hours:Array(DateTime('UTC'))} AND scope = 'ward' GROUP BY hour, area",
        parameters={"hours": hours, "provinces": provinces, "rev": rev},
    )
    above = sorted({p for _, p in provinces} | {"VN", "urban", "rural"})  # the localities come from BUCKETS
    rewrite_days(
        client,
        calendar(),
        hours,
        f"(code IN (SELECT locality FROM {BUCKETS}) OR code IN {{above:Array(String)}})",
        {"above": above},
        rev,
    )


def rewrite_days(
    client: Client, cal: Calendar, hours: list[datetime], which: str, params: dict[str, Any], rev: int
) -> None:
    """Rewrite the local days these UTC hours lie in, for the scopes `which` selects, from the hour rollups.

    A local day of a whole-hour zone is whole UTC hours, [start, end) of cal.day(): its row is their sum."""
    days = sorted({cal.day_of(h.replace(tzinfo=UTC)) for h in hours})
    client.command(
        f"INSERT INTO {DAY} ({_ROLLUP_COLUMNS.format(bucket='day')})"
        f" SELECT scope, code, any(province), any(area), toDate(hour, {{tz:String}}) AS day, {_sums()}, {{rev:UInt64}}"
        f" FROM {HOUR} FINAL"
        " WHERE hour >= {start:DateTime('UTC')} AND hour < {end:DateTime('UTC')}"
        f" AND toDate(hour, {{tz:String}}) IN {{days:Array(Date)}} AND {which} GROUP BY day, scope, code",
        parameters={
            **params,
            "tz": cal.name,
            "start": _naive_utc(cal.start_of(days[0])),
            "end": _naive_utc(cal.day(days[-1])[1]),
            "days": days,
            "rev": rev,
        },
    )


def _naive_utc(moment: datetime) -> datetime:
    """A DateTime('UTC') parameter, as the hours are passed: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)
