"""Which partition of the events topic a locality lives in: part of the contract for every sender.

The key is the locality code and the partitioner Kafka's Java default (murmur2), which kafka-python,
aiokafka and the Java client use. librdkafka's default (CRC32) differs: such a sender must set
`partitioner=murmur2_random`, or the worker sends its events on to their own partition first.
"""

from __future__ import annotations

from kafka.partitioner import murmur2


def home_partition(locality: str, partitions: int) -> int:
    return (murmur2(locality.encode()) & 0x7FFFFFFF) % partitions


def counted_locality(key: bytes | None, partition: int, partitions: int) -> str | None:
    """The one locality whose events a record may count for where it lies: its key, when the record is
    in that key's home partition; None otherwise. Events of any other locality belong elsewhere."""
    locality = key.decode("utf-8", "replace") if key else None
    return locality if locality is not None and partition == home_partition(locality, partitions) else None
