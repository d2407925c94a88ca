"""The figures a set of events must give, recounted from the contract's words, not from our code.

Every pipeline test and the benchmark compare what the system shows (live API, ClickHouse, reports)
with this recount, so the two can disagree: that is the point. It imports nothing of the counting
code (schemas.metrics, streams, sinks), only the registry for the hierarchy. An event is its locality,
its event_id and the UTC day it occurred; of several copies the first in the list counts (the list
in the order it was published). Latest occurred_at wins per state entity (a tie goes to the larger
event_id); a flow counts once.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from schemas.registry import registry

METRIC_NAMES = (
    "tasks_reported", "tasks_completed", "villages", "villages_without_electricity",
    "villages_without_internet", "eid_activations", "dossiers_received", "dossiers_online",
    "dossiers_on_time", "systems_assessed", "systems_failed", "open_findings",
)
FLOW_NAMES = ("eid_activations", "dossiers_received", "dossiers_online", "dossiers_on_time")  # counted once per event


def _contribution(e: dict) -> dict[str, int]:
    p = e["payload"]
    return {
        "task.status": lambda: {"tasks_reported": 1, "tasks_completed": int(p["status"] == "completed")},
        "village.status": lambda: {"villages": 1, "villages_without_electricity": int(not p["electricity"]),
                                   "villages_without_internet": int(not p["internet"])},
        "security.assessment": lambda: {"systems_assessed": 1, "systems_failed": int(p["result"] == "failed"),
                                        "open_findings": p["open_findings"]},
        "eid.activations": lambda: {"eid_activations": p["count"]},
        "service.dossiers": lambda: {"dossiers_received": p["received"], "dossiers_online": p["online"],
                                     "dossiers_on_time": p["on_time"]},
    }[e["type"]]()


def _entity(e: dict) -> str | None:
    p = e["payload"]
    for field, name in (("task_id", "task"), ("village_id", "village"), ("system_id", "system")):
        if field in p:
            return f"{e['locality']}/{name}:{p[field]}"
    return None


def identity(e: dict) -> tuple[str, str, str]:
    day = datetime.fromisoformat(e["occurred_at"]).astimezone(timezone.utc).date().isoformat()
    return e["locality"], e["event_id"], day


def recount(events: list[dict], as_of: datetime | None = None) -> dict[str, Any]:
    """{"nation", "provinces", "urban", "rural", "wards"}: provinces and wards only where events are."""
    reg = registry()
    seen: dict[tuple[str, str, str], dict] = {}
    for e in events:
        if as_of is None or datetime.fromisoformat(e["occurred_at"]) <= as_of:
            seen.setdefault(identity(e), e)
    current: dict[str, dict] = {}
    counted: list[dict] = []
    for e in seen.values():
        key = _entity(e)
        if key is None:
            counted.append(e)
            continue
        rank = (datetime.fromisoformat(e["occurred_at"]), e["event_id"])
        old = current.get(key)
        if old is None or rank > (datetime.fromisoformat(old["occurred_at"]), old["event_id"]):
            current[key] = e
    zero = lambda: dict.fromkeys(METRIC_NAMES, 0)  # noqa: E731
    out = {"nation": zero(), "urban": zero(), "rural": zero(),
           "provinces": defaultdict(zero), "wards": defaultdict(zero)}
    for e in [*current.values(), *counted]:
        place = reg.localities[e["locality"]]
        scopes = [out["nation"], out["provinces"][place.province]]
        if place.level == "ward":
            scopes += [out[place.area], out["wards"][e["locality"]]]
        for metric, value in _contribution(e).items():
            for scope in scopes:
                scope[metric] += value
    out["provinces"], out["wards"] = dict(out["provinces"]), dict(out["wards"])
    return out


def expected_live(events: list[dict]) -> dict[str, Any]:
    """The recount in the shape of /api/live's figures: every one of the 34 provinces, zeros included."""
    counted = recount(events)
    zero = dict.fromkeys(METRIC_NAMES, 0)
    return {
        "nation": counted["nation"],
        "provinces": {code: counted["provinces"].get(code, dict(zero)) for code in registry().provinces},
        "urban": counted["urban"],
        "rural": counted["rural"],
    }


def end_of(day: date) -> datetime:
    """The last instant of a UTC day: what a report "at" that date covers."""
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


def period(events: list[dict], start: date, end: date) -> dict[str, Any]:
    """A review from `start` to `end`: {scope: {"from", "to", "change"}} for nation, urban, rural and
    each province and ward with events. "from": states as they stood at the end of `start`, flows up
    to the end of the day before it, so a flow's change is what the days `start`..`end` added."""
    opened, before, closed = (recount(events, end_of(d)) for d in (start, start - timedelta(days=1), end))
    flat = [{**{s: c[s] for s in ("nation", "urban", "rural")}, **c["provinces"], **c["wards"]}
            for c in (opened, before, closed)]
    out: dict[str, Any] = {}
    for code in set().union(*flat):
        state, flow, last = (f.get(code, dict.fromkeys(METRIC_NAMES, 0)) for f in flat)
        first = {m: (flow if m in FLOW_NAMES else state)[m] for m in METRIC_NAMES}
        out[code] = {"from": first, "to": last, "change": {m: last[m] - first[m] for m in METRIC_NAMES}}
    return out
