"""A seeded event stream for the sink/report tests, and a real `p06 sink` process to drive."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import orjson

from pipeline import stamp
from schemas.registry import registry

START = datetime(2026, 9, 1, tzinfo=timezone.utc)


def make_events(seed: int, n: int, provinces: int = 3) -> list[dict]:
    """n distinct events over a few provinces and ~30 days, with many corrections of the same entity."""
    rnd = random.Random(seed)
    reg = registry()
    chosen = rnd.sample(reg.provinces, provinces)
    wards = [w for p in chosen for w in rnd.sample(reg.wards_by_province[p], 4)]
    events = []
    for i in range(n):
        at = START + timedelta(minutes=rnd.randrange(30 * 24 * 60), microseconds=rnd.randrange(3) * 0)
        kind = rnd.choice(["task", "village", "village", "system", "eid", "dossiers"])
        ward, province = rnd.choice(wards), rnd.choice(chosen)
        base = {"event_id": f"e{seed}-{i:06d}", "occurred_at": stamp(at, i)}
        if kind == "task":
            body = {"type": "task.status", "locality": province,
                    "payload": {"task_id": f"T{rnd.randint(1, 6):03d}",
                                "status": rnd.choice(["not_started", "in_progress", "completed"])}}
        elif kind == "village":
            body = {"type": "village.status", "locality": ward,
                    "payload": {"village_id": f"V{rnd.randint(1, 5)}", "electricity": rnd.random() < 0.7,
                                "internet": rnd.random() < 0.5}}
        elif kind == "system":
            body = {"type": "security.assessment", "locality": rnd.choice([ward, province]),
                    "payload": {"system_id": f"S{rnd.randint(1, 3)}", "result": rnd.choice(["passed", "failed"]),
                                "open_findings": rnd.randint(0, 9)}}
        elif kind == "eid":
            body = {"type": "eid.activations", "locality": ward, "payload": {"count": rnd.randint(0, 50)}}
        else:
            received = rnd.randint(0, 40)
            body = {"type": "service.dossiers", "locality": rnd.choice([ward, province]),
                    "payload": {"received": received, "online": rnd.randint(0, received),
                                "on_time": rnd.randint(0, received)}}
        events.append({**base, **body})
    # Same-instant corrections: ties broken by the larger event_id.
    for i in range(0, n, 25):
        twin = dict(events[i], event_id=events[i]["event_id"] + "b")
        if twin["type"] == "village.status":
            twin["payload"] = dict(twin["payload"], electricity=not twin["payload"]["electricity"])
        events.append(twin)
    return events


def messages(events: list[dict], seed: int) -> list[bytes]:
    """Shuffled Kafka values: single events, batches, resends, and invalid messages mixed in."""
    rnd = random.Random(seed + 1)
    stream = events + rnd.sample(events, len(events) // 5)  # resends
    rnd.shuffle(stream)
    values: list[bytes] = []
    i = 0
    while i < len(stream):
        size = rnd.choice([1, 1, 3, 20])
        chunk = stream[i:i + size]
        i += size
        values.append(orjson.dumps(chunk[0] if len(chunk) == 1 else chunk))
        if rnd.random() < 0.05:
            values.append(rnd.choice(INVALID))
    values.append(orjson.dumps([stream[0], {"event_id": "bad", "type": "eid.activations"}]))
    return values


INVALID = [
    b"not json",
    b"[]",
    b'{"event_id": "x1", "type": "eid.activations", "locality": "99999", "occurred_at": "2026-09-02T00:00:00Z", "payload": {"count": 1}}',
    b'{"event_id": "x2", "type": "eid.activations", "locality": "01", "occurred_at": "2026-09-02T00:00:00Z", "payload": {"count": 1}}',
    b'{"event_id": "x3", "type": "service.dossiers", "locality": "01", "occurred_at": "2026-09-02T00:00:00Z", "payload": {"received": 1, "online": 5, "on_time": 0}}',
]


# --- driving the real broker and a real `p06 sink` process -------------------------------------

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from schemas.settings import Settings  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402

P06 = str(Path(sys.executable).parent / "p06")


def publish(settings: Settings, values: list[bytes]) -> None:
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    for value in values:
        producer.send(settings.events_topic, value)
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


class SinkProcess:
    """`p06 sink` as its own process, with the test's P06_* environment, log in a file."""

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.settings, self.log = settings, log
        self.proc = subprocess.Popen(
            [P06, "sink"], env={**os.environ, **env}, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
        )

    def health(self) -> dict | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.settings.sink_api_port}/health", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return None

    def wait(self, done, timeout: float = 120) -> dict:
        """Poll /health until done(health) holds; fail with the sink's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"sink exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
            health = self.health()
            if health and done(health):
                return health
            time.sleep(0.1)
        raise AssertionError(f"sink did not get there in {timeout}s; last {self.health()}\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
