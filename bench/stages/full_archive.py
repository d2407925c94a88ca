"""The warehouse for years: `p06 sink` at a steady rate on an empty archive, then on a year of national
reporting, with the same messages at the same rate.

- sink_batch_cost_ratio: the sink's write time per batch (archive and rollups, from its /health
  write_s and batches after the warm-up), on the year ÷ on the empty archive;
- p99_clickhouse_full_archive_s: publish → the archive's count of the stage's events, on the year;
  the count reads the stage's own days (occurred_at from the first stage event's day), so the poll
  itself costs the same on both archives;
- reconcile_full_archive_s: `p06 reconcile --no-live` on the year and the stage's events, which must
  find every figure in agreement.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.data import year
from stack.processes import P06Process, run_p06

from . import latency
from .env import OPERATOR, StageEnv, require


@dataclass(frozen=True)
class SteadyRun:
    batch_s: float  # mean write time per batch after the warm-up
    events_per_batch: float
    clickhouse_s: list[float]
    rss_mb: float
    notes: list[str]


@dataclass(frozen=True)
class WarehouseRun:
    empty: SteadyRun
    full: SteadyRun
    year: year.Year
    reconcile_s: float

    @property
    def cost_ratio(self) -> float:
        return self.full.batch_s / self.empty.batch_s


def _stage_rows(port: int, since: str) -> Callable[[httpx.Client], int | None]:
    def read(client: httpx.Client) -> int | None:
        try:
            r = client.post(
                f"http://127.0.0.1:{port}/query",
                json={"name": "archive_count", "params": {"since": since}},
                auth=OPERATOR,
                timeout=30,
            )
            return int(r.json()["rows"][0]["n"]) if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, IndexError):
            return None

    return read


def _health(port: int) -> dict[str, Any]:
    return httpx.get(f"http://127.0.0.1:{port}/health", auth=OPERATOR, timeout=30).json()


def steady(
    stage: StageEnv, events: list[dict[str, Any]], rate: int, since: datetime, ready_s: float, settle_s: float = 15
) -> SteadyRun:
    env = stage.env("sink")
    port = int(env["P06_SINK_API_PORT"])
    sink = P06Process(["sink"], stage.work / "sink.log", env)
    try:
        read = _stage_rows(port, since.strftime("%Y-%m-%d %H:%M:%S.%f"))
        latency.wait_ready(read, sink, ready_s)
        poller = latency.Poller(read, 0.25)
        poller.start()
        warm: list[dict[str, Any]] = []
        timer = threading.Timer(latency.WARMUP_S, lambda: warm.append(_health(port)))
        timer.start()
        markers, achieved = latency.send_ticks(stage, events, rate)
        latency.settle([("rows_total", poller)], markers[-1], settle_s)
        ended_at = time.time()
        poller.halt.set()
        timer.join()
        end = _health(port)
    finally:
        sink.stop()
    seen, unseen = latency.latencies(
        markers[latency.WARMUP_S * latency.TICKS_PER_S :], poller.samples, "rows_total", ended_at
    )
    batches = end["batches"] - warm[0]["batches"]
    if batches <= 0:
        raise RuntimeError(f"the sink wrote no batch after the warm-up:\n{sink.tail()}")
    notes = [f"achieved {achieved:,.0f} ev/s"] + ([f"{unseen} ticks never reached ClickHouse"] if unseen else [])
    return SteadyRun(
        (end["write_s"] - warm[0]["write_s"]) / batches,
        (end["events"] - warm[0]["events"]) / batches,
        seen,
        sink.peak_rss_mb,
        notes,
    )


def reconcile(stage: StageEnv) -> float:
    """Seconds for `p06 reconcile --no-live` on the stage's warehouse; raises unless all figures agree."""
    env = stage.env("sink")
    started = time.perf_counter()
    done = run_p06("reconcile", "--no-live", env={**os.environ, **env}, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(
            f"p06 reconcile found differences on the year's warehouse:\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    return time.perf_counter() - started


def run(
    empty: StageEnv, full: StageEnv, events: list[dict[str, Any]], rate: int, wards: int | None, ready_s: float = 120
) -> WarehouseRun:
    require("sink")
    first = min(datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")) for e in events).astimezone(UTC)
    since = datetime.combine(first.date(), datetime.min.time(), UTC)
    loaded = year.load(full.work / "chdb", last_day=since.date() - timedelta(days=1), wards=wards)
    on_empty = steady(empty, events, rate, since, ready_s)
    on_full = steady(full, events, rate, since, ready_s)
    return WarehouseRun(on_empty, on_full, loaded, reconcile(full))
