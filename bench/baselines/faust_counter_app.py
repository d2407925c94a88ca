"""The framework's own ceiling: a Faust agent that only counts messages (run as its own process).

It runs on the worker's transport (stack.adapters.faust.App), with the worker's Faust settings
(streams.worker.faust_options: RocksDB store, fetch sizes, commit interval) and the worker's batching
(take_events of P06_WORKER_BATCH_SIZE within P06_WORKER_BATCH_WITHIN_S), and does nothing else: with
BENCH_PACKED=1 it decodes each message and counts the events in it, otherwise it counts messages.

Configured by BENCH_* and P06_* variables; when it has counted BENCH_EXPECTED events it writes the
wall-clock times of process start, first message and last message to BENCH_REPORT as JSON.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson

from schemas.settings import load_settings
from stack.adapters.faust import App
from streams.worker import faust_options

STARTED = time.time()
EXPECTED = int(os.environ.get("BENCH_EXPECTED", "0"))
REPORT = Path(os.environ.get("BENCH_REPORT", "/dev/null"))
PACKED = os.environ.get("BENCH_PACKED") == "1"

settings = load_settings()
app = App(os.environ.get("BENCH_APP_ID", "bench-bare"), **faust_options(settings), web_enabled=False)
topic = app.topic(os.environ.get("BENCH_TOPIC", "bench"), value_serializer="raw", key_serializer="raw")


def events_in(value: bytes) -> int:
    decoded = orjson.loads(value)
    return len(decoded) if isinstance(decoded, list) else 1


@app.agent(topic)
async def count(stream) -> None:  # type: ignore[no-untyped-def]
    n, first = 0, 0.0
    async for batch in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_within_s):
        if n == 0:
            first = time.time()
        n += sum(events_in(e.value) for e in batch) if PACKED else len(batch)
        if n >= EXPECTED:
            REPORT.write_bytes(orjson.dumps({"started": STARTED, "first": first, "done": time.time(), "count": n}))
