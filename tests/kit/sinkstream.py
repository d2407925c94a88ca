"""The sink and report tests' stream (from the project's one generator) and a real `p06 sink` process."""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from kafka import KafkaProducer

from producers import as_messages, simulated_events
from schemas.settings import Settings
from stack import ensure_topics
from stack.clients import kafka_python_options
from stack.processes import P06Process

from .pipeline import operator

START = datetime(2026, 9, 1, tzinfo=UTC)
P06 = str(Path(sys.executable).parent / "p06")  # the console script, as a user runs it


def make_events(seed: int, n: int, provinces: int = 3) -> list[dict]:
    """About n distinct events over a few provinces and 30 days, with same-instant corrections."""
    return list(
        simulated_events(
            seed,
            n,
            start=START,
            span=timedelta(days=30),
            provinces=provinces,
            wards_per_province=4,
            tie_share=0.04,
            correction_share=0.1,  # events corrected by events naming them (issue 24), flows and states
        )
    )


def messages(events: list[dict], seed: int) -> list[bytes]:
    """Shuffled Kafka values: single events, batches, resends, and invalid messages mixed in."""
    rnd = random.Random(seed + 1)
    values: list[bytes] = []
    for _, value in as_messages(events, seed, max_batch=20, resend_share=0.2):
        values.append(value)
        if rnd.random() < 0.05:
            values.append(rnd.choice(INVALID))
    values.append(orjson.dumps([events[0], {"event_id": "bad", "type": "eid.activations"}]))
    return values


INVALID = [
    b"not json",
    b"[]",
    b'{"event_id": "x1", "type": "eid.activations", "locality": "99999", "occurred_at": "2026-09-02T00:00:00Z",'
    b' "payload": {"count": 1}}',
    b'{"event_id": "x2", "type": "eid.activations", "locality": "01", "occurred_at": "2026-09-02T00:00:00Z",'
    b' "payload": {"count": 1}}',
    b'{"event_id": "x3", "type": "service.dossiers", "locality": "01", "occurred_at": "2026-09-02T00:00:00Z",'
    b' "payload": {"received": 1, "online": 5, "on_time": 0}}',
]


def sender_key(value: bytes) -> bytes | None:
    """The key a sender puts on a message, as the contract says: its events' locality (none for garbage)."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    first = data[0] if isinstance(data, list) and data else data
    locality = first.get("locality") if isinstance(first, dict) else None
    return locality.encode() if isinstance(locality, str) else None


def publish(settings: Settings, values: list[bytes]) -> None:
    """Each value keyed by its locality (kafka-python partitions by murmur2, as the contract says), so
    it lands in its locality's home partition: the sink archives only records at home."""
    ensure_topics(settings)
    producer = KafkaProducer(**kafka_python_options(settings, "admission"), acks="all", linger_ms=5)
    for value in values:
        producer.send(settings.events_topic, value, key=sender_key(value))
    producer.flush()
    producer.close()


def expected_rejections(values: list[bytes]) -> int:
    """Invalid messages and invalid batch elements, judged here without the code under test."""
    count = 0
    for value in values:
        if value in INVALID:
            count += 1
        elif value.startswith(b"[") and b'"bad"' in value:
            count += 1
    return count


class SinkProcess(P06Process):
    """`p06 sink` with the test's P06_* environment, log in a file, driven through its /health."""

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        super().__init__(["sink"], log, env)
        self.settings = settings

    def health(self) -> dict | None:
        try:
            return httpx.get(
                f"http://127.0.0.1:{self.settings.sink_api_port}/health", auth=operator(), timeout=2
            ).json()
        except (httpx.HTTPError, ValueError):
            return None

    def wait(self, done, timeout: float = 120) -> dict:
        """Poll /health until done(health) holds; fail with the sink's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.alive, self.failure()
            health = self.health()
            if health and done(health):
                return health
            time.sleep(0.1)
        raise AssertionError(f"sink did not get there in {timeout}s; last {self.health()}\n{self.tail(40)}")


def archived_by_sink(settings: Settings, log: Path, seed: int, n: int) -> tuple[list[dict], SinkProcess]:
    """A stream of about n events published and drained by a real `p06 sink` (left running: stop it)."""
    events = make_events(seed=seed, n=n)
    values = messages(events, seed=seed)
    publish(settings, values)
    sink = SinkProcess(settings, log)
    sink.wait(lambda h: h["messages"] >= len(values) and h["lag"] == 0)
    return events, sink
