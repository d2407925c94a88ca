"""Every alert's newest record, mirrored into each worker from the alerts topic (as the snapshots are):
what the API, the dashboard's panel and `p06 alerts list` show."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from stack.adapters.aiokafka import FETCH_MAX_WAIT_MS, refresh_metadata


class AlertBoard:
    def __init__(self, client_options: dict[str, Any], topic: str) -> None:
        self.client_options, self.topic = client_options, topic
        self.alerts: dict[str, dict[str, Any]] = {}

    def put(self, alert: dict[str, Any]) -> None:
        known = self.alerts.get(alert["id"])
        if known is None or alert["version"] >= known["version"]:  # a copy sent again is no newer
            self.alerts[alert["id"]] = alert

    def seen_by(self, sees: Any) -> list[dict[str, Any]]:
        """The alerts of the provinces `sees` admits: firing first, newest first."""
        shown = [a for a in self.alerts.values() if sees(a["scope"])]
        return sorted(shown, key=lambda a: (a["state"] != "firing", a["since"]))

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            **self.client_options, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )  # fmt: skip
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self.topic) or set()
            while not partitions:
                await refresh_metadata(consumer)  # the topic may be seconds old
                await asyncio.sleep(0.5)
                partitions = consumer.partitions_for_topic(self.topic) or set()
            consumer.assign([TopicPartition(self.topic, p) for p in partitions])
            await consumer.seek_to_beginning()
            while True:
                for records in (await consumer.getmany(timeout_ms=200, max_records=1000)).values():
                    for record in records:
                        self.put(orjson.loads(record.value))
        finally:
            await consumer.stop()
