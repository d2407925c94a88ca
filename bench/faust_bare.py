"""The framework's own ceiling: a Faust agent that only counts messages (run as its own process).

Configured by BENCH_* variables; when it has counted BENCH_EXPECTED messages it writes the
wall-clock times of process start, first message and last message to BENCH_REPORT as JSON.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import faust
import orjson

STARTED = time.time()
EXPECTED = int(os.environ.get("BENCH_EXPECTED", "0"))
REPORT = Path(os.environ.get("BENCH_REPORT", "/dev/null"))

app = faust.App(
    os.environ.get("BENCH_APP_ID", "bench-bare"),
    broker=f"kafka://{os.environ.get('P06_KAFKA_BOOTSTRAP', '127.0.0.1:9092')}",
    web_enabled=False,
    store="memory://",
    topic_partitions=int(os.environ.get("P06_TOPIC_PARTITIONS", "8")),
    consumer_auto_offset_reset="earliest",
    # Short group timings so a fresh group starts fast: the benchmark measures draining, not waiting.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=1.0,
    broker_rebalance_timeout=10.0,
    stream_buffer_maxsize=16_384,
    consumer_max_fetch_size=4 << 20,
)
topic = app.topic(os.environ.get("BENCH_TOPIC", "bench"), value_serializer="raw", key_serializer="raw")


@app.agent(topic)
async def count(stream) -> None:  # type: ignore[no-untyped-def]
    n, first = 0, 0.0
    async for _ in stream:
        if n == 0:
            first = time.time()
        n += 1
        if n == EXPECTED:
            REPORT.write_bytes(orjson.dumps({"started": STARTED, "first": first, "done": time.time(), "count": n}))
