"""Test helpers shared by the pipeline tests: the seeded stream they use and real p06 processes.

What the events must give is in sinks/checks/recount.py, written from the contract's words, not from our code.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaProducer

from producers.simulate import simulated_events
from schemas.names import MAX_VALUE_BYTES, province_of_topic
from schemas.settings import Settings
from stack.clients import kafka_python_options
from stack.processes import P06Process

REPO = Path(__file__).resolve().parents[2]


def operator() -> tuple[str, str] | None:
    """The test's national operator (conftest.operator_accounts), as HTTP Basic credentials."""
    from auth.accounts import client_credentials
    from schemas.settings import settings

    return client_credentials(settings(), "operator")


def monitor() -> tuple[str, str] | None:
    """The test's monitor account, for /metrics."""
    from auth.accounts import client_credentials
    from schemas.settings import settings

    return client_credentials(settings(), "monitor")


def log_in_form(client: httpx.Client, **fields: str) -> httpx.Response:
    """POST /login as a browser does: GET the form first (its CSRF cookie and token), then post it."""
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert form.status_code == 200 and token, form.text[:300]
    return client.post("/login", data={**fields, "csrf": token.group(1)})


BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)


def seeded_events(seed: int, count: int, provinces: int = 3, wards_per_province: int = 12) -> list[dict[str, Any]]:
    """The tests' stream, from the project's one generator: a few provinces (urban and rural wards)
    over five days, senders in several zones, same-instant corrections the event_id must decide, and
    flow counts corrected by events naming them."""
    return list(
        simulated_events(
            seed,
            count,
            start=BASE_TIME,
            span=timedelta(days=5),
            provinces=provinces,
            wards_per_province=wards_per_province,
            tie_share=0.05,
            correction_share=0.1,  # events corrected by events naming them (issue 24), flows and states
        )
    )


INVALID_MESSAGES: list[tuple[bytes | None, bytes]] = [
    (b"01", b"this is not json"),
    (b"01", b"\xff\xfe\x00 not utf-8"),
    (
        None,
        orjson.dumps(
            {
                "event_id": "bad-1",
                "type": "eid.activations",
                "locality": "01",
                "occurred_at": "2026-11-01T00:00:00Z",
                "payload": {"count": 1},
            }
        ),
    ),
    (
        b"00070",
        orjson.dumps(
            {
                "event_id": "bad-2",
                "type": "unknown.type",
                "locality": "00070",
                "occurred_at": "2026-11-01T00:00:00Z",
                "payload": {},
            }
        ),
    ),
    (
        b"00070",
        orjson.dumps(
            {
                "event_id": "bad-3",
                "type": "eid.activations",
                "locality": "00070",
                "occurred_at": "2026-11-01T00:00:00",
                "payload": {"count": 1},
            }
        ),
    ),
    (
        b"00070",
        orjson.dumps(
            {
                "event_id": "bad-4",
                "type": "eid.activations",
                "locality": "00070",
                "occurred_at": "2026-11-01T00:00:00Z",
                "payload": {"count": 2**63},
            }
        ),
    ),
]
# A batch whose second element is invalid: the first must still count.
MIXED_BATCH = (
    b"00070",
    orjson.dumps(
        [
            {
                "event_id": "mixed-ok",
                "type": "eid.activations",
                "locality": "00070",
                "occurred_at": "2026-11-02T00:00:00Z",
                "payload": {"count": 11},
            },
            {
                "event_id": "mixed-bad",
                "type": "eid.activations",
                "locality": "00070",
                "occurred_at": "2026-11-02T00:00:00Z",
                "payload": {"count": -1},
            },
        ]
    ),
)
MIXED_BATCH_VALID = [orjson.loads(MIXED_BATCH[1])[0]]


def raw_role(settings: Settings, topic: str) -> str:
    """Who writes this topic for real: a province's senders their ingestion topic, admission the rest."""
    province = province_of_topic(settings.events_topic, topic)
    return f"province-{province}" if province else "admission"


def publish_raw(settings: Settings, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    """Straight onto the topic with a bare producer, bypassing the Publisher's checks, as the principal
    that writes this topic in production (raw_role)."""
    producer = KafkaProducer(
        **kafka_python_options(settings, raw_role(settings, topic)),
        acks="all",
        linger_ms=5,
        max_request_size=MAX_VALUE_BYTES,
    )
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


class Worker(P06Process):
    """`p06 worker` on its own web port."""

    def __init__(self, port: int, log_dir: Path, **env: str) -> None:
        super().__init__(["worker"], log_dir / f"worker-{port}.log", {"P06_WORKER_WEB_PORT": str(port), **env})
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def live(self) -> dict[str, Any] | None:
        try:
            return httpx.get(f"{self.url}/api/live", auth=operator(), timeout=5).json()
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
        if failure := worker.failure():
            raise AssertionError(failure)
        time.sleep(0.5)
    got = figures_of(body) if body else None
    diff = (
        {} if got is None else {s: (got[s], expected[s]) for s in ("nation", "urban", "rural") if got[s] != expected[s]}
    )
    raise AssertionError(f"live figures never matched the recount within {timeout_s}s; differing: {diff}")


def wait_until_both_own_partitions(*workers: Worker, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    owned: list[int] = []
    while time.monotonic() < deadline:
        owned = [_assigned(w) for w in workers]
        if all(owned):
            return
        for w in workers:
            assert w.failure() is None, w.failure()
        time.sleep(0.3)
    raise AssertionError(f"the workers never all owned partitions: {owned}")


def _assigned(worker: Worker) -> int:
    try:
        found = re.search(
            r"^p06_assigned_partitions (\d+)(?:\.0)?$",
            httpx.get(f"{worker.url}/metrics", auth=monitor(), timeout=2).text,
            re.M,
        )
    except httpx.HTTPError:
        return 0
    return int(found.group(1)) if found else 0
