"""broker_loss_*: a steady stream, publisher -> worker -> /api/live, on a three-node cluster while the node
leading most of the events topic's partitions is SIGKILLed, and started again DOWN_S later (issue 26).

The stream is the latency stage's (bench.stages.latency: ticks of rate/10 through the Publisher, acks=all
and idempotent, the nation's e-ID activations read from /api/live every 50 ms). The stall is the longest
time between two advances of that figure, among those from the last advance before the kill to the last
tick sent. Zero loss: once the publisher has delivered what it spooled and the live figures settled, the
nation and every province equal the independent recount of the events sent (bench.data.expected).
Where the stall went is read from the worker's log (its lines' timestamps, around the kill) and from the
publisher's calls (how long each waited for its acknowledgements).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.cluster import settings_for
from bench.data.expected import Expected, recount
from producers.spool import Spool
from schemas.metrics import METRICS
from schemas.settings import Settings
from stack import cluster
from stack.processes import P06Process

from . import latency
from .env import StageEnv, require
from .worker_drain import live_body

RATE = 2_000  # events/s: the steady stream
STREAM_S = 60  # counted after the latency stage's warm-up
KILL_AFTER_S = latency.WARMUP_S + 10  # into the stream
DOWN_S = 20
SETTLE_S = 120  # after the last tick: the live figures must equal the recount by then

# Where a worker's log line says its time went; the first kind whose words a line holds.
LOG_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \[\d+\] \[(\w+)\] (.*)")
LOG_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("its fetches from the lost node failing", ("Failed fetch", "Unable connect to node", "NodeNotReady")),
    ("leadership moving (not leader / no leader)", ("NotLeader", "LeaderNotAvailable")),
    ("its group rejoining (coordinator, join, sync)", ("oordinator", "joining group", "Joined group", "synced group")),
    ("partitions reassigned, tables recovered", ("assigned partitions", "Recovery", "ebalanc")),
    ("the worker restarting itself (streams.watchdog)", ("restarting the worker",)),
)


@dataclass(eq=False)  # a thread must stay hashable
class Drill(threading.Thread):
    """KILL_AFTER_S into the stream, the node leading most of the topic's partitions SIGKILLed; DOWN_S
    later started again (stack.cluster, as `p06 stack node kill|start N` does)."""

    nodes_dir: Path
    settings: Settings
    topic: str
    victim: int = 0
    led: int = 0  # partitions of the topic it led
    killed_at: float = 0.0
    back_at: float = 0.0  # it answered again
    error: Exception | None = None

    def __post_init__(self) -> None:
        super().__init__(daemon=True)

    def run(self) -> None:
        try:
            time.sleep(KILL_AFTER_S)
            leaders = cluster.leaders_of(self.settings, self.topic)
            self.victim = max(leaders, key=lambda n: leaders[n])
            self.led = leaders[self.victim]
            self.killed_at = time.time()
            cluster.stop(self.nodes_dir, self.victim, kill=True)
            time.sleep(DOWN_S)
            cluster.start(self.nodes_dir, self.victim)
            self.back_at = time.time()
        except Exception as exc:  # raised again by broker_loss, once the stream ended
            self.error = exc


@dataclass(frozen=True)
class LossRun:
    stall_s: float  # the longest time the live figure did not advance, around the kill
    calm_gap_s: float  # the longest such time before the kill: the machine's own noise
    live_s: list[float]  # publish -> /api/live per counted tick, as the latency stage measures it
    due_s: list[float]  # the same from each tick's due time (the sender was blocked meanwhile)
    figures_off: int  # nation and provinces metrics that differ from the recount, once settled
    rate_eps: float
    notes: list[str] = field(default_factory=list)


def stall(
    samples: list[tuple[float, int]], since: float, until: float, ended_at: float, final: int
) -> tuple[float, float]:
    """The longest time between two advances of a growing figure, among those ending after `since` and
    beginning before `until` (a figure that never reached `final` stopped until `ended_at`): (start, length)."""
    advances = [t for (t, v), (_, before) in zip(samples[1:], samples) if v > before]
    if not samples or samples[-1][1] < final:
        advances.append(ended_at)
    gaps = [(a, b - a) for a, b in zip(advances, advances[1:]) if b > since and a < until]
    return max(gaps, key=lambda g: g[1], default=(since, ended_at - since))


def calm_gap(samples: list[tuple[float, int]], since: float, until: float) -> float:
    """The longest time between two advances wholly within [since, until]."""
    advances = [t for (t, v), (_, before) in zip(samples[1:], samples) if v > before and since <= t <= until]
    return max((b - a for a, b in zip(advances, advances[1:])), default=0.0)


def figures_off(body: dict[str, Any], expected: Expected) -> int:
    """How many of the nation's and the provinces' metrics differ from the recount."""
    provinces = body.get("provinces", {})
    scopes = [(body.get("nation", {}), expected.nation)] + [
        (provinces.get(p, {}), expected.provinces.get(p, {})) for p in {*provinces, *expected.provinces}
    ]
    return sum(got.get(m, 0) != want.get(m, 0) for got, want in scopes for m in METRICS)


def worker_log(log: Path, since: float, until: float) -> list[str]:
    """What the worker's log says between two instants, by kind: when (seconds after `since`), how often."""
    seen: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        at = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()  # the worker's local time, as ours
        if not since <= at <= until:
            continue
        kind = next((k for k, words in LOG_KINDS if any(w in m[3] for w in words)), None)
        if kind is None and m[2] in ("WARNING", "ERROR"):
            kind = f"other {m[2].lower()}s (producer buffer full, records not arriving, ...)"
        if kind:
            seen.setdefault(kind, []).append(at - since)
    return [f"worker: {k} +{t[0]:.1f}..+{t[-1]:.1f} s ({len(t)} lines)" for k, t in seen.items()]


def publisher_waits(markers: list[latency.Marker], since: float) -> str:
    """The longest publish call after `since`: how long the publisher waited for its acknowledgements."""
    after = [m for m in markers if m.acked_at >= since]
    if not after:
        return "publisher: no publish call after the kill"
    slow = max(after, key=lambda m: m.acked_at - m.sent_at)
    return (
        f"publisher: its longest publish (acks=all) {slow.acked_at - slow.sent_at:.1f} s, "
        f"from +{slow.sent_at - since:.1f} s"
    )


def _settled(port: int, expected: Expected, timeout_s: float) -> dict[str, Any]:
    """The live figures once they equal the recount, or as they are after timeout_s."""
    deadline, body = time.time() + timeout_s, dict[str, Any]()
    with httpx.Client() as client:
        while time.time() < deadline:
            body = live_body(client, port) or body
            if body and figures_off(body, expected) == 0:
                break
            time.sleep(0.5)
    return body


def broker_loss(stage: StageEnv, nodes_dir: Path, events: list[dict[str, Any]], ready_s: float = 120) -> LossRun:
    """The stream through one worker on the cluster in nodes_dir, its leader of most partitions lost."""
    require("worker")
    expected = recount(events)
    settings = settings_for(stage.bootstrap, stage.kafka_env)
    cluster.wait_in_sync(settings)
    env = stage.env("loss")
    port = int(env["P06_WORKER_WEB_PORT"])
    worker = P06Process(["worker"], stage.work / "loss-worker.log", env)
    read = latency.live_eid(port)
    poller, drill = latency.Poller(read, 0.05), Drill(nodes_dir, settings, stage.topic)
    try:
        latency.wait_ready(read, worker, ready_s)
        poller.start()
        drill.start()
        markers, achieved = latency.send_ticks(stage, events, RATE)
        drill.join(KILL_AFTER_S + DOWN_S + cluster.START_TIMEOUT_S)
        latency.settle([("eid_total", poller)], markers[-1], SETTLE_S)
        body = _settled(port, expected, SETTLE_S)
        ended_at = time.time()
        if not worker.alive:
            raise RuntimeError(f"p06 worker exited {worker.proc.returncode} in the broker loss:\n{worker.tail()}")
    finally:
        poller.halt.set()
        worker.stop()
    if drill.error or not drill.killed_at:
        raise RuntimeError(f"the drill did not run: {drill.error or 'the stream ended first'}")
    return _loss_run(stage, worker.log, drill, markers, poller.samples, achieved, ended_at, figures_off(body, expected))


def _loss_run(
    stage: StageEnv,
    log: Path,
    drill: Drill,
    markers: list[latency.Marker],
    samples: list[tuple[float, int]],
    achieved: float,
    ended_at: float,
    off: int,
) -> LossRun:
    counted = markers[latency.WARMUP_S * latency.TICKS_PER_S :]
    start, length = stall(samples, drill.killed_at, markers[-1].acked_at, ended_at, markers[-1].eid_total)
    live_s, unseen = latency.latencies(counted, samples, "eid_total", ended_at)
    due = [latency.Marker(m.due_at, m.eid_total, m.rows_total) for m in counted]
    back = f"answered again +{drill.back_at - drill.killed_at:.1f} s" if drill.back_at else "never answered again"
    notes = [
        f"node {drill.victim} (leader of {drill.led} of {stage.partitions} partitions) SIGKILLed "
        f"{drill.killed_at - markers[0].sent_at:.0f} s into the stream, started again after {DOWN_S} s, {back}",
        f"the stall: +{start - drill.killed_at:.1f}..+{start + length - drill.killed_at:.1f} s after the kill",
        publisher_waits(markers, drill.killed_at),
        *worker_log(log, drill.killed_at, start + length + 1),
    ]
    if unseen:
        notes.append(f"{unseen} of {len(counted)} ticks never became visible")
    if left := Spool(latency.publisher_dir(stage) / "spool" / stage.topic).pending_events():
        notes.append(f"{left:,} events still spooled by the publisher at the end")
    return LossRun(
        stall_s=length,
        calm_gap_s=calm_gap(samples, counted[0].sent_at, drill.killed_at),
        live_s=live_s,
        due_s=latency.latencies(due, samples, "eid_total", ended_at)[0],
        figures_off=off,
        rate_eps=achieved,
        notes=notes,
    )
