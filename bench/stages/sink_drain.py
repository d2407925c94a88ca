"""sink_drain_eps: `p06 sink` on the pre-filled topic, until ClickHouse holds every distinct valid event.

The sink owns the chDB folder (chDB is single-process), so the count is asked through the sink's
API (POST /query with a named query, as sinks.warehouse.reader.ApiReader does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from stack.processes import P06Process

from .env import OPERATOR, StageEnv, require

COUNT = {"name": "archive_count", "params": {"since": "1970-01-01 00:00:00"}}  # sinks/warehouse/queries.py
POLL_S = 0.5


@dataclass(frozen=True)
class SinkRun:
    drain_eps: float  # events in the topic / (all rows visible - first row visible)
    total_eps: float  # startup included
    startup_s: float
    exact_s: float
    rss_mb: float


def archived(client: httpx.Client, port: int) -> int | None:
    """Rows in the archive, through the sink's API; None while it does not answer."""
    try:
        r = client.post(f"http://127.0.0.1:{port}/query", json=COUNT, auth=OPERATOR, timeout=30)
        return int(r.json()["rows"][0]["n"]) if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, IndexError):
        return None


def run(stage: StageEnv, distinct_valid: int, events: int, timeout_s: float = 900) -> SinkRun:
    require("sink")
    env = stage.env("sink")
    child = P06Process(["sink"], stage.work / "sink.log", env)
    port, first, n = int(env["P06_SINK_API_PORT"]), None, None
    try:
        with httpx.Client() as client:
            while True:
                if not child.alive:
                    raise RuntimeError(f"p06 sink exited {child.proc.returncode}:\n{child.tail()}")
                n = archived(client, port)
                now = time.time()
                if first is None and n:
                    first = now
                if n is not None and n >= distinct_valid:
                    break
                if now > child.started + timeout_s:
                    raise TimeoutError(f"archive holds {n} rows after {timeout_s:.0f}s, expected {distinct_valid}")
                time.sleep(POLL_S)
    finally:
        child.stop()
    if n != distinct_valid:
        raise RuntimeError(f"archive holds {n} rows, expected exactly {distinct_valid} distinct valid events")
    first = first or now
    return SinkRun(
        events / max(now - first, POLL_S),
        events / (now - child.started),
        first - child.started,
        now - child.started,
        child.peak_rss_mb,
    )
