"""Fault injection on the real broker and chDB: each case publishes a seeded stream, injects a fault,
drains, and checks every figure (twelve metrics x nation, provinces, urban, rural) in the live API, in
ClickHouse and by `p06 reconcile`, and that the archive holds every valid event."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from conftest import grant_acls
from kit.faults import Sink, assert_exact_everywhere, p06, uncommitted, wait_until_idle, wait_until_processing
from kit.pipeline import (
    INVALID_MESSAGES,
    Worker,
    monitor,
    operator,
    publish_raw,
    seeded_events,
    wait_for_figures,
    wait_until_both_own_partitions,
)

from producers import Publisher, as_messages
from schemas.names import sink_group
from schemas.settings import Settings, load_settings
from schemas.settings import settings as cached_settings
from sinks.checks.recount import end_of, expected_live, recount, zone
from stack import broker as local_broker
from stack import ensure_ingestion_topics, ensure_topics
from stack.processes import P06Process

pytestmark = pytest.mark.slow
EVENTS = 1500


@pytest.fixture
def pipeline(p06_settings: Settings, tmp_path: Path):
    """Start and stop the worker and sink processes a case asks for."""
    started: list[P06Process] = []

    class Pipeline:
        settings = p06_settings

        def worker(self, port: int | None = None, **env: str) -> Worker:
            w = Worker(port or local_broker.free_port(), tmp_path, **env)
            started.append(w)
            return w

        def sink(self, **env: str) -> Sink:
            s = Sink(tmp_path, **env)
            started.append(s)
            return s

        def admission(self) -> P06Process:
            a = P06Process(["admission"], tmp_path / f"admission-{len(started)}.log")
            started.append(a)
            return a

    ensure_topics(p06_settings)
    yield Pipeline()
    for process in reversed(started):
        process.stop()


def publish(settings: Settings, messages) -> None:
    publish_raw(settings, settings.events_topic, messages)


def test_every_event_twice_and_some_three_times(pipeline) -> None:
    events = seeded_events(seed=11, count=EVENTS)
    rng = random.Random(11)
    resent = events + events + [e for e in events if rng.random() < 0.1]
    publish(pipeline.settings, as_messages(resent, seed=11))
    assert_exact_everywhere(pipeline.settings, pipeline.worker(), pipeline.sink(), events)


def test_shuffled_with_some_days_late(pipeline) -> None:
    events = seeded_events(seed=12, count=EVENTS)
    rng = random.Random(12)
    late = [e for e in events if rng.random() < 0.15]
    on_time = [e for e in events if e not in late]
    worker, sink = pipeline.worker(), pipeline.sink()
    publish(pipeline.settings, as_messages(on_time, seed=12, resend_share=0.1))
    wait_for_figures(worker, expected_live(on_time))
    # Events that happened days ago arrive now: they must land in their own hour and day.
    publish(pipeline.settings, as_messages(late, seed=13, resend_share=0.1))
    assert_exact_everywhere(pipeline.settings, worker, sink, events)
    days = httpx.get(f"{worker.url}/api/live/windows", params={"granularity": "day"}, auth=operator()).json()["windows"]
    # Each day of the country's calendar: what the recount adds that day (a correction in its original's day).
    local_days = sorted({datetime.fromisoformat(e["occurred_at"]).astimezone(zone()).date() for e in events})
    expected_eid_by_day: dict[str, int] = {}
    for day in [local_days[0] + timedelta(days=n) for n in range((local_days[-1] - local_days[0]).days + 1)]:
        at = (recount(events, end_of(d))["nation"]["eid_activations"] for d in (day, day - timedelta(days=1)))
        expected_eid_by_day[day.isoformat()] = next(at) - next(at)
    assert {w["start"][:10]: w["eid_activations"] for w in days if w["eid_activations"]} == {
        d: v for d, v in expected_eid_by_day.items() if v
    }


def test_worker_killed_three_times(pipeline) -> None:
    events = seeded_events(seed=14, count=EVENTS * 2)
    messages = as_messages(events, seed=14, resend_share=0.1)
    sink = pipeline.sink()
    rng = random.Random(14)
    quarter = len(messages) // 4
    # Commits 30 s apart: a kill within a second of processing always leaves processed records
    # uncommitted, which the next worker must read again without counting them twice.
    slow_commits = {"P06_WORKER_COMMIT_INTERVAL_S": "30"}
    worker = pipeline.worker(**slow_commits)
    for i in range(3):
        before = wait_until_idle(worker)  # up, and done with what the last victim left uncommitted
        publish(pipeline.settings, messages[i * quarter : (i + 1) * quarter])
        wait_until_processing(worker, above=before)
        time.sleep(rng.uniform(0.0, 0.5))
        worker.kill()
        left = uncommitted(pipeline.settings, pipeline.settings.app_id)
        assert left > 0, f"kill {i + 1} landed after the worker had committed everything: it proved nothing"
        worker = pipeline.worker(**slow_commits)
    publish(pipeline.settings, messages[3 * quarter :])
    assert_exact_everywhere(pipeline.settings, worker, sink, events)


def test_sink_killed_mid_batch_and_restarted(pipeline) -> None:
    events = seeded_events(seed=15, count=EVENTS * 2)
    messages = as_messages(events, seed=15, resend_share=0.1)
    worker = pipeline.worker()
    sink = pipeline.sink(P06_SINK_BATCH_ROWS="50")  # many small batches: the kill lands between two of them
    publish(pipeline.settings, messages[: len(messages) // 2])
    health_url = f"http://127.0.0.1:{pipeline.settings.sink_api_port}/health"
    deadline = time.monotonic() + 120
    while not _sink_wrote(health_url):  # rows are being written
        assert time.monotonic() < deadline and sink.failure() is None, f"the sink wrote nothing: {sink.failure()}"
        time.sleep(0.05)
    sink.kill()
    assert uncommitted(pipeline.settings, sink_group(pipeline.settings.app_id)) > 0, (
        "the sink had finished: the kill proved nothing"
    )
    publish(pipeline.settings, messages[len(messages) // 2 :])
    assert_exact_everywhere(pipeline.settings, worker, pipeline.sink(), events)


def _sink_wrote(health_url: str) -> bool:
    try:
        return httpx.get(health_url, timeout=2).json()["batches"] > 0
    except (httpx.HTTPError, ValueError):
        return False


def test_broker_restarted_while_everything_runs(pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A private broker: this case stops it, and the session's broker serves the other tests.
    broker_dir, port = tmp_path / "own-broker", local_broker.free_port()
    local_broker.up(broker_dir, port)
    monkeypatch.setenv("P06_KAFKA_BOOTSTRAP", f"127.0.0.1:{port}")
    monkeypatch.setenv("P06_KAFKA_SECRETS_DIR", str((broker_dir / "kafka" / "secrets").resolve()))
    cached_settings.cache_clear()
    s = load_settings()
    try:
        ensure_topics(s)
        grant_acls(s)
        events = seeded_events(seed=16, count=EVENTS)
        worker, sink = pipeline.worker(), pipeline.sink()
        wait_until_serving(worker, s)
        publisher = Publisher(s)
        half = len(events) // 2
        assert publisher.publish(events[:half]).spooled == 0
        wait_for_figures(worker, expected_live(events[:half]))  # the services are up and counting
        local_broker.down(broker_dir)
        assert publisher.publish(events[half:]).spooled > 0  # the broker is gone: into the spool
        publisher.close()
        local_broker.up(broker_dir, port)
        drained = p06("publish", "--drain")
        assert drained.returncode == 0, drained.stdout + drained.stderr
        assert_exact_everywhere(s, worker, sink, events)
    finally:
        for process in (worker, sink):
            process.stop()
        local_broker.down(broker_dir, purge=True)


def wait_until_serving(worker: Worker, s: Settings, timeout_s: float = 90) -> None:
    """Both services up before the fault, so that the fault hits them running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            sink_up = (
                httpx.get(f"http://127.0.0.1:{s.sink_api_port}/health", auth=operator(), timeout=2).status_code == 200
            )
        except httpx.HTTPError:
            sink_up = False
        if sink_up and worker.live() is not None:
            return
        time.sleep(0.3)
    raise AssertionError("worker or sink did not start")


def test_clickhouse_unavailable_for_30_seconds(pipeline, tmp_path: Path) -> None:
    events = seeded_events(seed=17, count=EVENTS)
    messages = as_messages(events, seed=17, resend_share=0.1)
    worker = pipeline.worker()
    sink = InProcessSink(pipeline.settings)  # in-process, so the test can take ClickHouse away under it
    try:
        publish(pipeline.settings, messages[: len(messages) // 2])
        deadline = time.monotonic() + 120
        while sink.sink.stats.batches == 0:
            assert time.monotonic() < deadline, "the sink wrote nothing"
            time.sleep(0.2)
        # chDB admits one process per folder: release the sink's hold and let another process take
        # the folder for 30 s. Meanwhile every write and reconnect of the sink fails.
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_CHDB, pipeline.settings.clickhouse_dsn, "30"], stdout=subprocess.PIPE, text=True
        )
        with sink.sink.store.lock:
            sink.sink.store.client.close()
            sink.sink.store.client = None
            assert holder.stdout.readline().strip() == "held"
        publish(pipeline.settings, messages[len(messages) // 2 :])
        holder.wait(timeout=90)
        assert sink.sink.store.outages >= 1, "the sink never saw ClickHouse go away"
        assert_exact_everywhere(pipeline.settings, worker, sink, events)
    finally:
        sink.stop()


# Opens the chDB folder as soon as it is free, says so, holds it for argv[2] seconds.
HOLD_CHDB = """
import sys, time, clickhouse_connect
while True:
    try:
        client = clickhouse_connect.get_client(dsn=sys.argv[1]); break
    except Exception:
        time.sleep(0.01)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
client.close()
"""


class InProcessSink:
    """The real sink, run in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        from sinks.ingest.sink import Sink as SinkService

        self.sink = SinkService(settings)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.sink.run()), daemon=True)
        self.thread.start()

    def failure(self) -> str | None:
        return None if self.thread.is_alive() else "the in-process sink stopped"

    def stop(self) -> None:
        self.sink.stop.set()
        self.thread.join(60)


def test_two_workers_one_stops_one_starts(pipeline) -> None:
    events = seeded_events(seed=18, count=EVENTS * 2)
    messages = as_messages(events, seed=18, resend_share=0.1)
    thirds = [messages[i::3] for i in range(3)]
    sink = pipeline.sink()
    a, b = pipeline.worker(), pipeline.worker()
    publish(pipeline.settings, thirds[0])
    wait_until_both_own_partitions(a, b)  # the group has both members before one leaves
    a.stop()
    publish(pipeline.settings, thirds[1])
    c = pipeline.worker()
    publish(pipeline.settings, thirds[2])
    assert_exact_everywhere(pipeline.settings, c, sink, events)
    wait_for_figures(b, expected_live(events))


class Flow(threading.Thread):
    """A seeded stream that keeps flowing: `slices` sends `pause_s` apart, from a thread of the test."""

    def __init__(self, settings: Settings, messages: list[tuple[bytes, bytes]], slices: int, pause_s: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.pause_s = settings, pause_s
        self.slices = [messages[i::slices] for i in range(slices)]
        self.sent = 0

    def run(self) -> None:
        for part in self.slices:
            publish(self.settings, part)
            self.sent += 1
            time.sleep(self.pause_s)

    @property
    def flowing(self) -> bool:
        return self.sent < len(self.slices)


def test_rebalance_torture(pipeline) -> None:
    """While a seeded stream flows, with a CPU-bound process beside them: a worker joins, one is
    SIGKILLed, one joins, one leaves cleanly and rejoins on its old data. The survivors end exact.
    P06_TORTURE_SEED picks the stream (a loop over seeds: docs/streams.md)."""
    seed = int(os.environ.get("P06_TORTURE_SEED", "21"))
    events = seeded_events(seed=seed, count=EVENTS * 2)
    flow = Flow(pipeline.settings, as_messages(events, seed=seed, resend_share=0.1), slices=80, pause_s=1.0)
    fast_failover = {"P06_WORKER_SESSION_TIMEOUT_S": "10"}
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        flow.start()
        a = pipeline.worker(**fast_failover)
        wait_until_processing(a)
        b = pipeline.worker(**fast_failover)  # joins
        wait_until_both_own_partitions(a, b)
        assert flow.flowing, "the stream ended before the kill: the case proved nothing"
        a.kill()  # SIGKILLed mid-stream, with whatever it had not committed
        c = pipeline.worker(**fast_failover)  # joins while the group still waits for the dead one
        wait_until_both_own_partitions(b, c)
        b.stop()  # leaves cleanly
        b = pipeline.worker(port=b.port, **fast_failover)  # rejoins on its old data folder
        wait_until_both_own_partitions(b, c)
        assert flow.flowing, "the stream ended before the last rebalance: the case proved less than it says"
        flow.join()
        expected = expected_live(events)
        wait_for_figures(b, expected)
        wait_for_figures(c, expected)
    finally:
        burner.kill()
        flow.join(120)


def test_hostile_input_lands_in_the_dlq_and_counts_nothing(pipeline) -> None:
    events = seeded_events(seed=19, count=300)
    ward = events[0]["locality"] if len(events[0]["locality"]) == 5 else "00070"
    base = {
        "event_id": "h",
        "type": "eid.activations",
        "locality": ward,
        "occurred_at": "2026-11-01T00:00:00Z",
        "payload": {"count": 1},
    }
    deep = b"[" * 100_000 + b"]" * 100_000
    hostile = [
        *INVALID_MESSAGES,
        (ward.encode(), b"\x00\x00\x00"),
        (ward.encode(), orjson.dumps(dict(base, event_id="big", pad="x" * 2_000_000))),
        (ward.encode(), deep),
        (ward.encode(), orjson.dumps(dict(base, event_id="lvl", locality="01"))),
        (ward.encode(), orjson.dumps(dict(base, event_id="y9999", occurred_at="9999-01-01T00:00:00Z"))),
        (ward.encode(), orjson.dumps(dict(base, event_id="huge", payload={"count": 2**63}))),
        (ward.encode(), orjson.dumps(dict(base, event_id="nul\u0000id"))),
    ]
    worker, sink = pipeline.worker(), pipeline.sink()
    publish(pipeline.settings, [*hostile, *as_messages(events, seed=19, resend_share=0.1)])
    assert_exact_everywhere(pipeline.settings, worker, sink, events)
    metrics = httpx.get(f"{worker.url}/metrics", auth=monitor()).text
    # The whole line: 130 is not 13 (prometheus_client writes 6 as 6.0).
    assert re.search(rf"^p06_dlq_total {len(hostile)}(?:\.0)?$", metrics, re.M), metrics
    assert worker.proc.poll() is None


def _other_content(event: dict) -> dict:
    """The same event_id and instant with other content, as a sender that reuses its ids sends it."""
    p = dict(event["payload"])
    for field in ("count", "received", "open_findings"):
        if field in p:
            p[field] += 3
    for field in ("electricity", "internet"):
        if field in p:
            p[field] = not p[field]
    if "status" in p:
        p["status"] = "in_progress" if p["status"] == "completed" else "completed"
    return dict(event, payload=p)


def test_an_event_id_sent_again_with_other_content_counts_its_first_copy_live_and_in_clickhouse(pipeline) -> None:
    """The one rule: an event is its locality, event_id and UTC day; of copies with other content the
    first in the log counts, live and in the warehouse; the worker sends the others to the DLQ."""
    events = seeded_events(seed=23, count=400)
    rng = random.Random(23)
    whole = [e for e in events if not e.get("void")]  # a void correction has no figures to change
    conflicting = [_other_content(e) for e in rng.sample(whole, 30)]
    later = lambda e: (datetime.fromisoformat(e["occurred_at"]) + timedelta(days=10)).isoformat()  # noqa: E731
    next_day = [
        dict(_other_content(e), occurred_at=later(e)) for e in rng.sample(whole, 10)
    ]  # the same ids: other events
    worker, sink = pipeline.worker(), pipeline.sink()
    publish(pipeline.settings, as_messages(events, seed=23, max_batch=1))
    publish(pipeline.settings, as_messages(conflicting + next_day + events[:50], seed=23, max_batch=1))
    assert_exact_everywhere(pipeline.settings, worker, sink, events + conflicting + next_day)
    metrics = httpx.get(f"{worker.url}/metrics", auth=monitor()).text
    assert re.search(r"^p06_conflicting_copies_total 30(?:\.0)?$", metrics, re.M), metrics


def test_gateway_token_cannot_publish_for_another_province(pipeline, tmp_path: Path) -> None:
    events = seeded_events(seed=20, count=300, provinces=2)
    reg_province = {e["locality"]: e["locality"][:2] for e in events}
    from schemas.registry import registry

    province_of = {code: registry().localities[code].province for code in reg_province}
    own = sorted(set(province_of.values()))[0]
    mine = [e for e in events if province_of[e["locality"]] == own]
    theirs = [e for e in events if province_of[e["locality"]] != own]
    secret = p06("gateway", "token", "add", own).stdout.strip()
    # Provisioned before any sender starts, as `p06 stack init` and `p06 up` do: a gateway posting to an
    # ingestion topic the admission had not created yet was refused (the broker says TopicAuthorizationFailed
    # for a topic its principal may not auto-create), and this case failed once in CI on that race.
    ensure_ingestion_topics(pipeline.settings)
    worker, sink = pipeline.worker(), pipeline.sink()
    pipeline.admission()  # a province token's events go through its province's ingestion topic
    gateway = Gateway(tmp_path)
    try:
        headers = {"Authorization": f"Bearer {secret}"}
        refused = gateway.post(theirs, headers)
        assert refused.status_code == 403, refused.text
        accepted = gateway.post(mine, headers)
        assert accepted.status_code == 202, accepted.text
        assert_exact_everywhere(pipeline.settings, worker, sink, mine)
    finally:
        gateway.stop()


class Gateway(P06Process):
    """`p06 gateway` on the port of the test's settings."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(["gateway"], log_dir / "gateway.log")
        self.url = f"http://127.0.0.1:{cached_settings().gateway_port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/openapi.json", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError("gateway did not start")

    def post(self, events: list[dict], headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}/v1/events", json=events, headers=headers, timeout=60)
