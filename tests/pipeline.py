"""Test helpers shared by the pipeline tests: a seeded event stream and real p06 processes.

What the events must give is in recount.py, written from the contract's words, not from our code.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaProducer

from schemas.registry import registry

REPO = Path(__file__).resolve().parent.parent
BASE_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)
# As senders stamp: most in Vietnam (+07:00), some in UTC, a few elsewhere (a half-hour zone, a
# negative one). A zone that is dropped instead of converted shifts a +07:00 event seven hours.
SENDER_ZONES = (
    *[timezone(timedelta(hours=7))] * 7, timezone.utc,
    timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)),
)


def stamp(moment: datetime, i: int) -> str:
    """The ISO text a sender would write for this instant, the i-th event's zone."""
    text = moment.astimezone(SENDER_ZONES[i % len(SENDER_ZONES)]).isoformat()
    return text.replace("+00:00", "Z")


def seeded_events(seed: int, count: int, provinces: int = 3, wards_per_province: int = 12) -> list[dict[str, Any]]:
    """Valid events of all five types over a few provinces (urban and rural wards), with ties."""
    rng = random.Random(seed)
    reg = registry()
    chosen = rng.sample(reg.provinces, provinces)
    wards = [w for p in chosen for w in rng.sample(reg.wards_by_province[p], min(wards_per_province, len(reg.wards_by_province[p])))]
    events = []
    for i in range(count):
        kind = rng.choice(["task.status", "village.status", "village.status", "security.assessment", "eid.activations", "service.dossiers"])
        # Few distinct times, so that ties on occurred_at happen and the event_id must decide.
        occurred = BASE_TIME + timedelta(hours=rng.randrange(0, 24 * 5, 3))
        if kind == "task.status":
            locality = rng.choice(chosen)
            payload = {"task_id": f"T{rng.randint(1, 12):03d}", "status": rng.choice(["not_started", "in_progress", "completed"])}
        elif kind == "village.status":
            locality = rng.choice(wards)
            payload = {"village_id": f"V{rng.randint(1, 6)}", "electricity": rng.random() < 0.8, "internet": rng.random() < 0.6}
        elif kind == "security.assessment":
            locality = rng.choice(chosen + wards)
            payload = {"system_id": f"S{rng.randint(1, 3)}", "result": rng.choice(["passed", "failed"]), "open_findings": rng.randint(0, 9)}
        elif kind == "eid.activations":
            locality = rng.choice(wards)
            payload = {"count": rng.randint(0, 500)}
        else:
            locality = rng.choice(chosen + wards)
            received = rng.randint(0, 300)
            payload = {"received": received, "online": rng.randint(0, received), "on_time": rng.randint(0, received)}
        events.append(
            {
                "event_id": f"s{seed}-{i:06d}",
                "type": kind,
                "locality": locality,
                "occurred_at": stamp(occurred, i),
                "payload": payload,
            }
        )
    return events


def messages_for(events: list[dict[str, Any]], seed: int, resend_share: float = 0.1, max_batch: int = 20) -> list[tuple[bytes, bytes]]:
    """(key, value) Kafka messages: events packed per locality, some resent, all shuffled."""
    rng = random.Random(seed)
    sent = list(events) + [e for e in events if rng.random() < resend_share]
    rng.shuffle(sent)
    by_locality: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in sent:
        by_locality[e["locality"]].append(e)
    messages = []
    for locality, evs in by_locality.items():
        while evs:
            n = rng.randint(1, max_batch)
            chunk, evs = evs[:n], evs[n:]
            value = orjson.dumps(chunk[0] if len(chunk) == 1 else chunk)
            messages.append((locality.encode(), value))
    rng.shuffle(messages)
    return messages


INVALID_MESSAGES: list[tuple[bytes | None, bytes]] = [
    (b"01", b"this is not json"),
    (b"01", b"\xff\xfe\x00 not utf-8"),
    (None, orjson.dumps({"event_id": "bad-1", "type": "eid.activations", "locality": "01", "occurred_at": "2026-11-01T00:00:00Z", "payload": {"count": 1}})),
    (b"00070", orjson.dumps({"event_id": "bad-2", "type": "unknown.type", "locality": "00070", "occurred_at": "2026-11-01T00:00:00Z", "payload": {}})),
    (b"00070", orjson.dumps({"event_id": "bad-3", "type": "eid.activations", "locality": "00070", "occurred_at": "2026-11-01T00:00:00", "payload": {"count": 1}})),
    (b"00070", orjson.dumps({"event_id": "bad-4", "type": "eid.activations", "locality": "00070", "occurred_at": "2026-11-01T00:00:00Z", "payload": {"count": 2**63}})),
]
# A batch whose second element is invalid: the first must still count.
MIXED_BATCH = (
    b"00070",
    orjson.dumps(
        [
            {"event_id": "mixed-ok", "type": "eid.activations", "locality": "00070", "occurred_at": "2026-11-02T00:00:00Z", "payload": {"count": 11}},
            {"event_id": "mixed-bad", "type": "eid.activations", "locality": "00070", "occurred_at": "2026-11-02T00:00:00Z", "payload": {"count": -1}},
        ]
    ),
)
MIXED_BATCH_VALID = [orjson.loads(MIXED_BATCH[1])[0]]


def publish_raw(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    """Straight onto the topic with a bare producer, bypassing the Publisher's checks."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=5_242_880)
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


class Service:
    """A real `p06 ...` process with the test's P06_* environment, its output in a log file."""

    def __init__(self, args: list[str], log: Path, **env: str) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "p06", *args],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=open(log, "ab"),
            stderr=subprocess.STDOUT,
        )

    def failure(self) -> str | None:
        """None while it runs; otherwise how it ended, with the end of its log."""
        if self.proc.poll() is None:
            return None
        return f"{self.log.name} exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


class Worker(Service):
    """`p06 worker` on its own web port."""

    def __init__(self, port: int, log_dir: Path, **env: str) -> None:
        super().__init__(["worker"], log_dir / f"worker-{port}.log", P06_WORKER_WEB_PORT=str(port), **env)
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def live(self) -> dict[str, Any] | None:
        try:
            return httpx.get(f"{self.url}/api/live", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None


def figures_of(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("nation", "provinces", "urban", "rural")}


def wait_for_figures(worker: Worker, expected: dict[str, Any], timeout_s: float = 120) -> dict[str, Any]:
    """Poll the live API until it shows exactly the expected figures; return the last body seen."""
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        body = worker.live()
        if body is not None and figures_of(body) == expected:
            return body
        if worker.proc.poll() is not None:
            raise AssertionError(f"worker exited with {worker.proc.returncode}; log: {worker.log.read_text()[-3000:]}")
        time.sleep(0.5)
    got = figures_of(body) if body else None
    diff = {} if got is None else {s: (got[s], expected[s]) for s in ("nation", "urban", "rural") if got[s] != expected[s]}
    raise AssertionError(f"live figures never matched the recount within {timeout_s}s; differing: {diff}")
