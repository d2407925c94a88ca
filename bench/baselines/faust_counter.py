"""bare_faust_eps / bare_faust_packed_eps: a Faust agent on the worker's transport, settings and
store that only counts the same messages (or, packed, the events in them), in its own process."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from stack.processes import P06Process


@dataclass(frozen=True)
class FaustRun:
    drain_eps: float  # events / (last counted - first counted); one event per message unless packed
    startup_s: float  # process start -> first message
    total_s: float  # process start -> all counted
    rss_mb: float


def run(
    bootstrap: str,
    topic: str,
    expected: int,
    partitions: int,
    work: Path,
    app_id: str,
    timeout_s: float = 600,
    packed: bool = False,
) -> FaustRun:
    report = work / f"{app_id}.json"
    env = {
        "P06_KAFKA_BOOTSTRAP": bootstrap,
        "P06_TOPIC_PARTITIONS": str(partitions),
        "BENCH_TOPIC": topic,
        "BENCH_EXPECTED": str(expected),
        "BENCH_REPORT": str(report),
        "BENCH_APP_ID": app_id,
        "BENCH_PACKED": "1" if packed else "0",
    }
    # -l info: Faust's default turns the root logger to DEBUG (stack-facts), which would slow it.
    argv = [
        sys.executable,
        "-m",
        "faust",
        "-A",
        "bench.baselines.faust_counter_app",
        "--datadir",
        str(work / app_id),
        "worker",
        "-l",
        "info",
        "--without-web",
    ]
    child = P06Process([], work / f"{app_id}.log", env, argv=argv)
    try:
        deadline = time.time() + timeout_s
        while not report.exists():
            if not child.alive:
                raise RuntimeError(f"bare Faust agent exited:\n{child.tail()}")
            if time.time() > deadline:
                raise TimeoutError(
                    f"bare Faust agent did not count {expected} messages in {timeout_s}s:\n{child.tail()}"
                )
            time.sleep(0.1)
        time.sleep(0.05)
        r = orjson.loads(report.read_bytes())
    finally:
        child.stop()
    drain = expected / max(r["done"] - r["first"], 1e-6)
    return FaustRun(drain, r["first"] - r["started"], r["done"] - r["started"], child.peak_rss_mb)
