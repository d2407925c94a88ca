"""Sink drain rate into chDB vs a bare clickhouse-connect insert of the same rows, in one run.

    P06_KAFKA_BOOTSTRAP=127.0.0.1:19092 .venv/bin/python -m sinks.bench --events 200000

Publishes N village/dossier events (batches of up to 500 per locality, as the producers pack them)
to a fresh topic, times `Sink` draining them into a fresh chDB folder (parse, archive insert with
dedup token, rollup rewrite, commit), then times a bare insert of the same rows into a copy of
the archive table in the same process, with the same batch size. Prints rows/s and the ratio.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import orjson
from kafka import KafkaProducer

from schemas.events import validate_event
from schemas.registry import registry
from schemas.settings import load_settings
from .archive import COLUMNS, Columns, now
from .sink import Sink
from streams.topics import ensure_topics


def events(n: int, seed: int = 7) -> dict[str, list[dict]]:
    rnd = random.Random(seed)
    wards = [w for w, loc in registry().localities.items() if loc.level == "ward"]
    start = datetime.now(timezone.utc) - timedelta(days=20)
    by_locality: dict[str, list[dict]] = {}
    for i in range(n):
        ward = rnd.choice(wards)
        at = (start + timedelta(seconds=rnd.randrange(20 * 86400))).isoformat()
        if i % 2:
            body = {"type": "village.status", "payload": {"village_id": f"V{rnd.randint(1, 40)}",
                                                           "electricity": rnd.random() < .9, "internet": rnd.random() < .7}}
        else:
            r = rnd.randint(0, 30)
            body = {"type": "service.dossiers", "payload": {"received": r, "online": r // 2, "on_time": r // 3}}
        by_locality.setdefault(ward, []).append({"event_id": f"b{i}", "locality": ward, "occurred_at": at, **body})
    return by_locality


def publish(settings, by_locality: dict[str, list[dict]]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=20, batch_size=1 << 20,
                             max_request_size=4 << 20, acks="all")
    for ward, items in by_locality.items():
        for i in range(0, len(items), 500):
            producer.send(settings.events_topic, orjson.dumps(items[i:i + 500]), key=ward.encode())
    producer.flush()
    producer.close()


def drain(settings, total: int) -> float:
    sink = Sink(settings)
    thread = threading.Thread(target=lambda: asyncio.run(sink.run()), daemon=True)
    thread.start()
    while sink.consumer is None or not sink.consumer.assignment():  # from the moment it may fetch
        time.sleep(0.005)
    t0 = time.perf_counter()
    while sink.stats.events < total:
        time.sleep(0.005)
    rate = total / (time.perf_counter() - t0)
    sink.stop.set()
    thread.join(60)
    return rate


def bare(settings, by_locality: dict[str, list[dict]], batch_rows: int) -> float:
    from .clickhouse import open_client

    client = open_client(settings)
    client.command("CREATE TABLE p06.bench_raw AS p06.events_raw")
    rows = [e for items in by_locality.values() for e in items]
    batches = []
    for i in range(0, len(rows), batch_rows):
        cols = Columns()
        for e in rows[i:i + batch_rows]:
            cols.add(validate_event(e), "bench", 0, 0, now())
        batches.append(cols)
    t0 = time.perf_counter()
    for cols in batches:
        client.insert("p06.bench_raw", cols.data, column_names=list(COLUMNS), column_oriented=True)
    rate = len(rows) / (time.perf_counter() - t0)
    client.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    folder = tempfile.mkdtemp(prefix="p06-bench-")
    os.environ.update({"P06_EVENTS_TOPIC": f"bench{tag}.events", "P06_DLQ_TOPIC": f"bench{tag}.dlq",
                       "P06_APP_ID": f"bench{tag}", "P06_CLICKHOUSE_URL": f"chdb://{folder}/chdb",
                       "P06_DATA_DIR": folder, "P06_SINK_API_PORT": os.environ.get("P06_SINK_API_PORT", "6071")})
    settings = load_settings()
    ensure_topics(settings)
    data = events(args.events)
    publish(settings, data)
    sink_rate = drain(settings, args.events)
    bare_rate = bare(settings, data, settings.sink_batch_rows)
    print(f"events: {args.events:,}  batch rows: {settings.sink_batch_rows:,}  store: {settings.clickhouse_dsn}")
    print(f"sink drain (Kafka -> parse -> archive + rollups -> commit): {sink_rate:,.0f} rows/s")
    print(f"bare clickhouse-connect insert of the same rows:            {bare_rate:,.0f} rows/s")
    print(f"ratio sink / bare: {sink_rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
