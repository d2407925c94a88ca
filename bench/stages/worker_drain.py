"""worker_*_drain_eps: `p06 worker` on a pre-filled topic, from start until /api/live is exact."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.data.expected import Expected
from schemas.metrics import METRICS
from stack.processes import P06Process

from .env import OPERATOR, StageEnv, require

POLL_S = 0.1


@dataclass(frozen=True)
class DrainRun:
    drain_eps: float  # events / (exact - first figure seen): the rate once the worker is counting
    total_eps: float  # events / (exact - process start): startup included
    startup_s: float  # process start -> first non-zero figure
    exact_s: float
    rss_mb: float  # peak over the workers (each one's own peak, the largest)
    provinces_exact: bool


def live_body(client: httpx.Client, port: int) -> dict[str, Any] | None:
    try:
        r = client.get(f"http://127.0.0.1:{port}/api/live", auth=OPERATOR, timeout=5)
        return r.json() if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def _sum(bodies: list[dict[str, Any]], scope: str) -> dict[str, int]:
    return {m: sum(b.get(scope, {}).get(m, 0) for b in bodies) for m in METRICS}


def _exact(bodies: list[dict[str, Any]], expected: Expected) -> bool:
    # One worker's API may show everything (global state) or only its partitions (then the sum does).
    if any(b.get("nation") == expected.nation for b in bodies):
        return True
    return len(bodies) > 1 and _sum(bodies, "nation") == expected.nation


def _provinces_exact(bodies: list[dict[str, Any]], expected: Expected) -> bool:
    for b in bodies:
        if b.get("provinces") == expected.provinces:
            return True
    merged = {
        p: {m: sum(b.get("provinces", {}).get(p, {}).get(m, 0) for b in bodies) for m in METRICS}
        for p in expected.provinces
    }
    return merged == expected.provinces


def run(stage: StageEnv, expected: Expected, events: int, workers: int = 1, timeout_s: float = 900) -> DrainRun:
    require("worker")
    names = [f"w{i}" for i in range(workers)]
    children = [P06Process(["worker"], stage.work / f"{stage.app_id}.{n}.log", stage.env(n)) for n in names]
    started, first = children[0].started, None
    try:
        with httpx.Client() as client:
            deadline = started + timeout_s
            while True:
                for c in children:
                    if not c.alive:
                        raise RuntimeError(f"p06 worker exited {c.proc.returncode}:\n{c.tail()}")
                bodies = [b for b in (live_body(client, stage.web_port(n)) for n in names) if b]
                now = time.time()
                if first is None and any(any(b.get("nation", {}).values()) for b in bodies):
                    first = now
                if bodies and _exact(bodies, expected):
                    break
                if now > deadline:
                    got = (bodies[0].get("nation") or {}) if bodies else {}
                    wrong = [m for m in METRICS if got.get(m) != expected.nation[m]]
                    raise TimeoutError(f"not exact after {timeout_s:.0f}s ({len(wrong)} metrics off, e.g. {wrong[:1]})")
                time.sleep(POLL_S)
            provinces_ok = _provinces_exact(bodies, expected)
    finally:
        for c in children:
            c.stop()
    first = first or now
    return DrainRun(
        drain_eps=events / max(now - first, POLL_S),
        total_eps=events / (now - started),
        startup_s=first - started,
        exact_s=now - started,
        rss_mb=max(c.peak_rss_mb for c in children),
        provinces_exact=provinces_ok,
    )
