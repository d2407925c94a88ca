"""The simulator: valid, realistic, the whole registry, same seed same events, resend and reorder knobs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from producers import as_messages, simulated_events
from producers.simulate import villages_of
from schemas import EVENT_TYPES, registry, validate_event
from stack.processes import run_p06

REPO = Path(__file__).resolve().parent.parent
COUNT = 20_000


def sequence(event: dict) -> int:
    return int(event["event_id"].rsplit("-", 1)[1])


@pytest.fixture(scope="module")
def plain() -> list[dict]:
    return list(simulated_events(seed=7, count=COUNT))


def test_every_event_is_valid_and_every_type_and_province_appears(plain: list[dict]) -> None:
    events = [validate_event(e) for e in plain]
    assert Counter(e.type for e in events).keys() == EVENT_TYPES.keys()
    reg = registry()
    assert {reg.localities[e.locality].province for e in events} == set(reg.provinces)
    wards = {e.locality for e in events if reg.localities[e.locality].level == "ward"}
    assert len(wards) > 500  # spread over the country's wards, not a handful
    for e in events:
        if e.type == "village.status":
            assert e.payload.village_id in villages_of(e.locality)  # type: ignore[union-attr]


def test_same_seed_same_events_other_seed_other_events(plain: list[dict]) -> None:
    assert list(simulated_events(seed=7, count=COUNT)) == plain
    assert list(simulated_events(seed=8, count=100)) != plain[:100]


def test_without_knobs_each_event_once_in_order(plain: list[dict]) -> None:
    assert [sequence(e) for e in plain] == list(range(1, COUNT + 1))


def test_resend_share_repeats_identical_events(plain: list[dict]) -> None:
    events = list(simulated_events(seed=7, count=COUNT, resend_share=0.1))
    assert len(events) == COUNT
    repeats = COUNT - len({e["event_id"] for e in events})
    assert 0.08 * COUNT < repeats < 0.12 * COUNT
    truth = {e["event_id"]: e for e in plain}
    assert all(truth[e["event_id"]] == e for e in events if e["event_id"] in truth)  # a resend is the same event


def test_reorder_share_delivers_a_share_late(plain: list[dict]) -> None:
    events = list(simulated_events(seed=7, count=COUNT, reorder_share=0.1))
    assert len(events) == COUNT and len({e["event_id"] for e in events}) == COUNT
    newest, late = 0, 0
    for e in events:
        late += sequence(e) < newest
        newest = max(newest, sequence(e))
    assert 0.08 * COUNT < late < 0.12 * COUNT
    truth = {e["event_id"]: e for e in plain}
    assert all(truth[e["event_id"]] == e for e in events if e["event_id"] in truth)


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_shares_outside_0_1_are_refused(share: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        next(simulated_events(seed=1, count=1, resend_share=share))


def test_p06_simulate_writes_the_same_events(tmp_path: Path) -> None:
    done = run_p06(
        *"simulate --count 500 --seed 7 --output -".split(),
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "P06_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(line) for line in done.stdout.splitlines()] == list(simulated_events(seed=7, count=500))


def test_a_high_reorder_share_holds_many_events_at_once_without_failing() -> None:
    # Regression: two held events due at the same emission once made heapq compare the events.
    events = list(simulated_events(seed=9, count=3000, reorder_share=0.9, resend_share=0.2))
    assert len(events) == 3000


def test_a_sample_of_the_country_over_a_span_with_corrections() -> None:
    start, span = datetime(2026, 9, 1, tzinfo=UTC), timedelta(days=30)
    events = list(
        simulated_events(seed=5, count=3000, start=start, span=span, provinces=3, wards_per_province=4, tie_share=0.05)
    )
    reg = registry()
    provinces = {reg.localities[e["locality"]].province for e in events}
    assert len(provinces) == 3
    assert len({e["locality"] for e in events if len(e["locality"]) == 5}) <= 12
    moments = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert start <= min(moments) and max(moments) <= start + span
    assert max(moments) - min(moments) > span * 0.9  # the history covers the span, not its first hour
    offsets = {m.utcoffset() for m in moments}
    assert timedelta(hours=7) in offsets and timedelta(0) in offsets and len(offsets) >= 3  # senders' zones vary
    by_id = {e["event_id"]: e for e in events}
    twins = [(by_id[e["event_id"][:-1]], e) for e in events if e["event_id"].endswith("b")]
    assert 0.03 * 3000 < len(twins) < 0.07 * 3000
    for first, twin in twins:  # same entity, same instant, larger event_id
        assert (twin["type"], twin["locality"]) == (first["type"], first["locality"])
        assert datetime.fromisoformat(twin["occurred_at"]) == datetime.fromisoformat(first["occurred_at"])
        assert twin["event_id"] > first["event_id"]


@pytest.mark.parametrize("max_batch", [1, 20])
def test_as_messages_delivers_every_event_keyed_by_its_locality(plain: list[dict], max_batch: int) -> None:
    events = plain[:2000]
    delivered = []
    for key, value in as_messages(events, seed=3, max_batch=max_batch):
        body = orjson.loads(value)
        items = body if isinstance(body, list) else [body]
        assert len(items) <= max_batch and {e["locality"].encode() for e in items} == {key}
        delivered += items
    assert sorted(delivered, key=lambda e: e["event_id"]) == sorted(events, key=lambda e: e["event_id"])
    assert delivered != events  # shuffled, as many senders deliver
