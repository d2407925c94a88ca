"""`p06 history LOCALITY/KIND:ID`: every event that set one entity (corrections too), by report: the
original and the corrections naming it, of which the latest counts; the entity's current report is its
latest by the original's instant (on a tie the larger event_id) that is not void (issue 24).

`p06 history LOCALITY/report:EVENT_ID`: each flow report of that original (issue 24): the original, every
correction naming it (when it occurred, when it was received, as which code it was sent), and the one
that counts (the latest occurred_at; on a tie the larger event_id), in the original's hour."""

from __future__ import annotations

import json
from typing import Any

from schemas.names import province_of_topic
from schemas.registry import registry
from schemas.settings import settings
from sinks.warehouse.reader import Reader

KINDS = ("task", "village", "system", "report")


def parse_entity(text: str) -> tuple[str, str]:
    """'00070/village:V12' -> ('00070', 'village:V12'), or ValueError saying what is expected."""
    locality, _, entity = text.partition("/")
    kind, _, ident = entity.partition(":")
    if locality not in registry() or kind not in KINDS or not ident:
        raise ValueError(
            f"expected LOCALITY/KIND:ID with KIND one of {', '.join(KINDS)} (e.g. 00070/village:V12, or"
            f" 00070/report:EVENT_ID for a flow event and its corrections), got {text!r}"
        )
    return locality, entity


def history(reader: Reader, text: str) -> dict[str, Any]:
    locality, entity = parse_entity(text)
    if entity.startswith("report:"):
        return report_history(reader, locality, entity.removeprefix("report:"))
    events = reader.named("entity_history", {"locality": locality, "entity": entity})
    by_report = _by_report(events)
    for event in events:
        event["payload"] = json.loads(event["payload"])
        event["role"] = "correction" if event["supersedes_id"] else "original"
        event["current"] = False
    counting = [max(members, key=_rank) for members in by_report.values()]
    for event in counting:
        event["counts"] = True
    standing = [e for e in counting if not e["void"]]
    if standing:
        current = max(standing, key=lambda e: _position(e["report"]))
        current["current"] = True
        current["why"] = _why(current, standing, voided=len(standing) < len(counting))
        for event in events:
            if event is not current and event["received_at"] > current["received_at"]:
                event["why"] = "arrived after the current event but belongs to an earlier moment"
    events.sort(key=lambda e: (_position(e["report"]), _rank(e)))
    place = registry().localities[locality]
    return {"locality": locality, "name": place.name, "entity": entity, "events": events}


def _by_report(events: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The events grouped by the report they are in (its original's instant and event_id as text), chains
    followed; each event gets "report" ({"event_id", "occurred_at"}) and "counts" (False until chosen)."""
    links = {_own(e): (e["type"], e["supersedes_id"], str(e["supersedes_at"])) for e in events if e["supersedes_id"]}
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for event in events:
        root = links.get(_own(event), _own(event))
        while root in links:
            root = links[root]  # each link names an earlier instant: the walk ends
        event["report"], event["counts"] = {"event_id": root[1], "occurred_at": root[2]}, False
        out.setdefault(_position(event["report"]), []).append(event)
    return out


def _position(report: dict[str, str]) -> tuple[str, str]:
    return report["occurred_at"], report["event_id"]  # one zone (UTC) for all: text orders as instants


def _rank(event: dict[str, Any]) -> tuple[Any, str]:
    return event["occurred_at"], event["event_id"]


def report_history(reader: Reader, locality: str, event_id: str) -> dict[str, Any]:
    """The reports of the original `event_id`: its events and the corrections naming them, a chain
    followed to its end, grouped by type and the original's instant as named (the root the links lead
    to), so an event naming another type or instant is a report of its own, as it counts."""
    events = _named_from(reader, locality, event_id)
    links = {_own(e): (e["type"], e["supersedes_id"], str(e["supersedes_at"])) for e in events if e["supersedes_id"]}
    reports: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for event in events:
        event["role"] = "correction" if event["supersedes_id"] else "original"
        event["sender"] = sender(event["sent_via"])
        root = links.get(_own(event), _own(event))
        while root in links:
            root = links[root]  # each link names an earlier instant: the walk ends
        if root[1] == event_id:  # one that names event_id's id but corrects another event: not its report
            reports.setdefault((root[0], root[2]), []).append(event)
    out = []
    for (type_, at), members in sorted(reports.items(), key=lambda item: item[0][1]):
        counting = max(members, key=lambda e: (e["occurred_at"], e["event_id"]))
        for event in members:
            event["counts"] = event is counting
        out.append({"type": type_, "original_at": at, "events": members})
    place = registry().localities[locality]
    return {"locality": locality, "name": place.name, "entity": f"report:{event_id}", "reports": out}


def sender(sent_via: str) -> str:
    """Who sent an event, from the topic its sender wrote: a province's ingestion topic is that province's
    senders' (through admission); the events topic, a national sender's (p06 publish, the gateway)."""
    if not sent_via:
        return "not recorded (archived before migration 0010)"
    province = province_of_topic(settings().events_topic, sent_via)
    return f"province {province}'s sender ({sent_via})" if province else f"a national sender ({sent_via})"


def _own(event: dict[str, Any]) -> tuple[str, str, str]:
    return event["type"], event["event_id"], str(event["occurred_at"])


def _named_from(reader: Reader, locality: str, event_id: str) -> list[dict[str, Any]]:
    """The events of that id and every correction naming one of them, and those naming these (a chain)."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    ids, asked = {event_id}, set[str]()
    while ids - asked:
        ask = min(ids - asked)
        asked.add(ask)
        for event in reader.named("report_history", {"locality": locality, "event_id": ask}):
            event["payload"] = json.loads(event["payload"])
            found.setdefault(_own(event), event)
            ids.add(event["event_id"])
    return sorted(found.values(), key=lambda e: (e["occurred_at"], e["event_id"]))


def _why(current: dict[str, Any], standing: list[dict[str, Any]], voided: bool) -> str:
    if current["supersedes_id"]:
        return f"the latest correction of report {current['report']['event_id']}, the entity's latest not void"
    if len(standing) == 1:
        return "the only report not void" if voided else "the only event for this entity"
    before = sorted(standing, key=lambda e: _position(e["report"]))[-2]
    if before["report"]["occurred_at"] == current["report"]["occurred_at"]:
        return f"same occurred_at as {before['event_id']}; the larger event_id wins"
    return "the latest occurred_at"


def as_text(result: dict[str, Any]) -> str:
    if "reports" in result:
        return _reports_as_text(result)
    lines = [f"{result['locality']} {result['name']} / {result['entity']}: {len(result['events'])} event(s)"]
    for e in result["events"]:
        mark = "*" if e["current"] else " "
        note = f"  <- {e['why']}" if e.get("why") else ""
        payload = "void" if e["void"] else json.dumps(e["payload"], ensure_ascii=False)
        sent = f", sent as {e['sent_locality']} on the 2024 map" if e.get("map") == "2024" else ""
        corrects = f"  corrects {e['report']['event_id']}" if e["supersedes_id"] else ""
        received = f"(received {e['received_at']}{sent})"
        lines.append(f"{mark} {e['occurred_at']}  {e['event_id']}  {payload}{corrects}  {received}{note}")
    if not result["events"]:
        lines.append("  no event has set it (yet)")
    return "\n".join(lines)


def _reports_as_text(result: dict[str, Any]) -> str:
    lines = [f"{result['locality']} {result['name']} / {result['entity']}: {len(result['reports'])} report(s)"]
    for r in result["reports"]:
        lines.append(f"  {r['type']} of {r['original_at']} (counted in that hour):")
        for e in r["events"]:
            mark = "*" if e["counts"] else " "
            what = "void" if e["void"] else json.dumps(e["payload"], ensure_ascii=False)
            sent = f", sent as {e['sent_locality']} on the 2024 map" if e.get("map") == "2024" else ""
            note = "  <- counts: the latest occurred_at" if e["counts"] else ""
            lines.append(
                f"  {mark} {e['role']:<10} {e['occurred_at']}  {e['event_id']}  {what}"
                f"  (sent by {e['sender']}{sent}, received {e['received_at']}){note}"
            )
    if not result["reports"]:
        lines.append("  no event of that id (yet), nor any correction naming it")
    return "\n".join(lines)
