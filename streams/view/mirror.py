"""Every locality's live snapshot, mirrored into each worker from one compacted topic.

Each worker publishes the snapshots of the localities it counts; every worker reads all of them back,
so any worker answers for the whole country, whichever worker counted the events. (Faust's
GlobalTable did not replicate between two running workers here, hence this plain consumer.)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from stack.adapters.aiokafka import FETCH_MAX_WAIT_MS, refresh_metadata

from .live import LiveTotals

log = logging.getLogger("p06.snapshots")


class SnapshotMirror:
    """locality -> its newest snapshot, as read from the snapshot topic, and their running totals."""

    def __init__(self, client_options: dict[str, Any], topic: str) -> None:
        self.client_options, self.topic = client_options, topic  # stack.clients.aiokafka_options
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.totals = LiveTotals()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            **self.client_options,
            group_id=None,  # no group: every worker reads every partition
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=1 << 20,  # a larger first batch still arrives whole
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,  # see stack.adapters.aiokafka
        )
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            consumer.assign([TopicPartition(self.topic, p) for p in partitions])
            await consumer.seek_to_beginning()
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for records in batches.values():
                    for record in records:
                        self.put(record.key.decode(), orjson.loads(record.value))
        finally:
            await consumer.stop()

    def put(self, code: str, snapshot: dict[str, Any]) -> None:
        self.totals.replace(code, self.snapshots.get(code), snapshot)
        self.snapshots[code] = snapshot

    async def _partitions(self, consumer: AIOKafkaConsumer) -> set[int]:
        while True:
            partitions = consumer.partitions_for_topic(self.topic)
            if partitions:
                return partitions
            await refresh_metadata(consumer)  # the topic may be seconds old
            await asyncio.sleep(0.5)
