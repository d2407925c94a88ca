"""The project's one event generator: realistic load from the real registry, a pure function of a
seed (same seed, same events). The simulator, the benchmark and the tests all draw from it.

Localities report in sessions, as people do: a province walks through some of its 225 tasks or its
systems, a ward reports on all its villages, its e-ID activations and its dossiers. States move
forward over time (tasks get completed, villages get connected), with the odd setback. Senders stamp
their local time as they please: most +07:00, some UTC, a few other zones. The knobs:

- which localities: the whole country, or a seeded sample of provinces and wards;
- history length: sessions about two seconds apart, or spread evenly over a given span;
- resends (same event_id, same bytes, as a retrying sender), late arrival (after newer events),
  and same-instant corrections (a second event of the same entity and instant, larger event_id);
- corrections as events (issue 24): a share of events corrected minutes later by an event naming
  them (`supersedes`), a few of them void;
- delivery as Kafka messages, one event each or packed per locality (`as_messages`).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import orjson

from schemas import registry
from schemas.events import EVENT_TYPES

VIETNAM = timezone(timedelta(hours=7))
DEFAULT_START = datetime(2026, 1, 1, 8, 0, tzinfo=VIETNAM)
STATUSES = ("not_started", "in_progress", "completed")
PROVINCE_SYSTEMS = ("dvc-portal", "e-office", "email", "hrm", "finance", "gis", "iam", "backup")
WARD_SYSTEMS = ("dvc-portal", "e-office", "email")
MAX_DELAY = 200  # a late event arrives within this many events after its time
RESEND_WINDOW = 1000  # a resent event is one of the last this many
MEAN_SESSION_GAP_S = 2.0
CORRECTED_AFTER_S = (300, 3600)  # an event is corrected this many seconds after it occurred
VOID_SHARE = 0.2  # of the corrections: the event was sent in error, it counts nothing
# As senders stamp: most in Vietnam (+07:00), some in UTC, a few elsewhere (a half-hour zone, a
# negative one). A zone that is dropped instead of converted shifts a +07:00 event seven hours.
SENDER_ZONES = (*[VIETNAM] * 7, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)))

Event = dict[str, Any]


@cache
def villages_of(ward: str) -> tuple[str, ...]:
    """A ward's villages (3 to 15), the same for every run."""
    return tuple(f"V{i:02d}" for i in range(1, 3 + int(ward) % 13 + 1))


def stamp(moment: datetime, i: int) -> str:
    """The ISO text a sender would write for this instant, in the i-th event's zone."""
    text = moment.astimezone(SENDER_ZONES[i % len(SENDER_ZONES)]).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


@dataclass(frozen=True)
class Localities:
    """Who reports: provinces and, for each, the wards that send."""

    provinces: tuple[str, ...]
    wards_by_province: dict[str, tuple[str, ...]]

    @classmethod
    def sample(cls, seed: int, provinces: int | None = None, wards_per_province: int | None = None) -> Localities:
        """The whole country, or a seeded sample of it (the same for the same seed)."""
        reg = registry()
        rng = random.Random(f"localities-{seed}")
        chosen = tuple(reg.provinces) if provinces is None else tuple(rng.sample(reg.provinces, provinces))
        wards = {}
        for p in chosen:
            all_wards = reg.wards_by_province[p]
            take = len(all_wards) if wards_per_province is None else min(wards_per_province, len(all_wards))
            wards[p] = tuple(all_wards) if take == len(all_wards) else tuple(rng.sample(all_wards, take))
        return cls(chosen, wards)


class _Ground:
    """The true state of every locality, moved forward as sessions report it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tasks: dict[tuple[str, str], int] = {}
        self.villages: dict[tuple[str, str], tuple[bool, bool]] = {}
        self.findings: dict[tuple[str, str], int] = {}

    def task(self, province: str, task_id: str) -> dict[str, str]:
        step = self.tasks.get((province, task_id), -1) + (self.rng.random() < 0.6)
        self.tasks[(province, task_id)] = min(max(step, 0), 2)
        return {"task_id": task_id, "status": STATUSES[self.tasks[(province, task_id)]]}

    def village(self, ward: str, village_id: str) -> dict[str, Any]:
        r = self.rng
        power, net = self.villages.get((ward, village_id), (r.random() < 0.93, r.random() < 0.8))
        power = r.random() < 0.98 if power else r.random() < 0.3  # outages are rare, fixes slow
        net = r.random() < 0.97 if net else r.random() < 0.2
        self.villages[(ward, village_id)] = (power, net)
        return {"village_id": village_id, "electricity": power, "internet": net}

    def system(self, locality: str, system_id: str) -> dict[str, Any]:
        r = self.rng
        before = self.findings.get((locality, system_id), r.randint(0, 12))
        findings = max(0, before - r.randint(0, 3) + (r.random() < 0.2) * r.randint(1, 4))
        self.findings[(locality, system_id)] = findings
        return {"system_id": system_id, "result": "failed" if findings > 3 else "passed", "open_findings": findings}

    def dossiers(self) -> dict[str, int]:
        received = self.rng.randint(0, 400)
        online = int(received * self.rng.uniform(0.3, 0.95))
        return {"received": received, "online": online, "on_time": int(received * self.rng.uniform(0.75, 1.0))}

    def again(self, type_: str, locality: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A second report on the same entity (a correction): the entity's state moved on."""
        if type_ == "task.status":
            return self.task(locality, payload["task_id"])
        if type_ == "village.status":
            return self.village(locality, payload["village_id"])
        if type_ == "security.assessment":
            return self.system(locality, payload["system_id"])
        if type_ == "eid.activations":
            return {"count": self.rng.randint(0, 300)}
        return self.dossiers()


def _session(rng: random.Random, ground: _Ground, where: Localities) -> list[tuple[str, str, dict[str, Any]]]:
    """One locality's report: (type, locality, payload) in the order the locality sends them."""
    province = rng.choice(where.provinces)
    if rng.random() < 0.25:
        first = rng.randint(1, 225)
        tasks = [f"T{n:03d}" for n in range(first, min(first + rng.randint(1, 30), 226))]
        report: list[tuple[str, str, dict[str, Any]]] = [
            ("task.status", province, ground.task(province, t)) for t in tasks
        ]
        systems = rng.sample(PROVINCE_SYSTEMS, rng.randint(0, 3))
        report += [("security.assessment", province, ground.system(province, s)) for s in systems]
        return report + [("service.dossiers", province, ground.dossiers())] * (rng.random() < 0.5)
    ward = rng.choice(where.wards_by_province[province])
    report = [("village.status", ward, ground.village(ward, v)) for v in villages_of(ward)]
    report += [("eid.activations", ward, {"count": rng.randint(0, 300)}) for _ in range(rng.randint(1, 3))]
    report.append(("service.dossiers", ward, ground.dossiers()))
    if rng.random() < 0.2:
        report.append(("security.assessment", ward, ground.system(ward, rng.choice(WARD_SYSTEMS))))
    return report


def _correction(rng: random.Random, event: Event, moment: datetime, number: int) -> Event:
    """A later event naming `event` as the original it corrects: another payload, or void (a state's
    names its entity only)."""
    at = moment + timedelta(seconds=rng.uniform(*CORRECTED_AFTER_S))
    correction: Event = {
        "event_id": f"{event['event_id']}c",
        "type": event["type"],
        "locality": event["locality"],
        "occurred_at": stamp(at, number),
        "supersedes": {"event_id": event["event_id"], "occurred_at": event["occurred_at"]},
    }
    entity_field = EVENT_TYPES[event["type"]].entity_field
    if rng.random() < VOID_SHARE:
        entity = {"payload": {entity_field: event["payload"][entity_field]}} if entity_field else {}
        return {**correction, "void": True, **entity}
    return {**correction, "payload": _other_payload(rng, event)}


def _other_payload(rng: random.Random, event: Event) -> dict[str, Any]:
    """What a sender corrects an event's payload to: another count, or another state of the same entity."""
    payload, r = event["payload"], rng
    match event["type"]:
        case "eid.activations":
            return {"count": r.randint(0, 300)}
        case "service.dossiers":
            received = r.randint(0, 400)
            return {"received": received, "online": r.randint(0, received), "on_time": r.randint(0, received)}
        case "task.status":
            return {"task_id": payload["task_id"], "status": r.choice(STATUSES)}
        case "village.status":
            return {"village_id": payload["village_id"], "electricity": r.random() < 0.9, "internet": r.random() < 0.7}
    findings = r.randint(0, 12)
    return {
        "system_id": payload["system_id"],
        "result": "failed" if findings > 3 else "passed",
        "open_findings": findings,
    }


def _fresh_events(
    seed: int,
    start: datetime,
    span: timedelta | None,
    count: int | None,
    where: Localities,
    tie_share: float,
    correction_share: float = 0.0,
) -> Iterator[Event]:
    rng = random.Random(seed)
    corrections = random.Random(f"corrections-{seed}")  # its own stream: the share changes nothing else
    ground = _Ground(rng)
    clock, number = start, 0
    while True:
        if span is not None and count:
            clock = start + span * (number / count)  # the stream covers the span evenly
        else:
            clock += timedelta(seconds=rng.expovariate(1 / MEAN_SESSION_GAP_S))
        for offset, (type_, locality, payload) in enumerate(_session(rng, ground, where)):
            number += 1
            moment = clock + timedelta(milliseconds=offset)
            event_id = f"sim{seed}-{number:09d}"
            event = {
                "event_id": event_id,
                "type": type_,
                "locality": locality,
                "occurred_at": stamp(moment, number),
                "payload": payload,
            }
            yield event
            if rng.random() < tie_share:  # same entity, same instant: the larger event_id must win
                twin = {
                    "event_id": event_id + "b",
                    "type": type_,
                    "locality": locality,
                    "occurred_at": stamp(moment, number + 1),
                    "payload": ground.again(type_, locality, payload),
                }
                yield twin
            if correction_share and corrections.random() < correction_share:
                yield _correction(corrections, event, moment, number)


def simulated_events(
    seed: int,
    count: int | None = None,
    resend_share: float = 0.0,
    reorder_share: float = 0.0,
    start: datetime = DEFAULT_START,
    *,
    span: timedelta | None = None,
    provinces: int | None = None,
    wards_per_province: int | None = None,
    tie_share: float = 0.0,
    correction_share: float = 0.0,
) -> Iterator[Event]:
    """`count` events (endless when None); shares are probabilities in [0, 1] per emitted event.

    span: the history the stream covers (with count), instead of a session every ~2 s;
    provinces, wards_per_province: a seeded sample of the country instead of all of it;
    tie_share: share of events followed by a correction of the same entity at the same instant.
    correction_share: share of events followed by a correction naming them (issue 24), some void.
    """
    shares = {"resend_share": resend_share, "reorder_share": reorder_share, "tie_share": tie_share}
    for name, share in {**shares, "correction_share": correction_share}.items():
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {share}")
    rng = random.Random(f"delivery-{seed}")  # its own stream: the knobs never change the ground truth
    where = Localities.sample(seed, provinces, wards_per_province)
    fresh = _fresh_events(seed, start, span, count, where, tie_share, correction_share)
    recent: deque[Event] = deque(maxlen=RESEND_WINDOW)
    held: list[tuple[int, int, Event]] = []  # (due emission, tie-break, event), a min-heap
    held_order = itertools.count()  # a unique tie-break: heapq must never compare two events
    emitted = 0
    while count is None or emitted < count:
        finishing = count is not None and emitted + len(held) >= count
        if held and (held[0][0] <= emitted or finishing):
            event = heapq.heappop(held)[2]
        elif recent and rng.random() < resend_share:
            event = rng.choice(recent)
        else:
            event = next(fresh)
            if not finishing and rng.random() < reorder_share:
                heapq.heappush(held, (emitted + rng.randint(1, MAX_DELAY), next(held_order), event))
                continue
        recent.append(event)
        emitted += 1
        yield dict(event)


def as_messages(
    events: Iterable[Event], seed: int, max_batch: int = 20, resend_share: float = 0.0
) -> list[tuple[bytes, bytes]]:
    """(key, value) Kafka messages as many senders deliver them: each locality's events packed in
    chunks of 1..max_batch (max_batch=1: one event per message), a share sent again, all shuffled."""
    rng = random.Random(f"messages-{seed}")
    sent = list(events)
    sent += [e for e in sent if rng.random() < resend_share]
    rng.shuffle(sent)
    by_locality: dict[str, list[Event]] = defaultdict(list)
    for e in sent:
        by_locality[e["locality"]].append(e)
    messages = []
    for locality, evs in by_locality.items():
        while evs:
            n = rng.randint(1, max_batch)
            chunk, evs = evs[:n], evs[n:]
            messages.append((locality.encode(), orjson.dumps(chunk[0] if len(chunk) == 1 else chunk)))
    rng.shuffle(messages)
    return messages
