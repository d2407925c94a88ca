"""stack.adapters.faust, each touch shown to matter: the partition a table write in a batch goes to,
and the batch send of the snapshots. (Its transport changes: tests/test_transport.py.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace

import faust
import pytest

from schemas.settings import Settings
from stack import ensure_topics
from stack.adapters.faust import App, acting_for, aiokafka_producer
from streams.checkpoint import Checkpoint
from streams.worker import faust_options, snapshot_topic


@dataclass
class _Message:
    topic: str
    partition: int


@dataclass
class _Event:
    """What Faust reads of the current event when a table is written: its message's partition."""

    message: _Message


def _table_write(app: faust.App, table: faust.Table, event: _Event | None) -> int:
    """The changelog partition Faust queues a table write for, acting for `event` (None: for none)."""
    if event is None:
        table["ward"] = 1
    else:
        with acting_for(event):  # type: ignore[arg-type]
            table["ward"] = 1
    queued = app.producer.buffer.pending.get_nowait()
    return queued.message.partition


def test_a_table_write_in_a_batch_goes_to_the_changelog_partition_of_the_event_it_acts_for() -> None:
    async def run() -> None:
        app = App("probe", broker="kafka://localhost:1", store="memory://")
        table = app.Table("probe", default=None, partitions=8)
        # Faust's own behaviour, still upstream: outside its stream iteration there is no current event.
        with pytest.raises(TypeError, match="outside of stream iteration"):
            _table_write(app, table, None)
        assert _table_write(app, table, _Event(_Message("events", partition=3))) == 3

    asyncio.run(run())


class _Counting:
    """Counts the calls of an aiokafka producer: whole record batches and single records."""

    def __init__(self, producer) -> None:  # type: ignore[no-untyped-def]
        self.batches = self.records = 0
        send_batch, send = producer.send_batch, producer.send

        async def counted_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.batches += 1
            return await send_batch(*args, **kwargs)

        async def counted_send(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.records += 1
            return await send(*args, **kwargs)

        producer.send_batch, producer.send = counted_batch, counted_send


def test_snapshots_of_a_batch_leave_in_one_record_batch_per_partition(p06_settings: Settings) -> None:
    # Faust's producer has no batch send (one call, and one future, per record): hence the aiokafka producer under it.
    assert not hasattr(faust.App("probe").producer, "send_batch")
    topic = snapshot_topic(p06_settings)
    ensure_topics(p06_settings, compacted=(topic,))

    async def run() -> _Counting:
        app = App(p06_settings.app_id, **faust_options(p06_settings))
        await app.producer.start()
        try:
            calls = _Counting(aiokafka_producer(app))
            processor = SimpleNamespace(
                table=None, events_topic=SimpleNamespace(get_topic_name=lambda: "events"), take_feed=lambda: []
            )  # no alert feed records: this counts the snapshots' batches
            checkpoint = Checkpoint(app, processor, topic, feed_topic=topic)  # type: ignore[arg-type]
            snapshot = b'{"figures": [' + b"1, " * 60 + b"1]}"
            changed = {
                p: [(f"{p:02d}{i:03d}".encode(), snapshot) for i in range(40)] for p in (0, 1)
            }  # 40 x 200 B: one batch each
            await checkpoint._publish_snapshots(changed)  # returns once the broker has them all
            return calls
        finally:
            await app.producer.stop()

    calls = asyncio.run(run())
    assert (calls.batches, calls.records) == (2, 0)


def test_the_workers_producer_is_idempotent_with_acks_all() -> None:
    """Faust's own producer is not idempotent outside transactions: a send retried after a leader
    change could land twice. The adapter's is, as every producer of the project."""

    async def run() -> None:
        app = App("probe", broker="kafka://localhost:1", store="memory://")
        producer = app.producer._new_producer()  # type: ignore[attr-defined]
        assert producer._txn_manager is not None  # aiokafka makes one for an idempotent producer only
        assert app.producer._settings_default()["acks"] == -1  # type: ignore[attr-defined]
        plain = faust.App("plain", broker="kafka://localhost:1", store="memory://")
        assert plain.producer._new_producer()._txn_manager is None  # type: ignore[attr-defined]

    asyncio.run(run())
