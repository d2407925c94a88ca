"""Time zones, in one place: every instant the project stores or compares is UTC.

Senders stamp their own zone (Vietnam: +07:00). A zone is converted, never dropped: dropping it
reads 08:00+07:00 as 08:00 UTC, seven hours late (issue 9). ClickHouse columns are UTC and come back
naive, so a naive value read from the warehouse is UTC; a naive value from anywhere else is an error.
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_utc(value: datetime) -> datetime:
    """The same instant, in UTC. A naive value has no known zone and is refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone; its instant is unknown")
    return value.astimezone(UTC)


def from_warehouse(value: datetime | str) -> datetime:
    """A DateTime read from ClickHouse (a UTC column, returned naive or as ISO text), made aware."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def clickhouse_param(value: datetime) -> str:
    """A query parameter for a DateTime('UTC') or DateTime64(6, 'UTC') placeholder."""
    return to_utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")
