"""The twelve metrics and the counting rules, defined once as data.

States (a task, a village, a system) count by their current value: the event with the latest
`occurred_at` wins, a tie going to the larger `event_id`. Flows (e-ID activations, dossiers) add
their counts once per event. An event is its locality, event_id and UTC day of occurred_at; of copies
with other content (content_digest) the first in the log counts (docs/streams.md).
"""

from __future__ import annotations

import functools
import time
import zlib
from dataclasses import dataclass

import orjson

from .events import Event

METRICS: tuple[str, ...] = (
    "tasks_reported",
    "tasks_completed",
    "villages",
    "villages_without_electricity",
    "villages_without_internet",
    "eid_activations",
    "dossiers_received",
    "dossiers_online",
    "dossiers_on_time",
    "systems_assessed",
    "systems_failed",
    "open_findings",
)
METRIC_INDEX = {name: i for i, name in enumerate(METRICS)}
STATE_TYPES = frozenset({"task.status", "village.status", "security.assessment"})
FLOW_TYPES = frozenset({"eid.activations", "service.dossiers"})
FLOW_METRICS = ("eid_activations", "dossiers_received", "dossiers_online", "dossiers_on_time")  # summed per hour
TOTAL_TASKS = 225

Vector = tuple[int, ...]
ZERO: Vector = (0,) * len(METRICS)


def _vector(**values: int) -> Vector:
    return tuple(values.get(name, 0) for name in METRICS)


def entity_of(event: Event) -> str | None:
    """The state entity an event describes within its locality ("village:V12"), None for a flow."""
    p = event.payload
    match event.type:
        case "task.status":
            return f"task:{p.task_id}"  # type: ignore[union-attr]
        case "village.status":
            return f"village:{p.village_id}"  # type: ignore[union-attr]
        case "security.assessment":
            return f"system:{p.system_id}"  # type: ignore[union-attr]
    return None


def contribution(event: Event) -> Vector:
    """What this event adds to its locality's figures while it is current (state) or counted (flow)."""
    if event.void:
        return ZERO  # a void correction counts nothing (a state's payload holds its entity alone)
    p = event.payload
    match event.type:
        case "task.status":
            return _vector(tasks_reported=1, tasks_completed=int(p.status == "completed"))  # type: ignore[union-attr]
        case "village.status":
            return _vector(
                villages=1,
                villages_without_electricity=int(not p.electricity),  # type: ignore[union-attr]
                villages_without_internet=int(not p.internet),  # type: ignore[union-attr]
            )
        case "security.assessment":
            return _vector(
                systems_assessed=1,
                systems_failed=int(p.result == "failed"),  # type: ignore[union-attr]
                open_findings=p.open_findings,  # type: ignore[union-attr]
            )
        case "eid.activations":
            return _vector(eid_activations=p.count)  # type: ignore[union-attr]
        case "service.dossiers":
            return _vector(
                dossiers_received=p.received,  # type: ignore[union-attr]
                dossiers_online=p.online,  # type: ignore[union-attr]
                dossiers_on_time=p.on_time,  # type: ignore[union-attr]
            )
    raise ValueError(f"no counting rule for {event.type}")


def version(event: Event) -> tuple[int, str]:
    """Orders events of one state entity: later occurred_at wins, then the larger event_id."""
    return (int(event.occurred_at.timestamp() * 1_000_000), event.event_id)


@functools.lru_cache(maxsize=4096)
def _iso_day(day_number: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day_number * 86_400))


def day_of(occurred_us: int) -> str:
    """The UTC day of an instant: part of an event's identity."""
    return _iso_day(occurred_us // 86_400_000_000)


def identity(event: Event) -> tuple[str, str]:
    """What makes copies one event (within its locality): its event_id and the UTC day it occurred."""
    return event.event_id, day_of(version(event)[0])


def report_of(event: Event) -> tuple[str, int]:
    """The report an event belongs to: its original's event_id and instant (µs), itself when it
    corrects nothing. The report counts in the original's hour; its latest event is the one counted."""
    named = event.supersedes
    if named is None:
        return event.event_id, int(event.occurred_at.timestamp() * 1_000_000)
    return named.event_id, int(named.occurred_at.timestamp() * 1_000_000)


def _kind(event: Event) -> str:
    """What a report is of: a flow's type, a state's entity ("village:V1", whose kind names its type)."""
    return entity_of(event) or event.type


def report_key(event: Event) -> str:
    """report_of as one string with what it is of ("eid.activations|<id>|<µs>", a state's entity instead
    of its type: "task:T001|<id>|<µs>"): a report is of one type, and of one entity.
    The report the event names; a chain (it names a correction) resolves further, from what arrived."""
    event_id, at_us = report_of(event)
    return f"{_kind(event)}|{event_id}|{at_us}"


def own_key(event: Event) -> str:
    """The key a correction naming this event names it by (report_key's form)."""
    return f"{_kind(event)}|{event.event_id}|{int(event.occurred_at.timestamp() * 1_000_000)}"


def key_instant(key: str) -> int:
    """The instant (µs) a report key names."""
    return int(key.rsplit("|", 1)[1])


def key_parts(key: str) -> tuple[str, tuple[int, str]]:
    """A report key's kind (a flow's type, a state's entity), and the instant (µs) and event_id it names: a
    state entity's reports are ordered by them. (An event_id may hold "|"; a kind and an instant do not.)"""
    kind, named = key.split("|", 1)
    event_id, at_us = named.rsplit("|", 1)
    return kind, (int(at_us), event_id)


def content_digest(event: Event) -> int:
    """Tells two copies of one event apart: its type, instant and payload (not the sender's zone),
    and what it corrects, if anything (an ordinary event's digest is as before corrections)."""
    content: list[object] = [event.type, event.occurred_at, vars(event.payload)]  # occurred_at: UTC, an instant
    if event.supersedes is not None:
        content += [event.supersedes.event_id, event.supersedes.occurred_at, event.void]
    return zlib.crc32(orjson.dumps(content, option=orjson.OPT_SORT_KEYS))


def add(a: Vector, b: Vector) -> Vector:
    return tuple(x + y for x, y in zip(a, b))


def sub(a: Vector, b: Vector) -> Vector:
    return tuple(x - y for x, y in zip(a, b))


def as_dict(v: Vector) -> dict[str, int]:
    return dict(zip(METRICS, v))


@dataclass(frozen=True)
class Indicator:
    """A figure for reports, defined as data: numerator / denominator against a target share. Its title
    in each language is the catalogue's indicator.NAME (schemas/messages.toml)."""

    name: str
    numerator: str  # a metric, or "villages - X" style derived below
    denominator: str
    target: float | None = None


INDICATORS: tuple[Indicator, ...] = (
    Indicator("villages_with_electricity_share", "villages_with_electricity", "villages", 1.0),
    Indicator("villages_with_internet_share", "villages_with_internet", "villages", 1.0),
    Indicator("tasks_completed_share", "tasks_completed", "total_tasks", 1.0),
    Indicator("dossiers_online_share", "dossiers_online", "dossiers_received"),
    Indicator("dossiers_on_time_share", "dossiers_on_time", "dossiers_received"),
    Indicator("systems_failed_share", "systems_failed", "systems_assessed", 0.0),
)


def indicator_values(figures: dict[str, int], provinces: int = 1) -> dict[str, float | None]:
    """Each indicator's share for one scope's figures; None where the denominator is zero."""
    derived = dict(figures)
    derived["villages_with_electricity"] = figures["villages"] - figures["villages_without_electricity"]
    derived["villages_with_internet"] = figures["villages"] - figures["villages_without_internet"]
    derived["total_tasks"] = TOTAL_TASKS * provinces
    return {
        i.name: (derived[i.numerator] / derived[i.denominator] if derived[i.denominator] else None) for i in INDICATORS
    }
