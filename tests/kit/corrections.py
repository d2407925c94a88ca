"""A seeded stream of flow events with every kind of correction (issue 24), stamped in several zones.

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
    plain = [
        _eid(f"{p}e{i}", rng.choice(wards), _at(t + timedelta(hours=rng.randrange(0, 72)), rng), rng.randrange(1, 50))
        for i in range(6)
    ]
    valid = [o1, c1, o2, c2, o3, c3a, c3b, o4, c4, c5, other_type, other_instant, o8, c8a, c8b, c8c, *plain]
    resent = [dict(c1, occurred_at=_at(_instant(c1), rng)), dict(c3b)]
    not_later = _eid(f"{p}r1", w1, o1["occurred_at"], 9, supersedes=_names(o1, rng))
    old = _eid(f"{p}o0", w1, _at(t - timedelta(days=100, seconds=1), rng), 1)  # never sent
    too_old = _eid(f"{p}r2", w1, _at(t, rng), 9, supersedes=_names(old, rng))
    void_alone = _dossiers(f"{p}r3", w2, _at(t, rng), 0, void=True)
    return valid + resent, [not_later, too_old, void_alone]
