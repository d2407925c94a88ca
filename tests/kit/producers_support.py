"""Reading back what the producers put on a topic, with a plain consumer independent of the code under test."""

from __future__ import annotations

import time

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from schemas.settings import Settings
from stack.clients import kafka_python_options

READ_TIMEOUT_S = 60


def read_topic(settings: Settings, topic: str | None = None) -> list[ConsumerRecord]:
    """Every record on the topic now, partition by partition, in offset order."""
    topic = topic or settings.events_topic
    consumer = KafkaConsumer(**kafka_python_options(settings, "admin"), enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(parts)
        consumer.seek_to_beginning()
        end = consumer.end_offsets(parts)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while any(consumer.position(tp) < end[tp] for tp in parts):
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def events_of(record: ConsumerRecord) -> list[dict]:
    """The event dicts of one message value: one event or a batch."""
    value = orjson.loads(record.value)
    return value if isinstance(value, list) else [value]


def topic_events(settings: Settings, topic: str | None = None) -> list[dict]:
    return [e for record in read_topic(settings, topic) for e in events_of(record)]
