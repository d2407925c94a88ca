"""The figures the pipeline must show, recounted straight from the events by schemas.metrics' rules."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.events import InvalidEvent, validate_event
from schemas.metrics import ZERO, Vector, add, as_dict, contribution, entity_of, version
from schemas.registry import registry


@dataclass(frozen=True)
class Expected:
    nation: dict[str, int]
    provinces: dict[str, dict[str, int]]
    valid_distinct: int  # distinct event_ids that pass the contract: the rows the archive must hold
    invalid: int


def recount(events: list[dict[str, Any]]) -> Expected:
    reg = registry()
    seen: set[str] = set()
    current: dict[tuple[str, str], tuple[tuple[int, str], Vector]] = {}  # (locality, entity) -> newest
    flows: dict[str, Vector] = {}
    invalid = 0
    for raw in events:
        if raw["event_id"] in seen:
            continue  # a resend: counted once
        try:
            e = validate_event(raw)
        except InvalidEvent:
            invalid += 1
            continue
        seen.add(e.event_id)
        entity = entity_of(e)
        if entity is None:
            flows[e.locality] = add(flows.get(e.locality, ZERO), contribution(e))
            continue
        key, v = (e.locality, entity), version(e)
        if key not in current or v > current[key][0]:
            current[key] = (v, contribution(e))
    provinces: dict[str, Vector] = {p: ZERO for p in reg.provinces}
    for (loc, _), (_, vec) in current.items():
        p = reg.localities[loc].province
        provinces[p] = add(provinces[p], vec)
    for loc, vec in flows.items():
        p = reg.localities[loc].province
        provinces[p] = add(provinces[p], vec)
    nation = ZERO
    for vec in provinces.values():
        nation = add(nation, vec)
    return Expected(as_dict(nation), {p: as_dict(v) for p, v in provinces.items()}, len(seen), invalid)
