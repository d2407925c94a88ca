"""The figures the pipeline must show: the contract decides which events are valid, and the
independent recount (bench.recount, none of the production counting code) counts them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.events import InvalidEvent, validate_event
from sinks.checks.recount import expected_live, identity


@dataclass(frozen=True)
class Expected:
    nation: dict[str, int]
    provinces: dict[str, dict[str, int]]
    valid_distinct: (
        int  # distinct events (bench.recount.identity) that pass the contract: the rows the archive must hold
    )
    invalid: int


def recount(events: list[dict[str, Any]]) -> Expected:
    valid, ids, invalid = [], set(), 0
    for raw in events:
        try:
            validate_event(raw)
        except InvalidEvent:
            invalid += 1
            continue
        valid.append(raw)
        ids.add(identity(raw))
    figures = expected_live(valid)
    return Expected(figures["nation"], figures["provinces"], len(ids), invalid)
