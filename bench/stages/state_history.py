"""history_*: does the worker's cost per event grow with the history it holds?

A simulated year of a sample of wards reporting daily and a few reporting hourly (the project's
generator, spread evenly over 365 days), sent month by month to one `p06 worker`, each month sent
once the worker counts the one before, as a year of operation sends it: the drain of the first month
is timed on an empty state, months 2-11 fill the state, then the drain of the last month is timed on
a year of it. Also the largest record the worker wrote to its table's changelog, and its peak RSS
over the year. (A worker that catches up ten months at once holds more: fetched records, stream
buffer and changelog writes in flight; measured apart in docs/streams.md, not here.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from kafka import KafkaConsumer, TopicPartition

from bench.baselines.kafka_raw import produce
from bench.cluster import settings_for
from bench.data.event_source import pack
from bench.data.expected import recount
from producers.simulate import simulated_events
from schemas.settings import Settings
from stack.clients import kafka_python_options
from stack.processes import P06Process
from streams.state import changelog_topic

from .env import MONITOR, StageEnv, require
from .worker_drain import live_body

START = datetime(2025, 1, 1, 8, tzinfo=timezone(timedelta(hours=7)))
POLL_S = 0.05
WARM_UP = 200  # events of month 1 sent before its drain is timed


@dataclass(frozen=True)
class HistoryRun:
    first_month_us: float  # worker time per event, month 1, empty state
    last_month_us: float  # the same, month 12, a year of state
    record_max_kb: float
    rss_mb: float
    events: int
    localities: int

    @property
    def cost_ratio(self) -> float:
        return self.last_month_us / self.first_month_us


def year(seed: int, provinces: int, wards_per_province: int, hourly_wards: int) -> list[dict[str, Any]]:
    """About one report a day for each sampled ward (a report is ~13 events) and one an hour for
    `hourly_wards` others, over 365 days, in the order they occurred."""
    span = timedelta(days=365)
    daily = simulated_events(
        seed,
        365 * provinces * (wards_per_province + 1) * 13,
        start=START,
        span=span,
        provinces=provinces,
        wards_per_province=wards_per_province,
    )
    hourly = simulated_events(
        seed + 1, 365 * 24 * hourly_wards * 13, start=START, span=span, provinces=1, wards_per_province=hourly_wards
    )  # and the province: about hourly each
    return sorted([*daily, *hourly], key=lambda e: datetime.fromisoformat(e["occurred_at"]))


def run(stage: StageEnv, events: list[dict[str, Any]], timeout_s: float = 900) -> HistoryRun:
    require("worker")
    months = [events[i * len(events) // 12 : (i + 1) * len(events) // 12] for i in range(12)]
    worker = P06Process(["worker"], stage.work / f"{stage.app_id}.log", stage.env("history"))
    port, deadline = stage.web_port("history"), time.time() + timeout_s
    try:
        with httpx.Client() as client:
            sent: list[dict[str, Any]] = []

            def drain(batch: list[dict[str, Any]]) -> float:
                """Send these events and wait until the live figures count them: seconds taken."""
                sent.extend(batch)
                expected = recount(sent).nation
                start = time.perf_counter()
                produce(
                    settings_for(stage.bootstrap),
                    stage.topic,
                    [(k.encode(), v) for k, v, _ in pack(batch)],
                    as_publisher=True,
                )
                while (live_body(client, port) or {}).get("nation") != expected:
                    if not worker.alive:
                        raise RuntimeError(f"p06 worker exited:\n{worker.tail()}")
                    if time.time() > deadline:
                        raise TimeoutError(f"the history worker was not exact within {timeout_s:.0f}s")
                    time.sleep(POLL_S)
                return time.perf_counter() - start

            _wait_until_serving(client, port, worker, deadline)
            warm, month_one = months[0][:WARM_UP], months[0][WARM_UP:]
            drain(warm)  # the first sends open connections and stores: not the cost of an event
            first = drain(month_one)
            for month in months[1:11]:
                drain(month)
            last = drain(months[11])
    finally:
        worker.stop()
    return HistoryRun(
        first_month_us=first / len(months[0][WARM_UP:]) * 1e6,
        last_month_us=last / len(months[11]) * 1e6,
        record_max_kb=_largest_record(settings_for(stage.bootstrap), changelog_topic(stage.app_id)) / 1024,
        rss_mb=worker.peak_rss_mb,
        events=len(events),
        localities=len({e["locality"] for e in events}),
    )


def _wait_until_serving(client: httpx.Client, port: int, worker: P06Process, deadline: float) -> None:
    """Until the worker answers and owns its partitions, so that startup is not timed as month 1."""
    while True:
        try:
            metrics = client.get(f"http://127.0.0.1:{port}/metrics", auth=MONITOR, timeout=5).text
            if "\np06_assigned_partitions 0\n" not in metrics and "p06_assigned_partitions" in metrics:
                return
        except httpx.HTTPError:
            pass
        if not worker.alive or time.time() > deadline:
            raise RuntimeError(f"the history worker never owned its partitions:\n{worker.tail()}")
        time.sleep(0.2)


def _largest_record(s: Settings, topic: str) -> int:
    """The largest value in the changelog topic, read from its start to its end."""
    consumer = KafkaConsumer(
        **kafka_python_options(s, "bench"), enable_auto_commit=False, max_partition_fetch_bytes=8 << 20
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends, largest = consumer.end_offsets(partitions), 0
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000, max_records=10_000).values():
                largest = max([largest, *(len(r.value or b"") for r in records)])
        return largest
    finally:
        consumer.close()
