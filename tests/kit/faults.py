"""The pipeline under test: real worker and sink processes, and the checks every fault case ends with."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from schemas.settings import Settings
from sinks.checks.recount import expected_live
from sinks.warehouse.reader import open_reader
from stack.processes import P06Process, run_p06

from .pipeline import REPO, Worker, figures_of, monitor, wait_for_figures


class Sink(P06Process):
    """`p06 sink`."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        super().__init__(["sink"], log_dir / f"sink-{time.monotonic_ns()}.log", env)


def uncommitted(settings: Settings, group: str) -> int:
    """Records of the events topic past the group's committed offsets: work a killed member left behind.

    Read after a kill, a positive count proves the kill landed before the victim had committed
    everything, so the restart had to read records again: the case could have failed."""
    from kafka import KafkaConsumer, TopicPartition

    from stack.clients import kafka_python_options

    # committed() reads the group's offsets without joining the group (nothing is subscribed)
    consumer = KafkaConsumer(**kafka_python_options(settings, "admin"), group_id=group, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(settings.events_topic, p) for p in consumer.partitions_for_topic(settings.events_topic)
        ]
        ends = consumer.end_offsets(partitions)
        return sum(ends[tp] - (consumer.committed(tp) or 0) for tp in partitions)
    finally:
        consumer.close()


def p06(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return run_p06(*args, cwd=REPO, timeout=timeout)


def clickhouse_figures() -> dict[str, Any] | None:
    done = p06("report", "national", "--format", "json")
    if done.returncode != 0:
        return None
    return figures_of(json.loads(done.stdout))


def wait_for_clickhouse(expected: dict[str, Any], sink: Any, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    got = None
    while time.monotonic() < deadline:
        got = clickhouse_figures()
        if got == expected:
            return
        if failure := sink.failure():
            raise AssertionError(failure)
        time.sleep(1)
    nation = got["nation"] if got else None
    raise AssertionError(f"ClickHouse figures never matched the recount: nation {nation} != {expected['nation']}")


def archived_event_ids(settings: Settings) -> set[str]:
    reader = open_reader(settings)
    try:
        return {
            row[0] if isinstance(row, (list, tuple)) else row["event_id"] for row in reader.named("archive_event_ids")
        }
    finally:
        reader.close()


def assert_exact_everywhere(settings: Settings, worker: Worker, sink: Any, valid_events: list[dict[str, Any]]) -> None:
    """Live API, ClickHouse and reconcile all agree with the recount, and the archive misses nothing."""
    expected = expected_live(valid_events)
    wait_for_figures(worker, expected)
    wait_for_clickhouse(expected, sink)
    assert archived_event_ids(settings) == {e["event_id"] for e in valid_events}
    done = p06("reconcile", "--worker-url", worker.url)
    assert done.returncode == 0, f"reconcile found differences:\n{done.stdout}\n{done.stderr}"


def processed(worker: Worker) -> int | None:
    try:
        found = re.search(
            r"^p06_events_processed_total (\d+)(?:\.0)?$",  # prometheus_client writes 6 as 6.0
            httpx.get(f"{worker.url}/metrics", auth=monitor(), timeout=2).text,
            re.M,
        )
    except httpx.HTTPError:
        return None
    return int(found.group(1)) if found else None


def wait_until_processing(worker: Worker, above: int = 0, timeout_s: float = 90) -> None:
    """Until the worker has processed more than `above` events, so that a kill lands in real work."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (processed(worker) or 0) > above:
            return
        assert worker.failure() is None, worker.failure()
        time.sleep(0.05)
    raise AssertionError(f"the worker processed nothing beyond {above}")


def wait_until_idle(worker: Worker, quiet_s: float = 3.0, timeout_s: float = 120) -> int:
    """Until the worker serves and its processed count has not moved for quiet_s; returns the count."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = processed(worker)
        if now != last:
            last, since = now, time.monotonic()
        elif now is not None and time.monotonic() - since >= quiet_s:
            return now
        assert worker.failure() is None, worker.failure()
        time.sleep(0.2)
    raise AssertionError(f"the worker never settled (processed {last})")
