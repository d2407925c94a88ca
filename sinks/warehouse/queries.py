"""The named queries: every read the reports, reconcile, history and the bench make through a reader.

The sink's API answers these names only (POST /query {"name": ..., "params": {...}}), never SQL text
from a request: a parameter is bound by ClickHouse into its typed placeholder ({as_of:Date}), so no
request can change what runs, and no table function (file, url, s3, remote...) is ever reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas.metrics import FLOW_METRICS, METRICS
from sinks.warehouse.archive import FROM_MONTH, flow_reports
from sinks.warehouse.tables import ARCHIVE, ROLLUP_DAY

STATE_METRICS = tuple(m for m in METRICS if m not in FLOW_METRICS)  # a state entity's, in METRICS order


@dataclass(frozen=True)
class Named:
    doc: str
    sql: str
    params: dict[
        str, str
    ]  # each parameter's kind: date (YYYY-MM-DD), moment (YYYY-MM-DD HH:MM:SS[.ffffff], UTC), text, texts


class QueryRefused(ValueError):
    """Not a named query or not its parameters; the message says what is accepted."""


class UnknownQuery(QueryRefused):
    pass


def _sums(prefix: str = "") -> str:
    return ", ".join(f"sum({prefix}{m}) AS {m}" for m in METRICS)


_LATEST = ", ".join(f"argMax({m}, (occurred_at, event_id)) AS x_{m}" for m in METRICS)
_PLAIN = ", ".join(f"{m} AS x_{m}" for m in METRICS)
_STATE = ", ".join(f"argMax({m}, (occurred_at, event_id))" for m in STATE_METRICS)
_CUMULATIVE = ", ".join(f"sum({m}) OVER (PARTITION BY code ORDER BY day) AS {m}" for m in METRICS)

NAMED: dict[str, Named] = {
    "rollup_sums": Named(
        "each scope's figures summed from the day rollups up to as_of (a Date: a day of the country's calendar)",
        f"SELECT scope, code, {_sums()} FROM {ROLLUP_DAY} FINAL"
        " WHERE day <= {as_of:Date} AND scope != 'province_self' GROUP BY scope, code",
        {"as_of": "date"},
    ),
    # x_ aliases: a ClickHouse alias named like a column replaces that column everywhere, WHERE too.
    "locality_recount": Named(
        "each locality's figures recounted from the raw archive up to until (a UTC DateTime64)",
        f"""
        SELECT locality, {_sums('x_')} FROM (
            SELECT locality, {_LATEST}
            FROM {ARCHIVE} FINAL
            WHERE entity != '' AND occurred_at <= {{until:DateTime64(6, 'UTC')}}
            GROUP BY locality, entity
            UNION ALL
            SELECT locality, {_PLAIN}
            FROM ({flow_reports()})
            WHERE at <= {{until:DateTime64(6, 'UTC')}}
        ) GROUP BY locality
        """,
        {"until": "moment"},
    ),
    "activity": Named(
        "per locality: when it last reported and its distinct events up to until; province '' for all",
        "SELECT locality, max(occurred_at) AS last_reported_at, uniqExact(event_id, toDate(occurred_at)) AS events"
        f" FROM {ARCHIVE} WHERE occurred_at <= {{until:DateTime64(6, 'UTC')}}"
        " AND (province = {province:String} OR {province:String} = '') GROUP BY locality",
        {"until": "moment", "province": "text"},
    ),
    "daily_series": Named(
        "cumulative figures at the end of each day with data, for the rollup scopes given",
        f"SELECT code, day, {_CUMULATIVE} FROM (SELECT code, day, {_sums()}"
        f" FROM {ROLLUP_DAY} FINAL WHERE scope IN {{scopes:Array(String)}} GROUP BY code, day)"
        " ORDER BY code, day",
        {"scopes": "texts"},
    ),
    "latest_states": Named(
        "each entity's latest state metrics (argMax over occurred_at, event_id)",
        f"SELECT locality, entity, [{_STATE}] AS contribution FROM {ARCHIVE} FINAL"
        " WHERE entity != '' GROUP BY locality, entity",
        {},
    ),
    "entity_history": Named(
        "every archived event of one entity of one locality, in event-time order",
        f"SELECT event_id, type, occurred_at, received_at, payload, map, sent_locality FROM {ARCHIVE} FINAL"
        " WHERE locality = {locality:String} AND entity = {entity:String} ORDER BY occurred_at, event_id",
        {"locality": "text", "entity": "text"},
    ),
    "report_history": Named(
        "every archived flow event of one locality that is the event_id given or names it (its corrections)",
        "SELECT event_id, type, occurred_at, received_at, payload, void, supersedes_id, supersedes_at, map,"
        f" sent_locality, topic FROM {ARCHIVE} FINAL WHERE locality = {{locality:String}} AND entity = ''"
        " AND (event_id = {event_id:String} OR supersedes_id = {event_id:String}) ORDER BY occurred_at, event_id",
        {"locality": "text", "event_id": "text"},
    ),
    "archive_count": Named(
        "archived events (after deduplication) with occurred_at >= since (a UTC DateTime64)",
        f"SELECT count() AS n FROM {ARCHIVE} FINAL"
        f" WHERE {FROM_MONTH} AND occurred_at >= {{since:DateTime64(6, 'UTC')}}",
        {"since": "moment"},
    ),
    "archive_identities": Named(
        "archived rows and distinct event identities (locality, event_id, UTC day): equal when nothing is doubled",
        f"SELECT count() AS rows, uniqExact(locality, event_id, toDate(occurred_at)) AS ids FROM {ARCHIVE} FINAL",
        {},
    ),
    "archive_event_ids": Named(
        "every distinct archived event_id",
        f"SELECT DISTINCT event_id FROM {ARCHIVE} FINAL",
        {},
    ),
    "archive_rows": Named(
        "every archived event: event_id, UTC day, payload and where it was read (partition, offset)",
        "SELECT event_id, toString(toDate(occurred_at)) AS day, payload, partition, offset"
        f" FROM {ARCHIVE} FINAL ORDER BY day, event_id",
        {},
    ),
}


def catalogue() -> dict[str, dict[str, Any]]:
    """What a refusal lists: each name with its parameters and what it returns."""
    return {name: {"params": q.params, "doc": q.doc} for name, q in NAMED.items()}


def resolve(name: Any, params: Any) -> tuple[str, dict[str, Any]]:
    """The SQL of a named query and its checked parameters, or QueryRefused naming what is wrong."""
    if not isinstance(name, str) or name not in NAMED:
        raise UnknownQuery(f"no named query {name!r}; the names are: {', '.join(NAMED)}")
    query = NAMED[name]
    params = params if params is not None else {}
    if not isinstance(params, dict):
        raise QueryRefused(f"params of {name!r} is an object of {', '.join(query.params) or 'nothing'}")
    if set(params) != set(query.params):
        raise QueryRefused(f"{name!r} takes exactly the params {sorted(query.params)}, got {sorted(params)}")
    for key, kind in query.params.items():
        if not _valid(kind, params[key]):
            raise QueryRefused(f"param {key!r} of {name!r} must be {KINDS[kind]}, got {params[key]!r}"[:300])
    return query.sql, params


KINDS = {
    "date": "a date YYYY-MM-DD",
    "moment": "a UTC time YYYY-MM-DD HH:MM:SS[.ffffff]",
    "text": "a string",
    "texts": "a list of strings",
}


def _valid(kind: str, value: Any) -> bool:
    """Checked here, so that a bad value is a refused request and never a failed query (which the sink
    would take for ClickHouse being down)."""
    if kind == "texts":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not isinstance(value, str):
        return False
    try:
        if kind == "date":
            date.fromisoformat(value)
        elif kind == "moment":
            datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f" if "." in value else "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True
