"""The topics the pipeline uses, created with the partition count the settings give."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.names import INGESTION_PARTITIONS, MAX_VALUE_BYTES, ingestion_topic
from schemas.registry import registry
from schemas.settings import Settings
from stack.clients import kafka_python_options

log = logging.getLogger("p06.topics")
# Values up to 5 MB reach the topic so that oversized input lands in the DLQ with a reason.
TOPIC_CONFIG = {"max.message.bytes": str(MAX_VALUE_BYTES)}


def _admin(settings: Settings, wait_s: float) -> KafkaAdminClient:
    """An admin client (as p06-admin), once the cluster answers: services wait for Kafka rather than crash."""
    bootstrap = settings.kafka_bootstrap
    options = kafka_python_options(settings, "admin")
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        try:
            return KafkaAdminClient(**options, request_timeout_ms=15000)
        except KafkaError as exc:
            if time.monotonic() + delay > deadline:
                raise RuntimeError(
                    f"Kafka at {bootstrap} did not answer for {wait_s:.0f}s ({exc}); "
                    "start it with `p06 stack up` or set P06_KAFKA_BOOTSTRAP"
                ) from None
            if delay == 0.5:
                log.warning("waiting for Kafka at %s (%s)", bootstrap, exc)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def create_topics(
    settings: Settings, names: list[str], partitions: int, compacted: tuple[str, ...] = (), wait_s: float = 600
) -> None:
    """The one place topics are made: each name that does not exist yet, with the project's config."""
    admin = _admin(settings, wait_s)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                name,
                partitions,
                1,
                topic_configs={**TOPIC_CONFIG, "cleanup.policy": "compact"} if name in compacted else TOPIC_CONFIG,
            )
            for name in dict.fromkeys([*names, *compacted])
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:  # another process created it between list and create
                pass
    finally:
        admin.close()


def ensure_topics(settings: Settings, compacted: tuple[str, ...] = (), wait_s: float = 600) -> None:
    """Create the events and DLQ topics (and any compacted ones) if they do not exist yet."""
    create_topics(settings, [settings.events_topic, settings.dlq_topic], settings.topic_partitions, compacted, wait_s)


def ensure_ingestion_topics(settings: Settings, wait_s: float = 600) -> None:
    """Create every province's ingestion topic (schemas.names) if it does not exist yet."""
    names = [ingestion_topic(settings.events_topic, p) for p in registry().provinces]
    create_topics(settings, names, INGESTION_PARTITIONS, wait_s=wait_s)
