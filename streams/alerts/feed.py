"""What the counting path tells a province's alert owner about a changed ward, and the owner's ticks."""

from __future__ import annotations

import time

import orjson

from streams.state import LocalityState


def feed_record(states: list[LocalityState]) -> bytes:
    """Some wards' absolute states (a ward's event count versions it) and the counts of the months they
    changed (LocalityState.take_months, which this takes): replays and repeats change nothing."""
    wards = [[s.locality, s.events, s.last_reported_ms, s.figures, s.take_months()] for s in states]
    return orjson.dumps({"type": "wards", "wards": wards})


def period_record(action: bytes | None) -> bytes:
    """An operator's approval action as the periods topic holds it (schemas.periods.Action), for the owner
    of its province, in the topic's order; as text, so that a record that is no action reaches the owner too
    (which refuses it, as the sink's writer does)."""
    return orjson.dumps({"type": "period", "action": (action or b"").decode("utf-8", "replace")})


def tick_record() -> bytes:
    return orjson.dumps({"type": "tick", "at": int(time.time() * 1000)})


def command_record(command: str, alert_id: str, by: str, until: str | None = None) -> bytes:
    """An operator's ack or silence, for the alert's province owner."""
    return orjson.dumps({"type": "command", "command": command, "id": alert_id, "by": by, "until": until})
