"""The figures a set of events must give, recounted from the contract's words, not from our code.

Every pipeline test and the benchmark compare what the system shows (live API, ClickHouse, reports)
with this recount, so the two can disagree: that is the point. It sits beside reconcile, but imports
nothing of the counting code (schemas.metrics, streams, sinks; tests/test_recount.py holds it to that),
only the registry for the hierarchy and vietnam_provinces' own tables for the 2024 map (through
schemas.adapters.vietnam_provinces, the one place that reaches them). An event is its locality,
its event_id and the UTC day it occurred (its identity, whatever the country's zone); a report at a
date covers up to the end of that day in the country's zone (P06_TIMEZONE); of several copies the
first in the list counts (the list in the order it was published). Latest occurred_at wins per state
entity (a tie goes to the larger event_id); a flow counts once.

Corrections (issue 24): an event may name the original it corrects ("supersedes": its event_id and
exact instant). The events naming one original, with the original, form a report of that locality and
type (and, for a state, that task, village or system); its latest event counts (a tie: the larger
event_id), at the original's instant; a void one counts nothing. A state entity's reports are ordered by
their originals' instants (then event_ids): the latest one whose counted event is not void is current.
Refused, so counting nothing: a correction not later than the instant it names, one naming an instant
more than P06_CORRECTION_WINDOW_DAYS (100) before its own, a void event that corrects nothing, a void
one with a payload (a state's: other than its entity's id alone).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from schemas.adapters.vietnam_provinces import ward_table
from schemas.registry import registry

METRIC_NAMES = (
    "tasks_reported",
    "tasks_completed",
    "villages",
    "villages_without_electricity",
    "villages_without_internet",
    "eid_activations",
    "dossiers_received",
    "dossiers_online",
    "dossiers_on_time",
    "systems_assessed",
    "systems_failed",
    "open_findings",
)
FLOW_NAMES = ("eid_activations", "dossiers_received", "dossiers_online", "dossiers_on_time")  # counted once per event


def _contribution(e: dict) -> dict[str, int]:
    if e.get("void"):
        return {}
    p = e["payload"]
    return {
        "task.status": lambda: {"tasks_reported": 1, "tasks_completed": int(p["status"] == "completed")},
        "village.status": lambda: {
            "villages": 1,
            "villages_without_electricity": int(not p["electricity"]),
            "villages_without_internet": int(not p["internet"]),
        },
        "security.assessment": lambda: {
            "systems_assessed": 1,
            "systems_failed": int(p["result"] == "failed"),
            "open_findings": p["open_findings"],
        },
        "eid.activations": lambda: {"eid_activations": p["count"]},
        "service.dossiers": lambda: {
            "dossiers_received": p["received"],
            "dossiers_online": p["online"],
            "dossiers_on_time": p["on_time"],
        },
    }[e["type"]]()


def _entity(e: dict) -> str | None:
    if e["type"] in ("eid.activations", "service.dossiers"):
        return None
    p = e["payload"]
    for field, name in (("task_id", "task"), ("village_id", "village"), ("system_id", "system")):
        if field in p:
            return f"{e['locality']}/{name}:{p[field]}"
    return None


def identity(e: dict) -> tuple[str, str, str]:
    day = datetime.fromisoformat(e["occurred_at"]).astimezone(UTC).date().isoformat()
    return e["locality"], e["event_id"], day


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


ENTITY_FIELDS = {"task.status": "task_id", "village.status": "village_id", "security.assessment": "system_id"}


def refused(e: dict) -> bool:
    """A correction the contract refuses: it counts nothing, and corrects nothing."""
    named = e.get("supersedes")
    if named is None:
        return bool(e.get("void"))
    field = ENTITY_FIELDS.get(e["type"])
    if e.get("void") and set(e.get("payload") or {}) != ({field} if field else set()):
        return True  # a void one names a state's entity alone, a flow's nothing
    window = timedelta(days=int(os.environ.get("P06_CORRECTION_WINDOW_DAYS") or 100))
    own, original = _instant(e["occurred_at"]), _instant(named["occurred_at"])
    return not original < own or own - original > window


Report = tuple[str, str, str, str, datetime]  # locality, type, entity ('' for a flow), event_id, instant


def named(e: dict) -> Report:
    """The report an event names: the one it corrects (its event_id and instant), or its own."""
    n = e.get("supersedes") or e
    return e["locality"], e["type"], _entity(e) or "", n["event_id"], _instant(n["occurred_at"])


def reports(events: list[dict]) -> Callable[[dict], Report]:
    """Each event's report: the key it names, followed through the corrections among `events` that
    it names (a chain) to the original's, or to the earliest one named that is not among them."""
    links = {(*named(e)[:3], e["event_id"], _instant(e["occurred_at"])): named(e) for e in events}
    links = {own: n for own, n in links.items() if n != own}

    def root(e: dict) -> Report:
        key = named(e)
        while key in links:
            key = links[key]  # each link names an earlier instant: the walk ends
        return key

    return root


def _rank(e: dict) -> tuple[datetime, str]:
    return _instant(e["occurred_at"]), e["event_id"]


def _counted(events: list[dict], as_of: datetime | None) -> dict[Report, dict]:
    """Of each report whose original is at or before as_of, the event that counts."""
    latest: dict[Report, dict] = {}
    report = reports(events)
    for e in events:
        key = report(e)
        if as_of is not None and key[4] > as_of:
            continue
        held = latest.get(key)
        if held is None or _rank(e) > _rank(held):
            latest[key] = e
    return latest


def _current(counted: dict[Report, dict]) -> list[dict]:
    """Of each state entity, its latest report (by the original's instant, then event_id) not void."""
    current: dict[tuple[str, str], tuple[tuple[datetime, str], dict]] = {}
    for (locality, _, entity, event_id, at), e in counted.items():
        held = current.get((locality, entity))
        if entity and not e.get("void") and (held is None or (at, event_id) > held[0]):
            current[(locality, entity)] = ((at, event_id), e)
    return [e for _, e in current.values()]


def recount(events: list[dict], as_of: datetime | None = None) -> dict[str, Any]:
    """{"nation", "provinces", "urban", "rural", "wards"}: provinces and wards only where events are."""
    reg = registry()
    seen: dict[tuple[str, str, str], dict] = {}
    for e in events:
        if not refused(e):
            seen.setdefault(identity(e), e)
    counted = _counted(list(seen.values()), as_of)
    flows = [e for key, e in counted.items() if not key[2]]
    zero = lambda: dict.fromkeys(METRIC_NAMES, 0)  # noqa: E731
    out: dict[str, Any] = {
        "nation": zero(),
        "urban": zero(),
        "rural": zero(),
        "provinces": defaultdict(zero),
        "wards": defaultdict(zero),
    }
    for e in [*_current(counted), *flows]:
        place = reg.localities[e["locality"]]
        scopes = [out["nation"], out["provinces"][place.province]]
        if place.area is not None:  # a ward (a province has no area)
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


def zone() -> ZoneInfo:
    """The country's zone, as the contract words it: P06_TIMEZONE, by default Viet Nam's."""
    return ZoneInfo(os.environ.get("P06_TIMEZONE") or "Asia/Ho_Chi_Minh")


def end_of(day: date) -> datetime:
    """The last instant of a day in the country's zone: what a report "at" that date covers (a day of
    Hà Nội ends at 24:00+07:00, 17:00 UTC)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone()) - timedelta(microseconds=1)


def period(events: list[dict], start: date, end: date) -> dict[str, Any]:
    """A review from `start` to `end`: {scope: {"from", "to", "change"}} for nation, urban, rural and
    each province and ward with events. "from": states as they stood at the end of `start`, flows up
    to the end of the day before it, so a flow's change is what the days `start`..`end` added."""
    opened, before, closed = (recount(events, end_of(d)) for d in (start, start - timedelta(days=1), end))
    flat = [
        {**{s: c[s] for s in ("nation", "urban", "rural")}, **c["provinces"], **c["wards"]}
        for c in (opened, before, closed)
    ]
    out: dict[str, Any] = {}
    for code in set().union(*flat):
        state, flow, last = (f.get(code, dict.fromkeys(METRIC_NAMES, 0)) for f in flat)
        first = {m: (flow if m in FLOW_NAMES else state)[m] for m in METRIC_NAMES}
        out[code] = {"from": first, "to": last, "change": {m: last[m] - first[m] for m in METRIC_NAMES}}
    return out


# The 2024 map (issue 14), recounted from vietnam_provinces' own conversion data, not from schemas.maps
# or sinks.reports.oldmap: the old -> new tables for the events, its public legacy-source lookups for the report.


def on_2025_map(events: list[dict]) -> tuple[list[dict], list[dict]]:
    """(counted, refused): each event with the 2025 code it counts under; a 2024 event under the one unit
    its old unit passed into whole, refused when the table splits it, marks it partly merged, or lacks it."""
    wards_2025 = ward_table()
    counted, refused = [], []
    for e in events:
        if e.get("map", "2025") == "2025":
            counted.append(e)
            continue
        code = e["locality"]
        if len(code) == 2:
            targets, partly = _province_targets(code), False
        else:
            entry = wards_2025.get(int(code))
            targets = [f"{w.code:05d}" for w in entry.new_wards] if entry else []
            partly = bool(entry and entry.old_ward.is_partly_merged)
        if len(targets) == 1 and not partly:
            counted.append({**e, "locality": targets[0]})
        else:
            refused.append(e)
    return counted, refused


@cache
def _province_targets(code: str) -> list[str]:
    """The 2025 provinces an old province's wards went to (the legacy registry's wards of that province,
    the ward table's new wards and their provinces); the library's province table differs for 82 only,
    where its ward table's province column misplaces one ward of Long An (docs/maps.md)."""
    from vietnam_provinces import legacy

    wards_2025 = ward_table()
    wards = legacy.Ward.iter_by_province(legacy.ProvinceCode(int(code)))
    return sorted(
        {
            f"{n.province_code:02d}"
            for w in wards
            if w.code.value in wards_2025
            for n in wards_2025[w.code.value].new_wards
        }
    )


def _old_provinces(code: str) -> set[str]:
    """The 2024 provinces a 2025 ward or province was made from, by the library's public lookups."""
    from vietnam_provinces import Province, ProvinceCode, Ward, WardCode

    if len(code) == 2:
        return {f"{p.code.value:02d}" for p in Province.from_code(ProvinceCode(int(code))).get_legacy_sources()}
    ward = Ward.from_code(WardCode(int(code)))
    found = {f"{w.province_code.value:02d}" for w in ward.get_legacy_sources()}
    return found or _old_provinces(f"{ward.province_code.value:02d}")


def recount_2024(events: list[dict], as_of: datetime | None = None) -> dict[str, Any]:
    """{"nation", "provinces": {2024 province: figures}, "cannot_split": {2025 code: figures}}: what lies
    wholly within one old province goes there; a 2025 ward or a province's own figures made of several
    old provinces stays apart, listed when it has events."""
    counted, _ = on_2025_map(events)
    figures = recount(counted, as_of)  # a correction in the place of its original, as in every recount
    reg = registry()
    own: dict[str, dict[str, int]] = {}  # a 2025 province's figures less its wards': what it reported itself
    for code, total in figures["provinces"].items():
        own[code] = {
            m: total[m] - sum(w[m] for c, w in figures["wards"].items() if reg.localities[c].province == code)
            for m in METRIC_NAMES
        }
    report = reports([e for e in counted if not refused(e)])
    reporting = {e["locality"] for e in counted if as_of is None or report(e)[4] <= as_of}
    out: dict[str, Any] = {
        "nation": figures["nation"],
        "provinces": defaultdict(lambda: dict.fromkeys(METRIC_NAMES, 0)),
        "cannot_split": {},
    }
    for code, values in [*figures["wards"].items(), *((p, v) for p, v in own.items() if p in reporting)]:
        olds = _old_provinces(code)
        if len(olds) == 1:
            target = out["provinces"][olds.pop()]
            for m in METRIC_NAMES:
                target[m] += values[m]
        else:
            out["cannot_split"][code] = values
    out["provinces"] = dict(out["provinces"])
    return out
