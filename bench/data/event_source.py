"""The benchmark's events, from the project's one generator, and the messages each stage sends."""

from __future__ import annotations

from typing import Any

import orjson

from producers.cli import CHUNK_LINES
from producers.publisher import accept
from producers.publisher import pack as publisher_pack
from producers.simulate import simulated_events

RESEND_SHARE = 0.05
LATE_SHARE = 0.05


def source(n: int, seed: int) -> tuple[list[dict[str, Any]], str]:
    """n events of the whole country in delivery order, and a line saying what they are."""
    events = list(simulated_events(seed, n, resend_share=RESEND_SHARE, reorder_share=LATE_SHARE))
    return events, f"producers.simulate (seed {seed}, {RESEND_SHARE:.0%} resends, {LATE_SHARE:.0%} late)"


def encode(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(e) for e in events]


def pack(events: list[dict[str, Any]], batch_size: int = 500) -> list[tuple[str, bytes, int]]:
    """(key, value, events in it): the messages `p06 publish` sends for these lines, packed per
    locality by the publisher's own code on each chunk of the file it reads."""
    out: list[tuple[str, bytes, int]] = []
    for start in range(0, len(events), CHUNK_LINES):
        valid, _ = accept(encode(events[start : start + CHUNK_LINES]))  # the lines as bench files hold them
        out += [(m.key, m.value, m.events) for m in publisher_pack(valid, batch_size)]
    return out
