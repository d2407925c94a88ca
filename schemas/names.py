"""The one place the pipeline's Kafka names and limits are spelled: topics, consumer groups, DLQ headers.

The configurable roots come from settings (P06_EVENTS_TOPIC, P06_DLQ_TOPIC, P06_APP_ID); every other
name is derived here from them. A province's senders may write only `<events topic>.in.<province code>`
(Kafka's ACLs say so); the admission stage (`p06 admission`) moves each event found there onto the
events topic when its locality lies in that province, and to the dead-letter topic with the reason
when it does not. National senders write the events topic itself. ClickHouse table names live with
the warehouse (sinks/warehouse).
"""

from __future__ import annotations

import re

# The broker's message.max.bytes and every topic's max.message.bytes: hostile senders may push values
# past Kafka's 1 MB default, and oversized input must still reach the DLQ with a reason, not be refused.
MAX_VALUE_BYTES = 5_242_880

INGESTION_PARTITIONS = 2  # one province reports a few events a second: two partitions let two stages share it

# Headers on a dead-letter record: why it was refused and where it came from.
ERROR_HEADER = "p06-error"
SOURCE_TOPIC_HEADER = "p06-source-topic"
SOURCE_PARTITION_HEADER = "p06-source-partition"
SOURCE_OFFSET_HEADER = "p06-source-offset"
BATCH_INDEX_HEADER = "p06-batch-index"  # the refused event's place in its packed message


def ingestion_prefix(events_topic: str) -> str:
    """What every province's ingestion topic starts with (the ACLs grant national senders this prefix)."""
    return f"{events_topic}.in."


def ingestion_topic(events_topic: str, province: str) -> str:
    return f"{ingestion_prefix(events_topic)}{province}"


def ingestion_pattern(events_topic: str) -> str:
    """A regular expression matching every province's ingestion topic, and only those."""
    return rf"^{re.escape(events_topic)}\.in\.\d{{2}}$"


def province_of_topic(events_topic: str, topic: str) -> str | None:
    """The province whose ingestion topic this is; None for any other topic."""
    return topic.rpartition(".")[2] if re.match(ingestion_pattern(events_topic), topic) else None


def snapshots_topic(app_id: str) -> str:
    """Where each worker publishes its localities' live snapshots (compacted, read back by every worker)."""
    return f"{app_id}.snapshots"


def worker_group(app_id: str) -> str:
    """The Faust worker's consumer group; its changelogs and internal topics are prefixed by it too."""
    return app_id


def sink_group(app_id: str) -> str:
    return f"{app_id}-sink"


def admission_group(app_id: str) -> str:
    return f"{app_id}-admission"


def periods_topic(events_topic: str) -> str:
    """The operators' period actions (approve, accept, reopen), keyed by province; only the sink writes it."""
    return f"{events_topic}.periods"


def periods_group(app_id: str) -> str:
    """The sink's consumer of the period actions: the one writer per (period, province)."""
    return f"{app_id}-sink-periods"


def alerts_feed_topic(app_id: str) -> str:
    """What each province's alert owner hears, keyed by province: its wards' states, ticks, operators' acks."""
    return f"{app_id}.alerts-feed"


def alerts_topic(app_id: str) -> str:
    """Every alert's records (keyed by alert id), written by its province's owner; the panel and webhooks read it."""
    return f"{app_id}.alerts"


def webhooks_group(app_id: str) -> str:
    """The consumer group delivering alert notices to webhooks: it commits after a notice is delivered."""
    return f"{app_id}-alerts-webhooks"
