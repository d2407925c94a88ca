"""Realistic load from the real registry, as a pure function of a seed: same seed, same events.

Localities report in sessions, as people do: a province walks through some of its 225 tasks or its
systems, a ward reports on all its villages, its e-ID activations and its dossiers. States move
forward over time (tasks get completed, villages get connected), with the odd setback. A share of the
events is sent again (same event_id, as a retrying sender would) and a share arrives late, after
newer events, as from a village whose internet comes and goes.
"""
from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from schemas import registry

VIETNAM = timezone(timedelta(hours=7))
DEFAULT_START = datetime(2026, 1, 1, 8, 0, tzinfo=VIETNAM)
STATUSES = ("not_started", "in_progress", "completed")
PROVINCE_SYSTEMS = ("dvc-portal", "e-office", "email", "hrm", "finance", "gis", "iam", "backup")
WARD_SYSTEMS = ("dvc-portal", "e-office", "email")
MAX_DELAY = 200  # a late event arrives within this many events after its time
RESEND_WINDOW = 1000  # a resent event is one of the last this many

Event = dict[str, Any]


@lru_cache(maxsize=None)
def villages_of(ward: str) -> tuple[str, ...]:
    """A ward's villages (3 to 15), the same for every run."""
    return tuple(f"V{i:02d}" for i in range(1, 3 + int(ward) % 13 + 1))


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


def _session(rng: random.Random, ground: _Ground) -> list[tuple[str, str, dict[str, Any]]]:
    """One locality's report: (type, locality, payload) in the order the locality sends them."""
    reg = registry()
    province = rng.choice(reg.provinces)
    if rng.random() < 0.25:
        first = rng.randint(1, 225)
        tasks = [f"T{n:03d}" for n in range(first, min(first + rng.randint(1, 30), 226))]
        report = [("task.status", province, ground.task(province, t)) for t in tasks]
        systems = rng.sample(PROVINCE_SYSTEMS, rng.randint(0, 3))
        report += [("security.assessment", province, ground.system(province, s)) for s in systems]
        return report + [("service.dossiers", province, ground.dossiers())] * (rng.random() < 0.5)
    ward = rng.choice(reg.wards_by_province[province])
    report = [("village.status", ward, ground.village(ward, v)) for v in villages_of(ward)]
    report += [("eid.activations", ward, {"count": rng.randint(0, 300)}) for _ in range(rng.randint(1, 3))]
    report.append(("service.dossiers", ward, ground.dossiers()))
    if rng.random() < 0.2:
        report.append(("security.assessment", ward, ground.system(ward, rng.choice(WARD_SYSTEMS))))
    return report


def _fresh_events(seed: int, start: datetime) -> Iterator[Event]:
    rng = random.Random(seed)
    ground = _Ground(rng)
    clock, number = start, 0
    while True:
        clock += timedelta(seconds=rng.expovariate(1 / 2.0))  # a session every two seconds or so
        for offset, (type_, locality, payload) in enumerate(_session(rng, ground)):
            number += 1
            yield {
                "event_id": f"sim{seed}-{number:09d}",
                "type": type_,
                "locality": locality,
                "occurred_at": (clock + timedelta(milliseconds=offset)).isoformat(timespec="milliseconds"),
                "payload": payload,
            }


def simulated_events(
    seed: int,
    count: int | None = None,
    resend_share: float = 0.0,
    reorder_share: float = 0.0,
    start: datetime = DEFAULT_START,
) -> Iterator[Event]:
    """`count` events (endless when None); shares are probabilities in [0, 1] per emitted event."""
    for name, share in (("resend_share", resend_share), ("reorder_share", reorder_share)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {share}")
    rng = random.Random(f"delivery-{seed}")  # its own stream: the knobs never change the ground truth
    fresh = _fresh_events(seed, start)
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
