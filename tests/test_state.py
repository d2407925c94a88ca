"""The locality state on its own: the counting rules, whatever the order and however often."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.events import validate_event
from schemas.metrics import METRICS
from streams.state import LocalityState, Outcome


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
        {
            "event_id": event_id,
            "type": "eid.activations",
            "locality": "00070",
            "occurred_at": at,
            "payload": {"count": count},
        }
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
        state = LocalityState("00070")
        for e in order:
            state.apply(e, received_ms=1)
        assert figures(state)["villages"] == 1
        assert figures(state)["villages_without_electricity"] == 0
        assert state.entities["village"]["V1"][1] == "c"
        assert state.events == 3


def test_flows_count_once_per_event_id_and_land_in_their_event_hour() -> None:
    state = LocalityState("00070")
    for e in [
        eid("x", "2026-11-01T10:15:00Z", 5),
        eid("y", "2026-11-01T11:59:00Z", 7),
        eid("x", "2026-11-01T10:15:00Z", 5),
    ]:
        state.apply(e, received_ms=1)
    assert figures(state)["eid_activations"] == 12
    ten, eleven = (str(int(datetime(2026, 11, 1, h, tzinfo=UTC).timestamp())) for h in (10, 11))
    assert sorted(state.snapshot()["hours"].items()) == [(ten, [5, 0, 0, 0]), (eleven, [7, 0, 0, 0])]


class Table(dict):
    """The worker's table as far as the state sees it: records stored as JSON, as Faust stores them."""

    def write(self, state: LocalityState) -> None:
        for key, record in state.writes():
            self[key] = orjson.loads(orjson.dumps(record))
        state.trim(keep=2)

    def load(self, locality: str = "00070", window_days: int = 35) -> LocalityState:
        return LocalityState(locality, self.read, window_days)

    def read(self, key: str) -> Any:
        """A record as the worker's table gives it: decoded afresh, never the stored object."""
        return None if key not in self else orjson.loads(orjson.dumps(self[key]))


def test_a_state_read_back_from_its_records_has_the_same_figures_and_ignores_replays() -> None:
    rng = random.Random(4)
    events = [
        village(
            f"e{i}",
            f"2026-11-0{rng.randint(1, 9)}T00:00:00Z",
            rng.random() < 0.5,
            rng.random() < 0.5,
            f"V{rng.randint(1, 5)}",
        )
        for i in range(200)
    ] + [
        eid(f"f{i}", f"2026-11-0{rng.randint(1, 9)}T0{rng.randint(0, 9)}:00:00Z", rng.randint(0, 9)) for i in range(50)
    ]
    table = Table()
    state = table.load()
    for i, e in enumerate(events[:150]):
        state.apply(e, received_ms=1)
        if i % 7 == 0:
            table.write(state)  # batch ends: written, old days forgotten
    table.write(state)
    restored = table.load()
    outcomes = [restored.apply(e, received_ms=1) for e in events]  # the first 150 again, as after a crash
    assert outcomes[:150] == [Outcome.RESENT] * 150 and set(outcomes[150:]) == {Outcome.COUNTED}
    fresh = LocalityState("00070")
    for e in reversed(events):
        fresh.apply(e, received_ms=1)
    assert restored.snapshot() == fresh.snapshot()
    assert restored.events == fresh.events == 250


def test_a_batch_whose_changelog_records_were_cut_short_counts_each_event_once_when_replayed() -> None:
    """A worker killed while its producer still held a batch's changelog records leaves a prefix of them (one
    partition, in order); its successor restores that and reads the batch again from the position before it.
    Whatever the cut, each event must count once: here a batch of today's events with late ones for three
    earlier days (each day its own record)."""
    earlier = [eid(f"a{d}", f"2026-11-0{d}T08:00:00+07:00", 10) for d in range(1, 6)]
    batch = [
        eid("t1", "2026-11-06T09:00:00+07:00", 1),
        eid("late2", "2026-11-02T09:00:00+07:00", 100),
        village("late3", "2026-11-03T09:00:00+07:00", electricity=False, village_id="V7"),
        eid("late4", "2026-11-04T09:00:00+07:00", 1000),
        eid("t2", "2026-11-06T10:00:00+07:00", 2),
    ]
    table = Table()
    state = table.load()
    for e in earlier:
        state.apply(e, received_ms=1)
    table.write(state)
    before = dict(table)
    state = table.load()
    for e in batch:
        state.apply(e, received_ms=2)
    whole = [(key, orjson.loads(orjson.dumps(record))) for key, record in state.writes()]
    # The new village report's chunk (written first), the locality's record, the three earlier days' and the
    # 5th's, closed by the 6th.
    assert len(whole) == 6
    expected = figures(state)
    for cut in range(len(whole) + 1):
        restored = Table(before | dict(whole[:cut])).load()
        for e in batch:
            restored.apply(e, received_ms=2)
        assert figures(restored) == expected and restored.events == 10, f"changelog cut after {cut} records"


def test_a_copy_with_other_content_is_a_conflict_and_the_first_copy_counts() -> None:
    first, other = eid("x", "2026-11-01T10:15:00+07:00", 5), eid("x", "2026-11-01T03:15:00Z", 7)
    restamped = eid("x", "2026-11-01T03:15:00Z", 5)  # the same instant in UTC: the same event
    state = LocalityState("00070")
    assert [state.apply(e, received_ms=1) for e in (first, other, restamped)] == [
        Outcome.COUNTED,
        Outcome.CONFLICT,
        Outcome.RESENT,
    ]
    assert figures(state)["eid_activations"] == 5
    a, b = (
        village("v", "2026-11-01T08:00:00Z", electricity=True),
        village("v", "2026-11-01T08:00:00Z", electricity=False),
    )
    assert [state.apply(e, received_ms=1) for e in (a, b)] == [Outcome.COUNTED, Outcome.CONFLICT]
    assert figures(state)["villages_without_electricity"] == 0


def test_an_event_id_used_again_on_another_day_is_another_event() -> None:
    state = LocalityState("00070")
    for e in (eid("x", "2026-11-01T10:00:00Z", 5), eid("x", "2026-11-02T10:00:00Z", 7)):
        assert state.apply(e, received_ms=1) is Outcome.COUNTED
    assert figures(state)["eid_activations"] == 12 and state.events == 2


def test_records_stay_small_and_the_live_hours_stay_in_their_window_after_a_year() -> None:
    """One report an hour for a year: no record grows with it, the snapshot carries 35 days."""
    table, start = Table(), datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    state = table.load()
    for hour in range(365 * 24):
        at = datetime.fromtimestamp(start + hour * 3600, UTC).isoformat()
        state.apply(eid(f"h{hour}", at, 1), received_ms=hour)
        state.apply(village(f"v{hour}", at, electricity=hour % 2 == 0, village_id=f"V{hour % 9}"), received_ms=hour)
        if hour % 24 == 23:
            table.write(state)
    assert figures(state)["eid_activations"] == 365 * 24 and state.events == 2 * 365 * 24
    # A day record holds a day (its events, flow counts and reports): 24 of each a day here, whatever the
    # year behind them. The locality's record holds the open day, the day it closed (its redo:
    # streams.state.writes) and the events per month the alerts need: at most 13 months (about 200 bytes).
    # A day's state reports are in chunks of their own, each written once.
    days = [len(orjson.dumps(record)) for key, record in table.items() if "/d/" in key]
    assert max(days) < 4096 and len(orjson.dumps(table["00070"])) < 2 * max(days) + 1024
    assert len(state.months) == 13  # 2025-01 to 2026-01 (its first hours, +07:00)
    assert len(state.snapshot()["hours"]) == 35 * 24
    assert table.load().snapshot() == state.snapshot()  # the window is rebuilt from the day records
    assert len(table.load().days) <= 35


def test_events_count_in_their_month_of_the_country_a_correction_in_its_originals() -> None:
    """What a province's alert owner judges a period's completeness and late arrivals by (streams.alerts): each
    counted event in its local month (+07:00), a correction in the month of the report it corrects."""
    table = Table()
    state = LocalityState("00070", table.get)
    correction = validate_event(
        {
            "event_id": "n2", "type": "eid.activations", "locality": "00070",
            "occurred_at": "2026-12-02T09:00:00+07:00", "payload": {"count": 6},
            "supersedes": {"event_id": "n", "occurred_at": "2026-11-30T23:30:00+07:00"},
        }
    )  # fmt: skip
    for e in [
        eid("n", "2026-11-30T23:30:00+07:00", 5),  # still November in Viet Nam (16:30 UTC)
        eid("d", "2026-11-30T17:30:00Z", 2),  # 00:30 on 1 December in Viet Nam
        eid("n", "2026-11-30T23:30:00+07:00", 5),  # resent: counts nothing
        correction,
    ]:
        state.apply(e, received_ms=1)
    assert state.months == {"2026-11": 2, "2026-12": 1}
    assert state.take_months() == {"2026-11": 2, "2026-12": 1} and state.take_months() == {}  # told once
    state.apply(eid("e", "2026-12-03T08:00:00+07:00", 1), received_ms=2)
    assert state.take_months() == {"2026-12": 2}  # the changed month, with its whole count
    table.write(state)
    assert LocalityState("00070", table.get).take_months() == {"2026-11": 2, "2026-12": 2}  # loaded: all told again
    for month in ["2025-11", "2025-12", *(f"2026-{m:02d}" for m in range(1, 11))]:  # late, from a year back
        state.apply(eid(f"y{month}", f"{month}-15T08:00:00+07:00", 1), received_ms=3)
    assert sorted(state.months) == ["2025-12", *(f"2026-{m:02d}" for m in range(1, 13))]  # the newest 13 kept
