"""stack.adapters.aiokafka's metadata refresh, shown to matter: without it a consumer does not learn of
a topic made after it started. (The fetch wait: tests/test_transport.py.)"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from schemas.settings import Settings
from stack import ensure_topics
from stack.adapters.aiokafka import refresh_metadata
from stack.clients import aiokafka_options


def test_a_topic_made_after_the_consumer_started_is_known_after_one_refresh(p06_settings: Settings) -> None:
    async def run() -> tuple[set[int] | None, set[int] | None]:
        consumer = AIOKafkaConsumer(**aiokafka_options(p06_settings, "admin"), group_id=None)
        await consumer.start()
        try:
            assert consumer.partitions_for_topic(p06_settings.events_topic) is None
            await asyncio.to_thread(ensure_topics, p06_settings)
            before = consumer.partitions_for_topic(p06_settings.events_topic)  # aiokafka looks again in 5 min
            await refresh_metadata(consumer)
            return before, consumer.partitions_for_topic(p06_settings.events_topic)
        finally:
            await consumer.stop()

    before, after = asyncio.run(run())
    assert before is None
    assert after == set(range(p06_settings.topic_partitions))
