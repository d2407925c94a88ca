"""The topics the pipeline uses, created with the partition count the settings give."""

from __future__ import annotations

from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas.names import INGESTION_PARTITIONS, MAX_VALUE_BYTES, ingestion_topic
from schemas.registry import registry
from schemas.settings import Settings
from stack.clients import admin_client

# Values up to 5 MB reach the topic so that oversized input lands in the DLQ with a reason.
TOPIC_CONFIG = {"max.message.bytes": str(MAX_VALUE_BYTES)}


def create_topics(
    settings: Settings, names: list[str], partitions: int, compacted: tuple[str, ...] = (), wait_s: float = 600
) -> None:
    """The one place topics are made: each name that does not exist yet, with the project's config."""
    with admin_client(settings, wait_s=wait_s) as admin:
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


def ensure_topics(settings: Settings, compacted: tuple[str, ...] = (), wait_s: float = 600) -> None:
    """Create the events and DLQ topics (and any compacted ones) if they do not exist yet."""
    create_topics(settings, [settings.events_topic, settings.dlq_topic], settings.topic_partitions, compacted, wait_s)


def ensure_ingestion_topics(settings: Settings, wait_s: float = 600) -> None:
    """Create every province's ingestion topic (schemas.names) if it does not exist yet."""
    names = [ingestion_topic(settings.events_topic, p) for p in registry().provinces]
    create_topics(settings, names, INGESTION_PARTITIONS, wait_s=wait_s)
