"""What the counting path tells a province's alert owner about a changed ward, and the owner's ticks."""

from __future__ import annotations

import time

import orjson

from streams.state import LocalityState


def feed_record(state: LocalityState) -> bytes:
    """A ward's absolute state (its event count versions it): replays and repeats change nothing."""
    return orjson.dumps(
        {"ward": state.locality, "events": state.events, "last_ms": state.last_reported_ms, "figures": state.figures}
    )


def tick_record() -> bytes:
    return orjson.dumps({"tick": int(time.time() * 1000)})


def command_record(command: str, alert_id: str, by: str, until: str | None = None) -> bytes:
    """An operator's ack or silence, for the alert's province owner."""
    return orjson.dumps({"command": command, "id": alert_id, "by": by, "until": until})
