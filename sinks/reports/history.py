"""`p06 history LOCALITY/KIND:ID`: every event that set one entity, in event-time order, and why the
current one is current (latest occurred_at; on a tie the larger event_id), per schemas.metrics.version."""

from __future__ import annotations

import json
from typing import Any

from schemas.registry import registry
from sinks.warehouse.reader import Reader

KINDS = ("task", "village", "system")


def parse_entity(text: str) -> tuple[str, str]:
    """'00070/village:V12' -> ('00070', 'village:V12'), or ValueError saying what is expected."""
    locality, _, entity = text.partition("/")
    kind, _, ident = entity.partition(":")
    if locality not in registry() or kind not in KINDS or not ident:
        raise ValueError(
            f"expected LOCALITY/KIND:ID with KIND one of {', '.join(KINDS)} (e.g. 00070/village:V12), got {text!r}"
        )
    return locality, entity


def history(reader: Reader, text: str) -> dict[str, Any]:
    locality, entity = parse_entity(text)
    events = reader.named("entity_history", {"locality": locality, "entity": entity})
    for event in events:
        event["payload"] = json.loads(event["payload"])
        event["current"] = False
    if events:
        current = events[-1]
        current["current"] = True
        current["why"] = _why(events)
        for event in events[:-1]:
            if event["received_at"] > current["received_at"]:
                event["why"] = "arrived after the current event but describes an earlier moment"
    place = registry().localities[locality]
    return {"locality": locality, "name": place.name, "entity": entity, "events": events}


def _why(events: list[dict[str, Any]]) -> str:
    if len(events) == 1:
        return "the only event for this entity"
    current, before = events[-1], events[-2]
    if before["occurred_at"] == current["occurred_at"]:
        return f"same occurred_at as {before['event_id']}; the larger event_id wins"
    return "the latest occurred_at"


def as_text(result: dict[str, Any]) -> str:
    lines = [f"{result['locality']} {result['name']} / {result['entity']}: {len(result['events'])} event(s)"]
    for e in result["events"]:
        mark = "*" if e["current"] else " "
        note = f"  <- {e['why']}" if e.get("why") else ""
        payload = json.dumps(e["payload"], ensure_ascii=False)
        sent = f", sent as {e['sent_locality']} on the 2024 map" if e.get("map") == "2024" else ""
        lines.append(
            f"{mark} {e['occurred_at']}  {e['event_id']}  {payload}  (received {e['received_at']}{sent}){note}"
        )
    if not result["events"]:
        lines.append("  no event has set it (yet)")
    return "\n".join(lines)
