"""The topics the pipeline uses, created with the partition count the settings give."""
from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.settings import Settings

log = logging.getLogger("p06.topics")
# Values up to 5 MB reach the topic so that oversized input lands in the DLQ with a reason.
TOPIC_CONFIG = {"max.message.bytes": "5242880"}


def _admin(settings: Settings, wait_s: float) -> KafkaAdminClient:
    """An admin client, once the cluster answers: services wait for Kafka rather than crash."""
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
        except KafkaError as exc:
            if time.monotonic() + delay > deadline:
                raise RuntimeError(
                    f"Kafka at {settings.kafka_bootstrap} did not answer for {wait_s:.0f}s ({exc}); "
                    "start it with `p06 stack up` or set P06_KAFKA_BOOTSTRAP"
                ) from None
            if delay == 0.5:
                log.warning("waiting for Kafka at %s (%s)", settings.kafka_bootstrap, exc)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def ensure_topics(settings: Settings, compacted: tuple[str, ...] = (), wait_s: float = 600) -> None:
    """Create the events and DLQ topics (and any compacted ones) if they do not exist yet."""
    configs = {settings.events_topic: TOPIC_CONFIG, settings.dlq_topic: TOPIC_CONFIG}
    configs |= {name: {**TOPIC_CONFIG, "cleanup.policy": "compact"} for name in compacted}
    admin = _admin(settings, wait_s)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, settings.topic_partitions, 1, topic_configs=config)
            for name, config in configs.items()
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:  # another process created it between list and create
                pass
    finally:
        admin.close()
