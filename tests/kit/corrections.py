"""A seeded stream of events with every kind of correction (issue 24), flows and states, stamped in several zones.

Built from the contract's words, not from the counting code: each case below says what must count.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from schemas.registry import registry

ZONES = [timezone(timedelta(hours=h)) for h in (7, 0, -5, 9)]
NOVEMBER = datetime(2026, 11, 20, 8, 0, tzinfo=timezone(timedelta(hours=7)))


def _at(moment: datetime, rng: random.Random) -> str:
    """The instant, stamped in one of the senders' zones (the same instant whatever the zone)."""
    return moment.astimezone(rng.choice(ZONES)).isoformat()


def _eid(event_id: str, ward: str, at: str, count: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "eid.activations",
        "locality": ward,
        "occurred_at": at,
        "payload": {"count": count},
        **extra,
    }


def _dossiers(event_id: str, locality: str, at: str, received: int, **extra: Any) -> dict[str, Any]:
    payload = {"received": received, "online": received // 2, "on_time": received // 3}
    return {"event_id": event_id, "type": "service.dossiers", "locality": locality, "occurred_at": at, **extra} | (
        {} if extra.get("void") else {"payload": payload}
    )


def _state(type_: str, event_id: str, locality: str, at: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A state event; a void one carries its entity's id alone (the first field of the payload)."""
    if extra.get("void"):
        payload = dict([next(iter(payload.items()))])
    return {"event_id": event_id, "type": type_, "locality": locality, "occurred_at": at, "payload": payload, **extra}


def _village(event_id: str, ward: str, at: str, village: str, electricity: bool, **extra: Any) -> dict[str, Any]:
    payload = {"village_id": village, "electricity": electricity, "internet": False}
    return _state("village.status", event_id, ward, at, payload, **extra)


def _task(event_id: str, province: str, at: str, status: str, **extra: Any) -> dict[str, Any]:
    return _state("task.status", event_id, province, at, {"task_id": "T001", "status": status}, **extra)


def _system(event_id: str, ward: str, at: str, findings: int, **extra: Any) -> dict[str, Any]:
    payload = {"system_id": "dvc-portal", "result": "failed" if findings > 3 else "passed", "open_findings": findings}
    return _state("security.assessment", event_id, ward, at, payload, **extra)


def _instant(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def _names(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """supersedes naming this event: its id and its instant, in another zone than it was sent in."""
    return {"event_id": event["event_id"], "occurred_at": _at(_instant(event), rng)}


def cases(seed: int, prefix: str = "") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(valid, refused): flows corrected, voided, corrected twice, a chain, before their original (in
    any order), whose original never arrives, resent, naming another type or instant; and the refused."""
    rng = random.Random(seed)
    wards = registry().wards_by_province["01"][:3]
    province = "01"
    w1, w2, w3 = wards
    t = NOVEMBER + timedelta(minutes=rng.randrange(0, 600))
    p = prefix
    o1 = _eid(f"{p}o1", w1, _at(t, rng), 5000)  # 5,000 sent for 500: corrected in December
    c1 = _eid(f"{p}c1", w1, _at(t + timedelta(days=13), rng), 500, supersedes=_names(o1, rng))
    o2 = _dossiers(f"{p}o2", w2, _at(t + timedelta(hours=3), rng), 40)  # voided
    c2 = _dossiers(f"{p}c2", w2, _at(t + timedelta(days=2), rng), 0, supersedes=_names(o2, rng), void=True)
    o3 = _eid(f"{p}o3", w3, _at(t + timedelta(hours=1), rng), 10)  # corrected twice: the latest counts
    c3a = _eid(f"{p}c3a", w3, _at(t + timedelta(days=1), rng), 20, supersedes=_names(o3, rng))
    c3b = _eid(f"{p}c3b", w3, _at(t + timedelta(days=2), rng), 30, supersedes=_names(o3, rng))
    o4 = _dossiers(f"{p}o4", province, _at(t - timedelta(days=3), rng), 12)  # a province's own report
    c4 = _dossiers(f"{p}c4", province, _at(t + timedelta(days=1), rng), 15, supersedes=_names(o4, rng))
    ghost = _eid(f"{p}o5", w1, _at(t - timedelta(days=1), rng), 1)  # never sent
    c5 = _eid(f"{p}c5", w1, _at(t + timedelta(days=4), rng), 11, supersedes=_names(ghost, rng))
    # Naming another type (o1 is an e-ID count) or another instant: joins nothing, counts on its own.
    other_type = _dossiers(f"{p}c6", w1, _at(t + timedelta(days=1), rng), 7, supersedes=_names(o1, rng))
    moved = {
        "event_id": o3["event_id"],
        "occurred_at": _at(datetime.fromisoformat(o3["occurred_at"]) + timedelta(seconds=1), rng),
    }
    other_instant = _eid(f"{p}c7", w3, _at(t + timedelta(days=3), rng), 2, supersedes=moved)
    # A chain: each correction names the one before it, not the original; the last one counts, in o8's hour.
    o8 = _eid(f"{p}o8", w2, _at(t + timedelta(hours=2), rng), 7)
    c8a = _eid(f"{p}c8a", w2, _at(t + timedelta(days=1), rng), 70, supersedes=_names(o8, rng))
    c8b = _eid(f"{p}c8b", w2, _at(t + timedelta(days=2), rng), 700, supersedes=_names(c8a, rng))
    c8c = _eid(f"{p}c8c", w2, _at(t + timedelta(days=5), rng), 77, supersedes=_names(c8b, rng))
    states = _states(rng, p, province, wards, t)
    plain = [
        _eid(f"{p}e{i}", rng.choice(wards), _at(t + timedelta(hours=rng.randrange(0, 72)), rng), rng.randrange(1, 50))
        for i in range(6)
    ]
    valid = [o1, c1, o2, c2, o3, c3a, c3b, o4, c4, c5, other_type, other_instant, o8, c8a, c8b, c8c, *plain, *states]
    resent = [dict(c1, occurred_at=_at(_instant(c1), rng)), dict(c3b), dict(states[1])]
    not_later = _eid(f"{p}r1", w1, o1["occurred_at"], 9, supersedes=_names(o1, rng))
    old = _eid(f"{p}o0", w1, _at(t - timedelta(days=100, seconds=1), rng), 1)  # never sent
    too_old = _eid(f"{p}r2", w1, _at(t, rng), 9, supersedes=_names(old, rng))
    void_alone = _dossiers(f"{p}r3", w2, _at(t, rng), 0, void=True)
    o_state = states[0]
    void_state = _village(f"{p}r4", w1, _at(t + timedelta(days=1), rng), "V01", True, supersedes=_names(o_state, rng))
    void_without_entity = {k: v for k, v in void_state.items() if k != "payload"} | {"void": True}
    return valid + resent, [not_later, too_old, void_alone, void_without_entity]


def _states(rng: random.Random, p: str, province: str, wards: list[str], t: datetime) -> list[dict[str, Any]]:
    """States corrected (in their original's place), voided (falling back to the report before, or
    gone), chained, before their original, naming an original that never arrives, or another entity."""
    w1, w2, w3 = wards
    day, hour = timedelta(days=1), timedelta(hours=1)
    s1 = _village(f"{p}s1", w1, _at(t, rng), "V01", False)  # corrected: V01 had electricity after all
    cs1 = _village(f"{p}cs1", w1, _at(t + 2 * day, rng), "V01", True, supersedes=_names(s1, rng))
    s2a = _village(f"{p}s2a", w2, _at(t - 3 * day, rng), "V02", True)  # three days before: read back from its day
    s2b = _village(f"{p}s2b", w2, _at(t + hour, rng), "V02", False)  # sent in error: V02 falls back to s2a
    cs2 = _village(f"{p}cs2", w2, _at(t + day, rng), "V02", False, supersedes=_names(s2b, rng), void=True)
    s3 = _village(f"{p}s3", w3, _at(t, rng), "V03", False)  # its only report, voided: V03 is gone
    cs3 = _village(f"{p}cs3", w3, _at(t + day, rng), "V03", False, supersedes=_names(s3, rng), void=True)
    s4 = _task(f"{p}s4", province, _at(t, rng), "in_progress")  # a chain: cs4b names cs4a
    cs4a = _task(f"{p}cs4a", province, _at(t + day, rng), "completed", supersedes=_names(s4, rng))
    cs4b = _task(f"{p}cs4b", province, _at(t + 2 * day, rng), "not_started", supersedes=_names(cs4a, rng))
    ghost = _system(f"{p}s5g", w1, _at(t - day, rng), 0)  # never sent; its correction counts in its place,
    cs5 = _system(f"{p}cs5", w1, _at(t + 3 * day, rng), 9, supersedes=_names(ghost, rng))
    s5 = _system(f"{p}s5", w1, _at(t, rng), 1)  # before this later report, which stays current
    other = _village(f"{p}cs6", w1, _at(t + day, rng), "V09", True, supersedes=_names(s1, rng))  # joins nothing
    s7a = _village(f"{p}s7a", w2, _at(t, rng), "V04", False)
    s7b = _village(f"{p}s7b", w2, _at(t + hour, rng), "V04", True)  # current; the void of s7a changes nothing
    cs7 = _village(f"{p}cs7", w2, _at(t + day, rng), "V04", False, supersedes=_names(s7a, rng), void=True)
    return [s1, cs1, s2a, s2b, cs2, s3, cs3, s4, cs4a, cs4b, cs5, s5, other, s7a, s7b, cs7]
