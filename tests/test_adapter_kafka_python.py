"""stack.adapters.kafka_python's close, shown to matter: kafka-python's own close gives up on a record
it could not deliver in time and leaves its sender thread running; ours ends it."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from schemas.settings import Settings
from stack import ensure_topics
from stack.adapters.kafka_python import close_now
from stack.clients import kafka_python_options


def _holding_a_record(settings: Settings) -> KafkaProducer:
    """A producer with a record not yet acknowledged (it lingers 60 s before sending)."""
    producer = KafkaProducer(**kafka_python_options(settings, "admin"), acks="all", linger_ms=60_000)
    producer.send(settings.events_topic, key=b"01", value=b"{}")
    return producer


def test_a_producer_closed_with_a_record_pending_stops_its_sender(p06_settings: Settings) -> None:
    ensure_topics(p06_settings)
    upstream = _holding_a_record(p06_settings)
    with pytest.raises(KafkaTimeoutError):  # kafka-python's own close, still so upstream
        upstream.close(timeout=0)
    assert upstream._sender.is_alive()
    close_now(upstream, 0)  # also cleans up after the test

    producer = _holding_a_record(p06_settings)
    close_now(producer, 0)
    producer._sender.join(10)
    assert not producer._sender.is_alive()
    upstream._sender.join(10)
    assert not upstream._sender.is_alive()
