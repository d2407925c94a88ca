"""What the counting path tells a province's alert owner about a changed ward, and the owner's ticks."""

from __future__ import annotations

import time

import orjson

from streams.state import LocalityState


def feed_record(states: list[LocalityState]) -> bytes:
    """Some wards' absolute states (a ward's event count versions it): replays and repeats change nothing."""
    return orjson.dumps(
        {"type": "wards", "wards": [[s.locality, s.events, s.last_reported_ms, s.figures] for s in states]}
    )


def tick_record() -> bytes:
    return orjson.dumps({"type": "tick", "at": int(time.time() * 1000)})


def command_record(command: str, alert_id: str, by: str, until: str | None = None) -> bytes:
    """An operator's ack or silence, for the alert's province owner."""
    return orjson.dumps({"type": "command", "command": command, "id": alert_id, "by": by, "until": until})
