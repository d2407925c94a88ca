"""The state of one locality, as the worker keeps it: exact under resends, reordering and replays.

Applying an event is idempotent and order-free: a state entity keeps the event with the greatest
version (occurred_at, event_id), a flow is kept once per event_id. So reprocessing any event after a
crash or a rebalance changes nothing, and the figures are a pure function of the set of events seen.
The whole locality is one table value, written in one changelog record: it never half-applies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.events import Event
from schemas.metrics import FLOW_METRICS, FLOW_TYPES, METRICS, contribution, entity_of, version

HOUR_S = 3600
# The four flow metrics, in the order hour buckets store them.
_FLOW_INDEX = [METRICS.index(m) for m in FLOW_METRICS]


@dataclass
class LocalityState:
    # entity -> [occurred_at in µs, event_id, metric vector while current]
    entities: dict[str, list[Any]] = field(default_factory=dict)
    # flow event_id -> [hour start in s, the four flow counts]
    flows: dict[str, list[int]] = field(default_factory=dict)
    # ids of state events seen, so that "events received" counts each event once
    state_ids: set[str] = field(default_factory=set)
    last_reported_ms: int = 0  # newest Kafka timestamp of an event from this locality
    newest_event_us: int = 0  # newest occurred_at
    # Derived from the above, kept up to date by apply() so a snapshot costs O(hours), not O(events).
    figures: list[int] = field(init=False)
    hours: dict[int, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.figures = [0] * len(METRICS)
        self.hours = {}
        for _, _, vector in self.entities.values():
            self._add(vector, +1)
        for hour, *counts in self.flows.values():
            self._add_flow(hour, counts)

    def _add(self, vector: list[int], sign: int) -> None:
        for i, v in enumerate(vector):
            if v:
                self.figures[i] += sign * v

    def _add_flow(self, hour: int, counts: list[int]) -> None:
        bucket = self.hours.setdefault(hour, [0] * len(FLOW_METRICS))
        for i, c in enumerate(counts):
            bucket[i] += c
            self.figures[_FLOW_INDEX[i]] += c

    def apply(self, event: Event, received_ms: int) -> bool:
        """Fold one valid event in; True if any figure or freshness changed."""
        changed = False
        if received_ms > self.last_reported_ms:
            self.last_reported_ms, changed = received_ms, True
        occurred_us, event_id = version(event)
        if occurred_us > self.newest_event_us:
            self.newest_event_us, changed = occurred_us, True
        if event.type in FLOW_TYPES:
            if event_id in self.flows:
                return changed
            v = contribution(event)
            hour = occurred_us // 1_000_000 // HOUR_S * HOUR_S
            counts = [v[i] for i in _FLOW_INDEX]
            self.flows[event_id] = [hour, *counts]
            self._add_flow(hour, counts)
            return True
        entity = entity_of(event)
        assert entity is not None
        if event_id not in self.state_ids:  # a new report, even one an earlier-dated event outranks
            self.state_ids.add(event_id)
            changed = True
        current = self.entities.get(entity)
        if current is not None and (current[0], current[1]) >= (occurred_us, event_id):
            return changed
        if current is not None:
            self._add(current[2], -1)
        vector = list(contribution(event))
        self.entities[entity] = [occurred_us, event_id, vector]
        self._add(vector, +1)
        return True

    @property
    def events(self) -> int:
        return len(self.state_ids) + len(self.flows)

    def snapshot(self) -> dict[str, Any]:
        """What the live view needs of this locality: small, and enough to aggregate anywhere."""
        return {
            "figures": list(self.figures),
            "events": self.events,
            "last_reported_ms": self.last_reported_ms,
            "newest_event_us": self.newest_event_us,
            "hours": {str(h): list(c) for h, c in self.hours.items()},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "entities": self.entities,
            "flows": self.flows,
            "state_ids": list(self.state_ids),
            "last_reported_ms": self.last_reported_ms,
            "newest_event_us": self.newest_event_us,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "LocalityState":
        if not data:
            return cls()
        return cls(
            entities=data["entities"],
            flows=data["flows"],
            state_ids=set(data["state_ids"]),
            last_reported_ms=data["last_reported_ms"],
            newest_event_us=data["newest_event_us"],
        )
