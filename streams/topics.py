"""The topics the pipeline uses, created with the partition count the settings give."""
from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas.settings import Settings

# Values up to 5 MB reach the topic so that oversized input lands in the DLQ with a reason.
TOPIC_CONFIG = {"max.message.bytes": "5242880"}


def ensure_topics(settings: Settings, *extra: str) -> None:
    """Create the events and DLQ topics (and any extra ones) if they do not exist yet."""
    names = [settings.events_topic, settings.dlq_topic, *extra]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, settings.topic_partitions, 1, topic_configs=TOPIC_CONFIG)
            for name in names
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:  # another process created it between list and create
                pass
    finally:
        admin.close()
