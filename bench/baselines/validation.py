"""validate_eps: the contract's own validation alone, on the packed messages, as the worker judges them.

One process, no Kafka: schemas.events.parse_message on each message value. Any worker that validates
every event cannot drain faster than this.
"""

from __future__ import annotations

import time

from schemas.events import parse_message


def run(values: list[bytes]) -> float:
    """Events (valid or refused) judged per second."""
    start, judged = time.perf_counter(), 0
    for value in values:
        events, rejections = parse_message(value)
        judged += len(events) + len(rejections)
    return judged / (time.perf_counter() - start)
