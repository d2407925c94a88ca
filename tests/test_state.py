"""The locality state on its own: the counting rules, whatever the order and however often."""
from __future__ import annotations

import itertools
import random
from datetime import datetime, timezone

from schemas.events import validate_event
from schemas.metrics import METRICS
from streams.state import LocalityState


def village(event_id: str, at: str, electricity: bool, internet: bool = True, village_id: str = "V1"):
    return validate_event(
        {
            "event_id": event_id,
            "type": "village.status",
            "locality": "00070",
            "occurred_at": at,
            "payload": {"village_id": village_id, "electricity": electricity, "internet": internet},
        }
    )


def eid(event_id: str, at: str, count: int):
    return validate_event(
        {"event_id": event_id, "type": "eid.activations", "locality": "00070", "occurred_at": at, "payload": {"count": count}}
    )


def figures(state: LocalityState) -> dict[str, int]:
    return dict(zip(METRICS, state.snapshot()["figures"]))


def test_latest_occurred_at_wins_and_ties_go_to_the_larger_event_id_in_any_order() -> None:
    events = [
        village("a", "2026-11-01T08:00:00+07:00", electricity=False),
        village("c", "2026-11-01T09:00:00+07:00", electricity=True),
        village("b", "2026-11-01T09:00:00+07:00", electricity=False),  # same instant as "c": "c" wins
    ]
    for order in itertools.permutations(events):
        state = LocalityState()
        for e in order:
            state.apply(e, received_ms=1)
        assert figures(state)["villages"] == 1
        assert figures(state)["villages_without_electricity"] == 0
        assert state.entities["village:V1"][1] == "c"
        assert state.events == 3


def test_flows_count_once_per_event_id_and_land_in_their_event_hour() -> None:
    state = LocalityState()
    for e in [eid("x", "2026-11-01T10:15:00Z", 5), eid("y", "2026-11-01T11:59:00Z", 7), eid("x", "2026-11-01T10:15:00Z", 5)]:
        state.apply(e, received_ms=1)
    assert figures(state)["eid_activations"] == 12
    ten, eleven = (str(int(datetime(2026, 11, 1, h, tzinfo=timezone.utc).timestamp())) for h in (10, 11))
    assert sorted(state.snapshot()["hours"].items()) == [(ten, [5, 0, 0, 0]), (eleven, [7, 0, 0, 0])]


def test_a_state_rebuilt_from_its_json_has_the_same_figures_and_ignores_replays() -> None:
    rng = random.Random(4)
    events = [
        village(f"e{i}", f"2026-11-0{rng.randint(1, 9)}T00:00:00Z", rng.random() < 0.5, rng.random() < 0.5, f"V{rng.randint(1, 5)}")
        for i in range(200)
    ] + [eid(f"f{i}", "2026-11-02T00:00:00Z", rng.randint(0, 9)) for i in range(50)]
    state = LocalityState()
    for e in events[:150]:
        state.apply(e, received_ms=1)
    restored = LocalityState.from_json(state.to_json())
    for e in events:  # the first 150 again, as after a crash, then the rest
        restored.apply(e, received_ms=1)
    fresh = LocalityState()
    for e in reversed(events):
        fresh.apply(e, received_ms=1)
    assert restored.snapshot() == fresh.snapshot()
