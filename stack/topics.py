"""The topics the pipeline uses, created with the partition count the settings give and the replication
the cluster allows: on three brokers or more, three replicas, two of them in sync before a write is
acknowledged (with acks=all, which every producer of the project uses), and never an out-of-sync
leader; on fewer brokers, as many replicas as there are brokers (`p06 stack status` says so)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.names import INGESTION_PARTITIONS, MAX_VALUE_BYTES, ingestion_topic, periods_topic
from schemas.registry import registry
from schemas.settings import Settings
from stack.clients import admin_client

# Values up to 5 MB reach the topic so that oversized input lands in the DLQ with a reason.
TOPIC_CONFIG = {"max.message.bytes": str(MAX_VALUE_BYTES)}
# A sender's ingestion topic stamps each record with the broker's append time, not the sender's clock:
# admission carries that stamp onto the events topic, and timeliness is judged by it (sinks/periods).
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}


FULL_REPLICAS = 3  # what docs/capacity.md plans for the country's cluster


@dataclass(frozen=True)
class Replication:
    brokers: int

    @property
    def factor(self) -> int:
        return max(1, min(FULL_REPLICAS, self.brokers))

    @property
    def min_insync(self) -> int:
        return 2 if self.factor >= FULL_REPLICAS else 1

    @property
    def reduced(self) -> bool:
        return self.factor < FULL_REPLICAS

    def config(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync), "unclean.leader.election.enable": "false"}

    def describe(self) -> str:
        text = f"new topics: replication factor {self.factor}, min.insync.replicas {self.min_insync}"
        text += ", unclean leader election off"
        if self.reduced:
            text += (
                f" (reduced for {self.brokers} broker{'s' if self.brokers != 1 else ''}:"
                f" {FULL_REPLICAS} and 2 need {FULL_REPLICAS} brokers)"
            )
        return text


def replication(settings: Settings, wait_s: float = 600) -> Replication:
    """The replication the cluster's live brokers allow (a cluster with a node down at that moment
    gets fewer replicas: start services with every node up)."""
    with admin_client(settings, wait_s=wait_s) as admin:
        return Replication(live_brokers(admin))


def live_brokers(admin: KafkaAdminClient, tries: int = 5) -> int:
    """The brokers the cluster counts as live; asked again when the node asked is down (a drill)."""
    for attempt in range(tries):
        try:
            return len(admin.describe_cluster()["brokers"])
        except KafkaError:
            if attempt == tries - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


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
        replicas = Replication(live_brokers(admin))
        missing = [
            NewTopic(
                name,
                partitions,
                replicas.factor,
                topic_configs={
                    **TOPIC_CONFIG,
                    **replicas.config(),
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
