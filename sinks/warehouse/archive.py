"""Events to rows of p06.archive, column-oriented for a fast insert.

`locality` is the 2025 code an event counts under; `sent_locality` the code as sent (a 2024 one when
`map` is '2024'). The archive keeps one row per event (locality, event_id, UTC day of occurred_at): of several copies
the one with the lowest offset in the locality's home partition (sinks/warehouse/sql/0004_archive_first_copy.sql).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from clickhouse_connect.driver.client import Client

from schemas.events import Event
from schemas.metrics import METRICS, contribution, entity_of
from schemas.registry import registry
from sinks.warehouse.tables import ARCHIVE as TABLE

# FINAL reads every partition whatever the WHERE on occurred_at (chDB 26.9: "Parts: 34/34"); the archive
# is partitioned by month and all copies of an event share its UTC day, so naming the partitions is exact.
# (do_not_merge_across_partitions_select_final would prune too, but a whole-archive recount then took
# 39 s and 1.8 GB instead of 32 s and 1.1 GB on the benchmark's year.)
FROM_MONTH = "_partition_id >= toString(toYYYYMM({since:DateTime64(6, 'UTC')}))"
COLUMNS: tuple[str, ...] = (
    "event_id",
    "type",
    "locality",
    "province",
    "level",
    "area",
    "entity",
    "occurred_at",
    "payload",
    *METRICS,
    "topic",
    "partition",
    "offset",
    "received_at",
    "map",
    "sent_locality",  # the map the code was sent on, and the code as sent (0006_sent_locality.sql)
    "appended_at",  # the broker's timestamp of the record: what timeliness is judged by (0009_periods.sql)
    "supersedes_id",
    "supersedes_at",
    "void",  # what a correction names, and whether it counts nothing (0010_corrections.sql)
    "sent_via",  # the topic its sender wrote: a province's ingestion topic, or the events topic (0010)
)
_NAMES_NOTHING = datetime(1970, 1, 1, tzinfo=UTC)  # supersedes_at of an event that corrects nothing


class Columns:
    """A batch being built: its rows, turned column-oriented for the insert."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def data(self) -> list[list]:
        """Column-oriented, as the insert wants it (one transpose per batch beats an append per cell)."""
        return [list(column) for column in zip(*self.rows)] if self.rows else [[] for _ in COLUMNS]

    def add(
        self,
        event: Event,
        topic: str,
        partition: int,
        offset: int,
        received: datetime,
        appended: datetime | None = None,
        sent_via: str = "",
    ) -> None:
        """appended: the record's broker timestamp (default: received, as for rows archived before 0009);
        sent_via: the topic the sender wrote (default: topic, where a national sender writes)."""
        place = registry().localities[event.locality]
        named = event.supersedes
        self.rows.append(
            (
                event.event_id,
                event.type,
                event.locality,
                place.province,
                place.level,
                place.area or "",
                entity_of(event) or "",
                event.occurred_at,
                orjson.dumps(event.payload_as_sent() or {}).decode(),
                *contribution(event),
                topic,
                partition,
                offset,
                received,
                event.map,
                event.code_as_sent,
                appended or received,
                named.event_id if named else "",
                named.occurred_at if named else _NAMES_NOTHING,
                int(event.void),
                sent_via or topic,
            )
        )


def insert(client: Client, columns: Columns, token: str) -> None:
    """One insert of the batch's rows; ClickHouse drops it when it carries a token it has seen
    (non_replicated_deduplication_window, 0001 and 0004), so a retried batch is archived once."""
    client.insert(
        TABLE,
        columns.data,
        column_names=list(COLUMNS),
        column_oriented=True,
        settings={"insert_deduplication_token": token},
    )


def now() -> datetime:
    return datetime.now(UTC)


def roots(where: str = "1") -> str:
    """WITH clause: `roots`, each archived correction's report (r_locality, r_type, r_entity, r_event_id,
    r_at: its own identity; root_id, root_at: the original its links lead to, or the earliest one named
    that is not archived). A correction naming a correction (of its type and entity) joins that one's
    report: the walk follows the links of the archived corrections `where` keeps."""
    return (
        "WITH RECURSIVE links AS (SELECT locality, type, entity, event_id, occurred_at, supersedes_id,"
        f" supersedes_at FROM {TABLE} FINAL WHERE supersedes_id != '' AND {where}),"
        " walk AS (SELECT locality, type, entity, event_id, occurred_at, supersedes_id AS to_id,"
        " supersedes_at AS to_at, 0 AS depth FROM links UNION ALL SELECT w.locality, w.type, w.entity,"
        " w.event_id, w.occurred_at, l.supersedes_id, l.supersedes_at, w.depth + 1 FROM walk AS w"
        " INNER JOIN links AS l ON l.locality = w.locality AND l.type = w.type AND l.entity = w.entity"
        " AND l.event_id = w.to_id AND l.occurred_at = w.to_at),"
        " roots AS (SELECT locality AS r_locality, type AS r_type, entity AS r_entity, event_id AS r_event_id,"
        " occurred_at AS r_at, argMax(to_id, depth) AS root_id, argMax(to_at, depth) AS root_at FROM walk"
        " GROUP BY locality, type, entity, event_id, occurred_at)"
    )


# The archive joined with its corrections' roots; PLACED: where an event counts (its report's instant),
# REPORT_ID: its report's original event_id.
WITH_ROOTS = (
    f"{TABLE} AS a FINAL LEFT JOIN roots ON a.locality = r_locality AND a.type = r_type AND a.entity = r_entity"
    " AND a.event_id = r_event_id AND a.occurred_at = r_at"
)
PLACED = "if(supersedes_id = '', occurred_at, root_at)"
STATES, FLOWS = "entity != ''", "entity = ''"
REPORT_ID = "if(supersedes_id = '', event_id, root_id)"


def reports(where: str = "1") -> str:
    """A subquery: each report of the archive as one row (locality, province, entity ('' for a flow), `at`
    and `original_id`: its original's instant and event_id, `void`, and the metrics of its latest event,
    the one that counts), chains resolved (roots). `where` filters the archived events (a report's
    events all occur at or after `at`); callers filter on `at`."""
    latest = ", ".join(f"argMax({m}, (occurred_at, event_id)) AS x_{m}" for m in (*METRICS, "void"))
    renamed = ", ".join(f"x_{m} AS {m}" for m in (*METRICS, "void"))
    return (
        f"{roots(where)} SELECT locality, province, entity, at, original_id, {renamed} FROM (SELECT locality,"
        f" province, entity, {PLACED} AS at, {REPORT_ID} AS original_id, {latest} FROM {WITH_ROOTS}"
        f" WHERE {where} GROUP BY locality, province, type, entity, original_id, at)"
    )


def current_states(where: str = "1", placed: str = "1") -> str:
    """A subquery: each state entity's current report among the events `where` keeps and the reports
    `placed` keeps (a condition on `at`, the original's instant): its latest by the original's instant
    and event_id whose counted event is not void (locality, province, entity, its metrics)."""
    latest = ", ".join(f"argMax({m}, (at, original_id)) AS y_{m}" for m in METRICS)
    renamed = ", ".join(f"y_{m} AS {m}" for m in METRICS)
    return (
        f"SELECT locality, province, entity, {renamed} FROM (SELECT locality, province, entity, {latest}"
        f" FROM ({reports(STATES + ' AND ' + where)}) WHERE void = 0 AND {placed} GROUP BY locality, province, entity)"
    )


def flow_reports(where: str = "1") -> str:
    """A subquery: each flow report of the archive as one row (locality, province, `at`: its original's
    instant, and the metrics of its latest event, the one that counts); see reports."""
    return f"SELECT * FROM ({reports(FLOWS + ' AND ' + where)})"
