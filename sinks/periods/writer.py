"""The one writer of approval actions: it reads the periods topic (keyed by province, so one partition and
one reader per (period, province)) in order, judges each action by schemas.periods against the status its
predecessors left, and keeps it, applied or refused with the reason, in p06.period_actions (the audit).

An applied approve records the archive positions it covers and the figures they give, read under the
store's lock (no archive write between the two reads). The consumer commits only after ClickHouse
accepted the row; an action read again after a crash finds its action_id there and is skipped, and the
insert carries the action_id as its dedup token, so an action is applied once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from schemas.calendar import Calendar
from schemas.names import periods_group, periods_topic
from schemas.periods import Action, after, refusal
from schemas.settings import Settings
from sinks.warehouse.reader import ClientReader
from sinks.warehouse.store import Store
from sinks.warehouse.tables import PERIOD_ACTIONS
from stack.clients import aiokafka_options

from . import figures as reads

log = logging.getLogger("p06.periods")
COLUMNS = (
    "action_id", "period", "province", "action", "expected", "by", "role", "at", "outcome", "reason",
    "status_after", "ends", "figures", "topic_partition", "topic_offset",
)  # fmt: skip


def judged(reader: ClientReader, cal: Calendar, action: Action, now: datetime) -> dict[str, Any] | None:
    """The audit row of this action (None: already applied or refused before a restart)."""
    if reader.named("period_action", {"action_id": action.action_id}):
        return None
    done = reads.standing(reads.actions(reader, action.period)).get((action.period, action.province))
    current = done["status_after"] if done else "open"
    why = refusal(action, current, cal, now)
    row = {**action.model_dump(), "outcome": "refused" if why else "applied", "reason": why or ""}
    row["status_after"] = current if why else after(action, current)
    row["ends"], row["figures"] = [], ""
    if not why and row["status_after"] == "approved":
        row["ends"] = reads.positions(reader)
        frozen = reads.figures(reader, cal, action.period, action.province, row["ends"])
        row["figures"] = orjson.dumps(frozen).decode()
    return row


def unreadable(value: bytes | None, error: str) -> dict[str, Any]:
    """A record that is not an action (only the sink writes the topic, so a bug or an admin's hand): refused, kept."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row |= {"at": datetime.now(UTC), "outcome": "refused", "reason": f"not an action: {error}"[:500], "ends": []}
    row["by"] = (value or b"")[:200].decode("utf-8", "replace")
    return row


class Writer:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.calendar = Calendar(settings.timezone)

    def apply(self, value: bytes | None, partition: int, offset: int) -> None:
        """Judge and keep one record of the topic; raises when ClickHouse did not accept it."""
        try:
            action = Action.model_validate_json(value or b"")
        except ValidationError as exc:
            self._keep(
                {**unreadable(value, str(exc.errors()[0])), "action_id": f"unreadable-{partition}-{offset}"},
                partition,
                offset,
            )
            return
        row = self.store.read_between_writes(lambda r: judged(r, self.calendar, action, datetime.now(UTC)))
        if row is not None:
            self._keep(row, partition, offset)

    def _keep(self, row: dict[str, Any], partition: int, offset: int) -> None:
        row |= {"topic_partition": partition, "topic_offset": offset}
        token = f"period-{row['action_id']}"
        self.store.write(
            lambda client: client.insert(
                PERIOD_ACTIONS,
                [[row[c] for c in COLUMNS]],
                column_names=list(COLUMNS),
                settings={"insert_deduplication_token": token},
            )
        )
        log.info(
            "period %s province %s: %s %s (%s)",
            row["period"],
            row["province"],
            row["action"],
            row["outcome"],
            row["reason"] or row["status_after"],
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Until stop; the broker going away starts it again from the committed offsets."""
        while not stop.is_set():
            try:
                await self._consume(stop)
            except KafkaError as exc:
                log.warning("period actions: %s; starting again from the committed offsets in 2 s", exc)
                await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=2)

    async def _consume(self, stop: asyncio.Event) -> None:
        s = self.settings
        consumer = AIOKafkaConsumer(
            periods_topic(s.events_topic),
            **aiokafka_options(s, "sink"),
            group_id=periods_group(s.app_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                kept = True
                for messages in batches.values():
                    for message in messages:
                        kept = kept and await self._until_kept(message.value, message.partition, message.offset, stop)
                if batches and kept:  # stopped before an action was kept: read again from the last commit
                    await consumer.commit()
        finally:
            await consumer.stop()

    async def _until_kept(self, value: bytes | None, partition: int, offset: int, stop: asyncio.Event) -> bool:
        delay = 0.2
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.apply, value, partition, offset)
                return True
            except Exception as exc:  # ClickHouse down: the action waits, uncommitted, in order
                log.warning("period action %d@%d not kept yet (%s); again in %.1f s", partition, offset, exc, delay)
                await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=delay)
                delay = min(delay * 2, 10.0)
        return False
