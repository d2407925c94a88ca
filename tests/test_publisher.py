"""The Publisher on a real broker: batches keyed by locality, nothing invalid on the topic, no accepted event lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import grant_acls
from kit.producers_support import events_of, read_topic, topic_events

from producers import Publisher, simulated_events
from schemas.settings import Settings
from stack import broker as local_broker
from stack import ensure_topics

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def topics(p06_settings: Settings) -> Settings:
    ensure_topics(p06_settings)
    return p06_settings


def unreachable(settings: Settings) -> Settings:
    """The same settings with a broker address where nothing listens, and a short wait."""
    return settings.model_copy(
        update={"kafka_bootstrap": f"127.0.0.1:{local_broker.free_port()}", "publish_timeout_s": 2.0}
    )


def test_batches_arrive_keyed_by_locality_in_accepted_order(topics: Settings) -> None:
    events = list(simulated_events(seed=11, count=3000))
    with Publisher(topics, batch_size=40) as publisher:
        result = publisher.publish(events)
    assert (result.accepted, result.delivered, result.spooled, result.rejections) == (3000, 3000, 0, [])
    records = read_topic(topics)
    assert len(records) < len(events)  # events were packed, not sent one by one
    by_locality: dict[str, list[str]] = defaultdict(list)
    for record in records:
        batch = events_of(record)
        assert 1 <= len(batch) <= 40
        assert {e["locality"] for e in batch} == {record.key.decode()}
        by_locality[record.key.decode()] += [e["event_id"] for e in batch]
    expected: dict[str, list[str]] = defaultdict(list)
    for e in events:
        expected[e["locality"]].append(e["event_id"])
    assert by_locality == expected  # one partition per key: each locality's events in the order accepted


def test_batch_size_one_sends_each_event_as_an_object(topics: Settings) -> None:
    events = list(simulated_events(seed=12, count=50))
    with Publisher(topics, batch_size=1) as publisher:
        publisher.publish(events)
    records = read_topic(topics)
    assert len(records) == 50 and all(record.value.startswith(b"{") for record in records)


def test_invalid_events_never_reach_the_topic(topics: Settings) -> None:
    good = list(simulated_events(seed=13, count=20))
    bad = [
        b'{"event_id": "x"',
        b'{"event_id":\x00}',
        {**good[0], "event_id": "bad-1", "locality": "99999"},
        {**good[1], "event_id": "bad-2", "occurred_at": "2026-01-01T08:00:00"},
        {**good[2], "event_id": "bad-3", "extra": 1},
        {
            "event_id": "bad-4",
            "type": "service.dossiers",
            "locality": "01",
            "occurred_at": "2026-01-01T08:00:00Z",
            "payload": {"received": 1, "online": 2, "on_time": 0},
        },
    ]
    items = good[:10] + bad + good[10:]
    with Publisher(topics) as publisher:
        result = publisher.publish(items)
    assert [r.index for r in result.rejections] == list(range(10, 16))
    assert all(r.reason for r in result.rejections)
    assert result.accepted == 20
    assert sorted(e["event_id"] for e in topic_events(topics)) == sorted(e["event_id"] for e in good)


def test_unreachable_broker_spools_then_next_publish_delivers_spool_first(topics: Settings) -> None:
    events = list(simulated_events(seed=14, count=400))
    with Publisher(unreachable(topics)) as offline:
        first = offline.publish(events[:200])
        second = offline.publish(events[200:300])
    assert (first.delivered, first.spooled, second.spooled) == (0, 200, 100)
    assert first.error and second.error  # the reason is surfaced, not swallowed
    assert offline.spool.pending_events() == 300
    with Publisher(topics) as online:
        third = online.publish(events[300:])
        assert (third.drained, third.delivered, third.spooled) == (300, 100, 0)
        assert online.spool.pending_events() == 0
    on_topic = topic_events(topics)
    assert sorted(e["event_id"] for e in on_topic) == sorted(e["event_id"] for e in events)
    positions = {e["event_id"]: i for i, e in enumerate(events)}
    for locality in {e["locality"] for e in events}:
        ids = [positions[e["event_id"]] for e in on_topic if e["locality"] == locality]
        assert ids == sorted(ids)  # spooled events went out before the newer ones, in order


def test_drain_on_an_empty_spool_delivers_nothing(topics: Settings) -> None:
    with Publisher(topics) as publisher:
        result = publisher.drain()
    assert (result.drained, result.spooled, result.error) == (0, 0, None)


CHILD = """
import itertools, sys
from producers import Publisher, simulated_events
events = simulated_events(seed=21)
with Publisher() as publisher:
    accepted = 0
    while True:
        result = publisher.publish(list(itertools.islice(events, 200)))
        accepted += result.accepted
        print(accepted, result.spooled, flush=True)  # publish returned: these events are accepted
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_broker_stopped_and_publisher_killed_loses_no_accepted_event(
    p06_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker_dir, port = tmp_path / "private-broker", local_broker.free_port()
    local_broker.up(broker_dir, port)
    try:
        secrets_dir = (broker_dir / "kafka" / "secrets").resolve()
        settings = p06_settings.model_copy(
            update={"kafka_bootstrap": f"127.0.0.1:{port}", "kafka_secrets_dir": secrets_dir}
        )
        ensure_topics(settings)
        grant_acls(settings)
        monkeypatch.setenv("P06_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
        monkeypatch.setenv("P06_KAFKA_SECRETS_DIR", str(secrets_dir))
        monkeypatch.setenv("P06_PUBLISH_TIMEOUT_S", "3")
        child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=REPO, stdout=subprocess.PIPE, text=True)
        lines = iter(child.stdout)  # type: ignore[arg-type]
        accepted = spooled_calls = 0
        for line in lines:
            accepted = int(line.split()[0])
            if accepted >= 3000:
                break
        local_broker.down(broker_dir)  # mid-publish: the child keeps publishing
        for line in lines:
            accepted, spooled = map(int, line.split())
            spooled_calls += spooled > 0
            if spooled_calls >= 5:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        for line in lines:  # what the child printed before it died was accepted too
            accepted = int(line.split()[0])
        assert spooled_calls >= 5
        local_broker.up(broker_dir, port)
        drain = subprocess.run(
            [sys.executable, "p06.py", "publish", "--drain"], cwd=REPO, capture_output=True, text=True
        )
        assert drain.returncode == 0, drain.stderr
        on_topic = {e["event_id"] for e in topic_events(settings)}
        expected = {e["event_id"] for e in simulated_events(seed=21, count=accepted)}
        assert expected - on_topic == set()
    finally:
        local_broker.down(broker_dir, purge=True)
