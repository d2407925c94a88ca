"""The worker's exactness protocol, in the order it runs: batch -> state -> snapshots -> position -> commit.

Exactness rests on idempotent state and on a position kept with it, not on Kafka's offsets
(streams.positions says why and how a partition's position is judged). For each batch `Checkpoint.apply`:

1. drops the records fetched before a rebalance: their partition may be another worker's now;
2. reads each newly seen partition's position from the table, as restored with the state it covers;
3. admits each record against its partition's position, and seeks back over records that were skipped;
4. folds the admitted records into the localities' state (streams.worker.Processor): each changed
   record is a table write, queued for the changelog partition of the event it acts for;
5. sends the changed localities' snapshots, and their records for the province's alert owner
   (streams.alerts), and waits until the broker has them;
6. writes each partition's position into the same table, after the state and snapshots it covers;
7. leaves the commit to Faust: its offsets are only where reading starts (a commit ahead of the state
   or behind it changes nothing); before a partition is handed over Faust flushes its producer, and
   that flush waits for every changelog record queued before it, state and position
   (stack.adapters.faust.FlushingProducerBuffer).

A worker that takes a partition over restores its state and position together from the changelog:
wherever the changelog has a position, it also has every state change that position covers, and the
snapshot topic every snapshot. A timer (`seek_idle_partitions`) starts reading from the position when
nothing arrives although the log goes past it. The process's two guards stay in streams.watchdog: a
table recovery that reads nothing restarts the worker, a stop that waits on a broker gone ends it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

import faust
from faust.types import TP, EventT

from stack.adapters.faust import acting_for, aiokafka_producer
from stack.partitions import home_partition

from .positions import Positions, Verdict, position_key
from .state import Records
from .stats import Stats

log = logging.getLogger("p06.worker")

Snapshots = dict[int, list[tuple[bytes, bytes]]]  # source partition -> (locality, snapshot) records


class Processor(Protocol):
    """The per-event work a checkpoint orders (streams.worker.Processor): fold admitted records in."""

    table: Records
    events_topic: faust.TopicT
    stats: Stats

    def process(self, batch: Sequence[EventT]) -> Snapshots: ...

    def forget_cache(self) -> None: ...

    def take_feed(self) -> list[tuple[bytes, bytes]]: ...


class Checkpoint:
    """One batch's way from fetched records to a position the next owner of its partitions can trust."""

    def __init__(self, app: faust.App, processor: Processor, snapshot_topic: str, feed_topic: str) -> None:
        self.app, self.processor = app, processor
        self.table = processor.table
        self.events_topic = processor.events_topic.get_topic_name()
        self.snapshot_topic = snapshot_topic
        self.snapshot_partitions: int | None = None  # learnt on the first send
        self.feed_topic, self.feed_partitions = feed_topic, 1  # the alert owners' feed (streams.alerts)
        self.positions = Positions()

    def forget(self) -> None:
        """After a rebalance other workers may have written our keys: read state and positions again."""
        self.processor.forget_cache()
        self.positions.forget()

    async def apply(self, batch: Sequence[EventT]) -> None:
        # 1. Fetched before a rebalance: writing its state here would race the partition's new owner.
        #    If the partition is still ours, the position makes us read the records again.
        generation = self.app.consumer_generation_id
        current = [fe for fe in batch if fe.message.generation_id == generation]
        self.processor.stats.stale += len(batch) - len(current)
        # 2. Positions as restored with the table, for partitions seen first in this batch.
        for tp in {fe.message.tp for fe in current if not self.positions.known(fe.message.partition)}:
            await self._load_position(tp)
        # 3. Apply what the position has not passed yet; seek back where records were skipped.
        admitted = await self._admit(current)
        # 4. Fold them into the state: table writes, queued for the changelog in this order.
        changed = self.processor.process(admitted)
        # 5. Snapshots before the position: events the position covers never lack their snapshot.
        await self._publish_snapshots(changed)
        # 6. The position after the state and snapshots it covers, in the same changelog partition.
        self._write_positions(admitted)
        # 7. The commit is Faust's, on its interval: a hint for where to read, never the truth.

    async def _admit(self, batch: Sequence[EventT]) -> list[EventT]:
        admitted, gaps = [], {}
        now = time.monotonic()
        for fe in batch:
            verdict = self.positions.admit(fe.message.partition, fe.message.offset, now)
            if verdict is Verdict.APPLY:
                admitted.append(fe)
            elif verdict is Verdict.SEEK:
                gaps[fe.message.tp] = fe.message.offset
        for tp, offset in gaps.items():
            await self._seek_back(tp, offset)
        return admitted

    async def _publish_snapshots(self, changed: Snapshots) -> None:
        """Send the changed snapshots and their alert feed records, packed per partition (one record per
        locality costs far more), and wait until the broker has them all."""
        producer = aiokafka_producer(self.app)
        if self.snapshot_partitions is None:
            # The snapshot topic may have fewer partitions than the events topic; any partition will do.
            self.snapshot_partitions = len(await producer.partitions_for(self.snapshot_topic))
            self.feed_partitions = len(await producer.partitions_for(self.feed_topic))
        snapshots: Snapshots = {}
        for source_partition, records in changed.items():
            snapshots.setdefault(source_partition % self.snapshot_partitions, []).extend(records)
        feed: Snapshots = {}
        for province, record in self.processor.take_feed():  # keyed by province: its one owner reads it
            feed.setdefault(home_partition(province.decode(), self.feed_partitions), []).append((province, record))
        delivered = [*await self._send(self.snapshot_topic, snapshots), *await self._send(self.feed_topic, feed)]
        await asyncio.gather(*delivered)

    async def _send(self, topic: str, records_of: Snapshots) -> list[Any]:
        producer = aiokafka_producer(self.app)
        delivered = []
        for partition, records in records_of.items():
            batch = producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:  # full: send, start another
                    delivered.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            delivered.append(await producer.send_batch(batch, topic, partition=partition))
        return delivered

    def _write_positions(self, admitted: Sequence[EventT]) -> None:
        last_of: dict[int, EventT] = {fe.message.partition: fe for fe in admitted}
        for partition, fe in last_of.items():
            with acting_for(fe):  # the changelog partition of the state it covers, queued after that state
                self.table[position_key(partition)] = self.positions.next[partition]

    async def seek_idle_partitions(self) -> None:
        """Seek back any owned partition whose log goes past its position while nothing arrives:
        the committed offset Faust started from may be ahead of the state."""
        if self.app.rebalancing:
            return  # the table may not be restored yet
        for tp in [tp for tp in self.app.consumer.assignment() if tp.topic == self.events_topic]:
            if not self.positions.known(tp.partition):
                await self._load_position(tp)
            try:
                highwater = self.app.consumer.highwater(tp)
            except Exception:  # revoked meanwhile: nothing to catch up on here
                continue
            if self.positions.idle(tp.partition, highwater, time.monotonic()):
                await self._seek_back(tp, None)

    async def _load_position(self, tp: TP) -> None:
        """A partition's position as restored with the table (its key lives in that partition's store)."""
        earliest = (await self.app.consumer.earliest_offsets(tp))[tp]
        self.positions.start(tp.partition, self.table.get(position_key(tp.partition)), earliest)

    async def _seek_back(self, tp: Any, arrived: int | None) -> None:
        earliest = (await self.app.consumer.earliest_offsets(tp))[tp]
        self.positions.skip_to(tp.partition, earliest)
        target = self.positions.next[tp.partition]
        if arrived is not None:
            log.warning(
                "%s: record %d arrived but the state stands at %d: reading from there again", tp, arrived, target
            )
        elif self.positions.resumed(tp.partition):
            log.warning("%s: records past %d are not arriving: reading from there again", tp, target)
        else:
            log.info("%s: reading from %d, the position kept with the state", tp, target)
        await self.app.consumer.seek(tp, target)
