"""kafka-python's privates, each touched here only.

`KafkaProducer.close(timeout)` flushes first; when the flush times out it raises KafkaTimeoutError
and returns before stopping its sender thread, which goes on retrying batches the caller has already
given up on (kafka-python 3.0.12, `producer/kafka.py` close()).
"""

from __future__ import annotations

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError


def close_now(producer: KafkaProducer, timeout_s: float) -> None:
    """Close the producer within `timeout_s`; records it could not deliver by then are dropped."""
    try:
        producer.close(timeout=timeout_s)
    except KafkaTimeoutError:
        # End it as close() does after a flush that succeeded: the sender stops, the producer is closed.
        producer._sender.force_close()
        producer._closed = True
