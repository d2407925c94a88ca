"""Where a sender writes: the national events topic, or its own province's ingestion topic.

A province's senders may write only `<events topic>.in.<province code>` (Kafka's ACLs say so); the
admission stage (`p06 admission`) moves each event found there onto the events topic when its locality
lies in that province, and to the dead-letter topic with the reason when it does not. National senders
write the events topic itself.
"""

from __future__ import annotations

import re

INGESTION_PARTITIONS = 2  # one province reports a few events a second: two partitions let two stages share it


def ingestion_topic(events_topic: str, province: str) -> str:
    return f"{events_topic}.in.{province}"


def ingestion_pattern(events_topic: str) -> str:
    """A regular expression matching every province's ingestion topic, and only those."""
    return rf"^{re.escape(events_topic)}\.in\.\d{{2}}$"


def province_of_topic(events_topic: str, topic: str) -> str | None:
    """The province whose ingestion topic this is; None for any other topic."""
    return topic.rpartition(".")[2] if re.match(ingestion_pattern(events_topic), topic) else None
