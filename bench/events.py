"""A deterministic, realistic event stream for the benchmark: all five types, real locality codes,
resends (identical copies) and reordering (state updates delivered out of event-time order).

The producers team's `producers.simulate.simulated_events` replaces this once it lands (see `source`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from schemas.events import InvalidEvent, validate_event
from schemas.metrics import TOTAL_TASKS
from schemas.registry import registry

BASE = datetime(2026, 10, 1, tzinfo=timezone.utc)  # fixed so a seed always gives the same bytes
SPAN_S = 30 * 86_400
MIX = (("village.status", 35), ("eid.activations", 20), ("service.dossiers", 20), ("task.status", 15), ("security.assessment", 10))
RESEND_SHARE = 0.05
INVALID_SHARE = 0.002  # field errors the worker must refuse: a village reported by a province


@dataclass(frozen=True)
class Scale:
    villages: int
    systems_per_province: int
    systems_per_ward: int  # only some wards run assessed systems

    @classmethod
    def for_events(cls, n: int) -> "Scale":
        # National scale (100,000 villages) once the stream is large enough to carry it.
        return cls(villages=max(100, min(100_000, n // 5)), systems_per_province=5, systems_per_ward=1)


class _Gen:
    def __init__(self, seed: int, scale: Scale) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        reg = registry()
        self.provinces = reg.provinces
        self.wards = [c for p in self.provinces for c in reg.wards_by_province[p]]
        self.serial = 0
        self.covered: dict[str, int] = {}  # first pass walks every entity so state is national-scale

    def _next_index(self, kind: str, pool: int) -> int:
        i = self.covered.get(kind, 0)
        if i < pool:
            self.covered[kind] = i + 1
            return i
        return self.rng.randrange(pool)

    def _envelope(self, type_: str, locality: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.serial += 1
        at = BASE + timedelta(seconds=self.rng.randrange(SPAN_S), microseconds=self.rng.randrange(1_000_000))
        return {
            "event_id": f"b{self.seed}-{self.serial:09d}",
            "type": type_,
            "locality": locality,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "payload": payload,
        }

    def event(self, type_: str) -> dict[str, Any]:
        r = self.rng
        if type_ == "village.status":
            v = self._next_index("village", self.scale.villages)
            ward = self.wards[v % len(self.wards)]
            payload = {"village_id": f"V{v:06d}", "electricity": r.random() > 0.02, "internet": r.random() > 0.05}
            return self._envelope(type_, ward, payload)
        if type_ == "task.status":
            t = self._next_index("task", TOTAL_TASKS * len(self.provinces))
            province, task = self.provinces[t // TOTAL_TASKS], t % TOTAL_TASKS + 1
            status = r.choices(["not_started", "in_progress", "completed"], (2, 5, 3))[0]
            return self._envelope(type_, province, {"task_id": f"T{task:03d}", "status": status})
        if type_ == "security.assessment":
            if r.random() < 0.5:
                loc, sys_ = r.choice(self.provinces), f"S{r.randrange(self.scale.systems_per_province)}"
            else:
                loc, sys_ = r.choice(self.wards), "S0"
            payload = {"system_id": sys_, "result": "failed" if r.random() < 0.15 else "passed", "open_findings": r.randrange(12)}
            return self._envelope(type_, loc, payload)
        if type_ == "eid.activations":
            w = self._next_index("eid", len(self.wards))
            return self._envelope(type_, self.wards[w], {"count": r.randrange(1, 400)})
        received = r.randrange(0, 300)
        loc = self.wards[self._next_index("dossier", len(self.wards))] if r.random() < 0.9 else r.choice(self.provinces)
        payload = {"received": received, "online": r.randint(0, received), "on_time": r.randint(0, received)}
        return self._envelope(type_, loc, payload)

    def invalid(self) -> dict[str, Any]:
        # A ward-only type reported by a province: valid JSON, refused by the contract.
        return self._envelope("village.status", self.rng.choice(self.provinces), {"village_id": "V0", "electricity": True, "internet": True})


def generate(n: int, seed: int = 6) -> list[dict[str, Any]]:
    """n events in delivery order: about 5% resends of earlier ones, a few invalid, shuffled in time."""
    gen = _Gen(seed, Scale.for_events(n))
    types, weights = zip(*MIX)
    fresh: list[dict[str, Any]] = []
    while len(fresh) < n * (1 - RESEND_SHARE):
        fresh.append(gen.invalid() if gen.rng.random() < INVALID_SHARE else gen.event(gen.rng.choices(types, weights)[0]))
    out = list(fresh)
    while len(out) < n:
        out.append(gen.rng.choice(fresh))  # a resend: the same event_id and bytes, delivered later
    gen.rng.shuffle(out)  # occurred_at is random too, so state updates arrive out of order
    return out


def source(n: int, seed: int, generator: str = "auto") -> tuple[list[dict[str, Any]], str]:
    """The benchmark's events and where they came from: the producers' simulator when it exists
    ("auto"/"simulate"), or this module's generator ("bench": national scale, 100,000 villages)."""
    if generator != "bench":
        try:
            from producers.simulate import simulated_events
        except ImportError:
            if generator == "simulate":
                raise
        else:
            try:
                events = list(simulated_events(seed, n, resend_share=RESEND_SHARE, reorder_share=0.05))
                return events, "producers.simulate.simulated_events (5% resends, 5% late)"
            except Exception as exc:  # a bug in the simulator must not stop the benchmark: say so, use ours
                if generator == "simulate":
                    raise
                fallback = f" [producers.simulate failed: {type(exc).__name__}: {exc}]"
                return generate(n, seed), "bench.events.generate (5% resends, shuffled, 0.2% invalid)" + fallback
    return generate(n, seed), "bench.events.generate (5% resends, shuffled, 0.2% invalid)"


def encode(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(e) for e in events]


def pack(events: list[dict[str, Any]], batch_size: int = 500) -> list[tuple[str, bytes, int]]:
    """Messages as `p06 publish` sends them: producers.publisher.pack on each 20,000-line chunk
    (invalid events are refused there, as the publisher would), or the fallback below."""
    try:
        from producers.cli import CHUNK_LINES
        from producers.publisher import pack as publisher_pack
    except ImportError:
        return _pack_fallback(events, batch_size)
    out: list[tuple[str, bytes, int]] = []
    for start in range(0, len(events), CHUNK_LINES):
        valid = []
        for raw in events[start : start + CHUNK_LINES]:
            try:
                valid.append(validate_event(raw))
            except InvalidEvent:
                pass
        out += [(m.key, m.value, m.events) for m in publisher_pack(valid, batch_size)]
    return out


def _pack_fallback(events: list[dict[str, Any]], batch_size: int) -> list[tuple[str, bytes, int]]:
    """As the publisher packs: consecutive events of one locality in one message (key = locality).

    Each locality buffers until batch_size or until the end of a 100,000-event chunk of the file,
    so message order still follows delivery order. Returns (key, value, events in the message).
    """
    out: list[tuple[str, bytes, int]] = []
    window = 100_000  # a file chunk, as `p06 publish FILE` reads it
    for start in range(0, len(events), window):
        groups: dict[str, list[dict[str, Any]]] = {}
        for e in events[start : start + window]:
            g = groups.setdefault(e["locality"], [])
            g.append(e)
            if len(g) == batch_size:
                out.append((e["locality"], orjson.dumps(g), len(g)))
                groups[e["locality"]] = []
        for loc, g in groups.items():
            if g:
                out.append((loc, orjson.dumps(g[0] if len(g) == 1 else g), len(g)))
    return out
