"""Where an operator's press becomes an action on the periods topic, and its outcome comes back.

The sink's API (sinks/web/api.py) admits the account (auth's guard), refuses at once what its role or
province may never do, then writes the action, naming the status the operator saw, under the province's
key, and waits for the one writer (sinks/periods/writer.py) to apply or refuse it: the operator who
pressed reads the outcome, a refusal with its reason.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaProducer

from auth import Account
from schemas.names import periods_topic
from schemas.periods import Action
from schemas.settings import Settings
from sinks.warehouse.store import Store
from stack.clients import aiokafka_options

OUTCOME_WAIT_S = 30.0


def forbidden(account: Account, action: str, province: str) -> str | None:
    """What the account's role may never do, whatever the period's status (403)."""
    if account.role not in ("national", "province"):
        return f"account {account.name!r} ({account.role}) may not act on reporting periods"
    if account.role == "province" and account.province != province:
        return f"account {account.name!r} (province {account.province}) may not act for province {province}"
    if account.role == "province" and action == "accept":
        return f"account {account.name!r} (province {account.province}): accepting is for a national operator"
    return None


class PeriodDesk:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.producer: AIOKafkaProducer | None = None

    async def _producer(self) -> AIOKafkaProducer:
        if self.producer is None:
            producer = AIOKafkaProducer(**aiokafka_options(self.settings, "sink"), acks="all", enable_idempotence=True)
            await producer.start()
            self.producer = producer
        return self.producer

    async def submit(self, action: Action) -> dict[str, Any] | None:
        """Write the action and wait for the writer's outcome; None when it has not come within OUTCOME_WAIT_S."""
        producer = await self._producer()
        topic = periods_topic(self.settings.events_topic)
        await producer.send_and_wait(topic, action.model_dump_json().encode(), key=action.province.encode())
        deadline = time.monotonic() + OUTCOME_WAIT_S
        while time.monotonic() < deadline:
            rows = await asyncio.to_thread(
                self.store.read_between_writes, lambda r: r.named("period_action", {"action_id": action.action_id})
            )
            if rows:
                return rows[0]
            await asyncio.sleep(0.1)
        return None

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
