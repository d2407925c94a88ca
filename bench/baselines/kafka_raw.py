"""Baselines: the raw Kafka clients on the same messages the pipeline gets, connected as the run's
cluster says (TLS + SCRAM or PLAINTEXT: stack.clients, role "bench")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import orjson
from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer

from schemas.names import MAX_VALUE_BYTES
from schemas.settings import Settings
from stack.clients import aiokafka_options, kafka_python_options

Message = tuple[bytes | None, bytes]  # (key, value)


def producer(s: Settings, as_publisher: bool) -> KafkaProducer:
    if as_publisher:  # the publisher's own options: lz4, idempotence, acks=all, its batch and linger
        from producers.publisher import PRODUCER_OPTIONS

        return KafkaProducer(**kafka_python_options(s, "bench"), **PRODUCER_OPTIONS)
    # One event per message: acks=all, linger 5 ms, 64 KB batches (crc32c is a dependency).
    return KafkaProducer(
        **kafka_python_options(s, "bench"), acks="all", linger_ms=5, batch_size=65536, max_request_size=MAX_VALUE_BYTES
    )


def produce(s: Settings, topic: str, messages: Sequence[Message], as_publisher: bool = False) -> float:
    """Send every message and wait for all acks; returns messages per second."""
    p = producer(s, as_publisher)
    p.partitions_for(topic)  # metadata first: not part of the rate
    start = time.perf_counter()
    for key, value in messages:
        p.send(topic, value=value, key=key)
    p.flush()
    elapsed = time.perf_counter() - start
    p.close()
    return len(messages) / elapsed


async def _consume(s: Settings, topic: str, expected: int) -> float:
    c = AIOKafkaConsumer(
        topic,
        **aiokafka_options(s, "bench"),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
        fetch_max_bytes=64 << 20,
    )
    await c.start()
    try:
        seen, start = 0, None
        while seen < expected:
            batches = await c.getmany(timeout_ms=1000, max_records=10_000)
            if start is None and batches:
                start = time.perf_counter()  # from the first fetched batch: connection setup is not the rate
            for records in batches.values():
                for r in records:
                    orjson.loads(r.value)
                seen += len(records)
        return seen / (time.perf_counter() - (start or time.perf_counter()))
    finally:
        await c.stop()


def consume(s: Settings, topic: str, expected: int) -> float:
    """aiokafka getmany + orjson decode of every value, until `expected` messages; messages per second."""
    return asyncio.run(asyncio.wait_for(_consume(s, topic, expected), timeout=600))
