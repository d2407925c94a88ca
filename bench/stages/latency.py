"""Latency at a steady rate: publish -> figure on /api/live, and publish -> row in ClickHouse.

Events go out in ticks of rate/10 through the publisher (producers.publisher.Publisher). Each tick
is a marker: its cumulative e-ID activations (a flow: it only grows) and its cumulative distinct
valid events. A tick is visible on /api/live once the nation's eid_activations reach its cumulative
sum, and in ClickHouse once the archive holds its cumulative count. Pollers sample every 50 ms (live)
and 250 ms (ClickHouse), so each latency is an upper bound by at most that interval. The first
WARMUP_S seconds of ticks are sent but not counted: they wait for the worker's first fetch and the
snapshot topic's first read, once per process, which is not the steady state this figure describes.
Every other tick counts: one never seen counts as the time from its send to the end of the stage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from producers.publisher import Publisher

from bench.cluster import settings_for
from schemas.events import InvalidEvent, validate_event
from stack.processes import P06Process

from .env import OPERATOR, StageEnv, available
from .sink_drain import archived

TICKS_PER_S = 10
WARMUP_S = 5
DRAIN_S = 120  # the longest the publisher may take to deliver what it spooled, after the last tick


@dataclass
class Marker:
    sent_at: float  # the publish call began
    eid_total: int
    rows_total: int
    due_at: float = 0.0  # when the steady pace wanted it sent (later than sent_at: the sender was blocked)
    acked_at: float = 0.0  # the publish call returned (acknowledged, or spooled)


@dataclass(frozen=True)
class LatencyRun:
    rate_eps: float  # achieved publish rate
    live_s: list[float]
    clickhouse_s: list[float]
    notes: list[str]


def send_ticks(stage: StageEnv, events: list[dict[str, Any]], rate: int) -> tuple[list[Marker], float]:
    from producers.publisher import Publisher  # the real publish path; absent -> the stage is skipped

    s = settings_for(
        stage.bootstrap,
        stage.kafka_env,
        events_topic=stage.topic,
        dlq_topic=f"{stage.topic}.dlq",
        data_dir=publisher_dir(stage),
        topic_partitions=stage.partitions,
    )
    seen: set[str] = set()
    markers: list[Marker] = []
    step, eid, rows = rate // TICKS_PER_S, 0, 0
    with Publisher(s) as pub:
        start = time.time()
        for i in range(0, len(events), step):
            due = start + i / rate
            time.sleep(max(0.0, due - time.time()))  # steady pace: never burst to catch up more than a tick
            tick = events[i : i + step]
            sent_at = time.time()
            pub.publish(tick)
            for e in tick:
                eid, rows = _count(e, seen, eid, rows)
            markers.append(Marker(sent_at, eid, rows, due, time.time()))
        elapsed = time.time() - start
        _drain(pub)
    return markers, len(events) / elapsed


def publisher_dir(stage: StageEnv) -> Path:
    """The ticks' publisher's data folder (its spool)."""
    return stage.work / "latency-publisher"


def _drain(pub: Publisher) -> None:
    """What the publisher spooled (a broker lost mid-stream) delivered, as its next publish would."""
    deadline = time.time() + DRAIN_S
    while pub.spool and time.time() < deadline:
        if pub.drain().spooled:
            time.sleep(1)


def _count(raw: dict[str, Any], seen: set[str], eid: int, rows: int) -> tuple[int, int]:
    if raw["event_id"] in seen:
        return eid, rows
    try:
        e = validate_event(raw)
    except InvalidEvent:
        return eid, rows
    seen.add(e.event_id)
    return eid + (e.payload.count if e.type == "eid.activations" else 0), rows + 1  # type: ignore[union-attr]


class Poller(threading.Thread):
    """Samples (time, value) until stopped; value from `read`, None samples skipped."""

    def __init__(self, read: Callable[[httpx.Client], int | None], every_s: float) -> None:
        super().__init__(daemon=True)
        self.read, self.every_s = read, every_s
        self.samples: list[Any] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client() as client:
            while not self.halt.is_set():
                v = self.read(client)
                if v is not None:
                    self.samples.append((time.time(), v))
                time.sleep(self.every_s)


def latencies(
    markers: list[Marker], samples: list[tuple[float, int]], field: str, ended_at: float
) -> tuple[list[float], int]:
    """One latency per tick, and how many ticks never became visible.

    A tick never seen counts as the time from its send to the end of the stage (a lower bound on its
    real latency), so that the percentiles cover every tick and missing ones cannot flatter them."""
    out, j, unseen = [], 0, 0
    for m in markers:
        target = getattr(m, field)
        while j < len(samples) and (samples[j][1] < target or samples[j][0] < m.sent_at):
            j += 1
        if j == len(samples):
            out.append(ended_at - m.sent_at)
            unseen += 1
        else:
            out.append(samples[j][0] - m.sent_at)
    return out, unseen


def live_eid(port: int) -> Callable[[httpx.Client], int | None]:
    def read(client: httpx.Client) -> int | None:
        try:
            r = client.get(f"http://127.0.0.1:{port}/api/live", auth=OPERATOR, timeout=5)
            return int(r.json()["nation"]["eid_activations"]) if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    return read


def wait_ready(read: Callable[[httpx.Client], int | None], child: P06Process, timeout_s: float) -> None:
    with httpx.Client() as client:
        deadline = time.time() + timeout_s
        while read(client) is None:
            if not child.alive or time.time() > deadline:
                raise RuntimeError(f"{child.log.name} did not come up:\n{child.tail()}")
            time.sleep(0.2)


def run(
    stage: StageEnv,
    events: list[dict[str, Any]],
    rate: int,
    settle_s: float = 15,
    ready_s: float = 60,
    sink: bool = True,
) -> tuple[LatencyRun, dict[str, float]]:
    """Returns the latencies and the peak RSS (MB) of the processes started for it.

    sink=False runs the worker alone: on a 2-core machine the sink's chDB inserts take the CPU the
    worker needs, and the run with both shows that contention, this one the worker's own latency.
    """
    notes: list[str] = []
    pollers: list[tuple[str, Poller]] = []
    children: list[P06Process] = []
    try:
        if available("worker"):
            env = stage.env("lw")
            children.append(P06Process(["worker"], stage.work / "latency-worker.log", env))
            read = live_eid(int(env["P06_WORKER_WEB_PORT"]))
            wait_ready(read, children[-1], ready_s)
            pollers.append(("eid_total", Poller(read, 0.05)))
        else:
            notes.append("live: `p06 worker` not available")
        if sink and available("sink"):
            env = stage.env("ls")
            port = int(env["P06_SINK_API_PORT"])
            children.append(P06Process(["sink"], stage.work / "latency-sink.log", env))
            read = lambda client: archived(client, port)  # noqa: E731
            wait_ready(read, children[-1], ready_s)
            pollers.append(("rows_total", Poller(read, 0.25)))
        elif sink:
            notes.append("clickhouse: `p06 sink` not available")
        if not pollers:
            raise RuntimeError("; ".join(notes))
        for _, p in pollers:
            p.start()
        markers, achieved = send_ticks(stage, events, rate)
        settle(pollers, markers[-1], settle_s)
        ended_at = time.time()
    finally:
        for _, p in pollers:
            p.halt.set()
        for c in children:
            c.stop()
    counted = markers[WARMUP_S * TICKS_PER_S :]
    found = {}
    for f, p in pollers:
        found[f], unseen = latencies(counted, p.samples, f, ended_at)
        if unseen:
            notes.append(
                f"{f}: {unseen} of {len(counted)} ticks never became visible; "
                f"each counts as {settle_s:.0f}+ s (send to end of stage)"
            )
    return LatencyRun(achieved, found.get("eid_total", []), found.get("rows_total", []), notes), {
        c.log.stem: c.peak_rss_mb for c in children
    }


def settle(pollers: list[tuple[str, Poller]], last: Marker, settle_s: float) -> None:
    """Wait until every poller has seen the last tick, or settle_s passes."""
    deadline = time.time() + settle_s
    while time.time() < deadline:
        if all(p.samples and p.samples[-1][1] >= getattr(last, f) for f, p in pollers):
            return
        time.sleep(0.1)
