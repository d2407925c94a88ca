"""The topics the pipeline uses, created with the partition count the settings give."""

from __future__ import annotations

from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas.names import INGESTION_PARTITIONS, MAX_VALUE_BYTES, ingestion_topic, periods_topic
from schemas.registry import registry
from schemas.settings import Settings
from stack.clients import admin_client

# Values up to 5 MB reach the topic so that oversized input lands in the DLQ with a reason.
TOPIC_CONFIG = {"max.message.bytes": str(MAX_VALUE_BYTES)}
# A sender's ingestion topic stamps each record with the broker's append time, not the sender's clock:
# admission carries that stamp onto the events topic, and timeliness is judged by it (sinks/periods).
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}


def create_topics(
    settings: Settings,
    names: list[str],
    partitions: int,
    compacted: tuple[str, ...] = (),
    wait_s: float = 600,
    config: dict[str, str] | None = None,
) -> None:
    """The one place topics are made: each name that does not exist yet, with the project's config."""
    with admin_client(settings, wait_s=wait_s) as admin:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                name,
                partitions,
                1,
                topic_configs={
                    **TOPIC_CONFIG,
                    **(config or {}),
                    **({"cleanup.policy": "compact"} if name in compacted else {}),
                },
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
    """Create the events, DLQ and period actions topics (and any compacted ones) if they do not exist yet."""
    names = [settings.events_topic, settings.dlq_topic, periods_topic(settings.events_topic)]
    create_topics(settings, names, settings.topic_partitions, compacted, wait_s)


def ensure_ingestion_topics(settings: Settings, wait_s: float = 600) -> None:
    """Create every province's ingestion topic (schemas.names) if it does not exist yet."""
    names = [ingestion_topic(settings.events_topic, p) for p in registry().provinces]
    create_topics(settings, names, INGESTION_PARTITIONS, wait_s=wait_s, config=APPEND_TIME)
