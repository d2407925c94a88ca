"""publish_eps: `p06 publish FILE` on a JSON Lines file, against the raw producer on the same lines."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from bench.cluster import settings_for
from stack.clients import kafka_python_options
from stack.processes import P06Process

from .env import StageEnv, cli_startup_s, require


@dataclass(frozen=True)
class PublishRun:
    eps: float  # lines / (wall - CLI startup): the throughput the command sustains (lines / wall on a short run)
    wall_eps: float  # lines / wall, startup included
    wall_s: float
    startup_s: float
    messages: int
    rss_mb: float


def write_file(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def messages_in(stage: StageEnv) -> int:
    c = KafkaConsumer(**kafka_python_options(settings_for(stage.bootstrap, stage.kafka_env), "bench"))
    topic = stage.topic
    try:
        parts = [TopicPartition(topic, p) for p in (c.partitions_for_topic(topic) or [])]
        return sum(c.end_offsets(parts).values()) if parts else 0
    finally:
        c.close()


def run(stage: StageEnv, file: Path, lines: int, batch_size: int = 500, timeout_s: float = 900) -> PublishRun:
    require("publish")
    startup = cli_startup_s()
    child = P06Process(
        ["publish", str(file), "--batch-size", str(batch_size)], stage.work / "publish.log", stage.env("publish")
    )
    try:
        child.proc.wait(timeout_s)
        wall = time.time() - child.started
    finally:
        child.stop()
    if child.proc.returncode not in (0, 1):  # 1: some lines rejected, the valid ones published
        raise RuntimeError(f"p06 publish exited {child.proc.returncode}:\n{child.tail()}")
    # A run not much longer than the CLI's own start (a quick run: 20,000 lines take ~2 s) cannot be told
    # apart from that start on a busy machine (wall - startup was <= 0, printed as 1e11 ev/s): give the
    # rate with the start included, a lower bound, rather than a ratio of two noises.
    publishing_s = wall - startup if wall > 2 * startup else wall
    sent = messages_in(stage)
    if sent == 0:
        raise RuntimeError(f"p06 publish put nothing on {stage.topic}:\n{child.tail()}")
    return PublishRun(lines / publishing_s, lines / wall, wall, startup, sent, child.peak_rss_mb)
