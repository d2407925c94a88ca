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
from sinks.warehouse.archive import FROM_MONTH, PLACED, WITH_ROOTS, current_states, flow_reports, roots
from sinks.warehouse.tables import ARCHIVE, PERIOD_ACTIONS, ROLLUP_DAY

STATE_METRICS = tuple(m for m in METRICS if m not in FLOW_METRICS)  # a state entity's, in METRICS order


@dataclass(frozen=True)
class Named:
    doc: str
    sql: str
    params: dict[
        str, str
    ]  # each parameter's kind: date (YYYY-MM-DD), moment (YYYY-MM-DD HH:MM:SS[.ffffff], UTC), text, texts, counts


class QueryRefused(ValueError):
    """Not a named query or not its parameters; the message says what is accepted."""


class UnknownQuery(QueryRefused):
    pass


def _sums(prefix: str = "") -> str:
    return ", ".join(f"sum({prefix}{m}) AS {m}" for m in METRICS)


_PLAIN = ", ".join(f"{m} AS x_{m}" for m in METRICS)
_UNTIL = "{until:DateTime64(6, 'UTC')}"
# An approval's positions: ends[p + 1] is the first offset of partition p it does not cover; no ends: all rows.
_COVERED = "(empty({ends:Array(Int64)}) OR toInt64(offset) < arrayElement({ends:Array(Int64)}, partition + 1))"
_IN_PROVINCE = "(province = {province:String} OR {province:String} = '')"
_CUMULATIVE = ", ".join(f"sum({m}) OVER (PARTITION BY code ORDER BY day) AS {m}" for m in METRICS)


def _recount(where: str) -> str:
    """Each locality's figures from the archive up to until, of the rows `where` keeps: each state entity's
    current report, each flow report (its latest event, in its original's place). One text for the
    recount and a period's figures, so they count alike."""
    return f"""
        SELECT locality, {_sums('x_')} FROM (
            SELECT locality, {_PLAIN}
            FROM ({current_states(where, f'at <= {_UNTIL}')})
            UNION ALL
            SELECT locality, {_PLAIN}
            FROM ({flow_reports(where)})
            WHERE at <= {_UNTIL}
        ) GROUP BY locality
        """


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
        _recount("1"),
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
        "each entity's current state metrics (its latest report that is not void)",
        f"SELECT locality, entity, [{', '.join(STATE_METRICS)}] AS contribution FROM ({current_states()})",
        {},
    ),
    "entity_history": Named(
        "every archived event of one entity of one locality (corrections too), in event-time order",
        "SELECT event_id, type, occurred_at, received_at, payload, void, supersedes_id, supersedes_at, map,"
        f" sent_locality, sent_via FROM {ARCHIVE} FINAL"
        " WHERE locality = {locality:String} AND entity = {entity:String} ORDER BY occurred_at, event_id",
        {"locality": "text", "entity": "text"},
    ),
    "period_figures": Named(
        "each locality's figures up to until (a UTC DateTime64) of one province ('' for all), counting only the"
        " archive rows an approval's positions cover (ends; [] for every row)",
        _recount(f"{_IN_PROVINCE} AND {_COVERED}"),
        {"until": "moment", "province": "text", "ends": "counts"},
    ),
    "period_late": Named(
        "events placed up to until (a correction: in its original's place) of one province that the positions"
        " (ends) do not cover: arrived after an approval",
        f"{roots(_IN_PROVINCE)} SELECT count() AS events, arraySlice(groupArray(event_id), 1, 100) AS event_ids"
        f" FROM {WITH_ROOTS} WHERE {PLACED} <= {{until:DateTime64(6, 'UTC')}} AND {_IN_PROVINCE}"
        f" AND NOT {_COVERED}",
        {"until": "moment", "province": "text", "ends": "counts"},
    ),
    "period_activity": Named(
        "per locality: its events in [since, until] and when the broker first received one (appended_at)",
        "SELECT locality, province, count() AS events, min(appended_at) AS first_appended"
        f" FROM {ARCHIVE} FINAL WHERE occurred_at >= {{since:DateTime64(6, 'UTC')}}"
        f" AND occurred_at <= {{until:DateTime64(6, 'UTC')}} AND {_IN_PROVINCE} GROUP BY locality, province",
        {"since": "moment", "until": "moment", "province": "text"},
    ),
    "archive_positions": Named(
        "per partition of the events topic: one past the highest archived offset",
        f"SELECT partition, max(offset) + 1 AS end FROM {ARCHIVE} GROUP BY partition ORDER BY partition",
        {},
    ),
    "period_actions": Named(
        "every action on reporting periods ('' for every period), applied or refused, in the topic's order",
        "SELECT action_id, period, province, action, expected, by, role, at, outcome, reason, status_after, ends,"
        f" figures, topic_partition, topic_offset FROM {PERIOD_ACTIONS} FINAL"
        " WHERE period = {period:String} OR {period:String} = ''"
        " ORDER BY period, province, topic_offset",
        {"period": "text"},
    ),
    "period_action": Named(
        "one action by its action_id: whether the writer applied or refused it, and why",
        "SELECT action_id, period, province, action, outcome, reason, status_after, by, role, at"
        f" FROM {PERIOD_ACTIONS} FINAL WHERE action_id = {{action_id:String}}",
        {"action_id": "text"},
    ),
    "report_history": Named(
        "every archived flow event of one locality that is the event_id given or names it (its corrections)",
        "SELECT event_id, type, occurred_at, received_at, payload, void, supersedes_id, supersedes_at, map,"
        f" sent_locality, topic, sent_via FROM {ARCHIVE} FINAL WHERE locality = {{locality:String}} AND entity = ''"
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
    "counts": "a list of whole numbers",
}


def _valid(kind: str, value: Any) -> bool:
    """Checked here, so that a bad value is a refused request and never a failed query (which the sink
    would take for ClickHouse being down)."""
    if kind == "texts":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "counts":
        return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
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
