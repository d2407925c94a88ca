"""The sink's exactness protocol: one batch of records, from the consumer to its committed offsets.

Delivery is at least once. ClickHouse is written first and Kafka committed last, so a failure or a crash
at any statement leaves records that are read again from the last commit: the same batch, or one cut
differently. Every step is therefore safe to repeat, and their order is what makes it so:

  1. batch       records -> rows of the events at home, first copy within a message (sinks/ingest/batch.py)
  2. token       the batch's offsets name it
  3. archive     one insert, dropped by ClickHouse when retried with the same token
  4. plan        the batch's first copies placed in their entities' chains; nothing written yet
  5. identities  of the newly counted events, before their rows
  6. counted     new and rewritten rows, one insert, with this write's rev
  7. heads       the entities' newest versions, with the same rev
  8. buckets     the touched hours rewritten whole, then the scopes above them, then the days
  9. commit      the offsets, only once ClickHouse accepted 3-8

A new connection to ClickHouse first runs rollups.repair (sinks/warehouse/store.py), which levels heads
with counted when a write stopped between 6 and 7. Why each table is built so: docs/clickhouse.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from clickhouse_connect.driver.client import Client

from sinks.ingest.batch import Batch
from sinks.ingest.stats import Stats
from sinks.warehouse import archive, rollups
from sinks.warehouse.archive import Columns
from sinks.warehouse.store import Store

log = logging.getLogger("p06.sink")
KAFKA_CALL_TIMEOUT_S = 5.0  # an offset commit or a consumer stop that waits longer has lost the broker

UntilUp = Callable[[Callable[[], None]], Awaitable[bool]]  # runs a ClickHouse action until it succeeds


def token(batch: Batch) -> str:
    """Step 2. Same records -> same token, so ClickHouse drops a retried insert of this batch."""
    spans = ",".join(f"{batch.topic}:{p}:{a}-{b}" for p, (a, b) in sorted(batch.offsets.items()))
    return hashlib.sha256(spans.encode()).hexdigest()


def write(client: Client, batch: Batch) -> None:
    """Steps 2-8 on one client; raises at the first statement ClickHouse did not accept."""
    if not len(batch.columns):
        return  # only rejected or away-from-home records: nothing to write, their offsets still commit
    # 3. Archive. A resend in another batch is a second row, collapsed by FINAL (the lowest offset wins).
    archive.insert(client, batch.columns, token(batch))
    apply(client, batch.columns)


def apply(client: Client, columns: Columns) -> None:
    """Steps 4-8: the rollups of archived rows. A cut at any statement is finished by the same rows again."""
    if not len(columns):
        return
    # 4. Plan: reads only. A copy already counted from another offset is dropped (the first one counts);
    #    one counted from the same offset is this batch read again: its row stands, its buckets are redone.
    todo = rollups.plan(client, columns)
    rev = rollups.next_rev()
    # 5. Identities before counted rows: a cut between the two leaves an identity whose row is missing,
    #    which the plan of the batch read again finds missing and writes. The other order could leave a
    #    counted row no identity points to: a later copy at another hour would then count a second time.
    rollups.write_identities(client, todo.new)
    # 6. Counted rows in one insert, so a cut leaves all of them or none.
    rollups.write_counted(client, todo.rows, rev)
    # 7. Heads with the same rev: counted rows with a rev above the newest head's tell repair that a
    #    write stopped here.
    rollups.write_heads(client, todo.heads, rev)
    # 8. Buckets rewritten whole from counted, never incremented: a replay writes the same values.
    rollups.rewrite(client, todo.buckets, rev)


async def commit(consumer: AIOKafkaConsumer, batch: Batch) -> None:
    """Step 9. The offsets after the batch, for the partitions this member still owns."""
    owned = consumer.assignment()
    offsets = {TopicPartition(batch.topic, p): last + 1 for p, (_, last) in batch.offsets.items()}
    offsets = {tp: o for tp, o in offsets.items() if tp in owned}  # a revoked partition is its new owner's
    try:
        if offsets:
            await asyncio.wait_for(consumer.commit(offsets), KAFKA_CALL_TIMEOUT_S)
    except (TimeoutError, KafkaError) as exc:  # the next owner re-reads them, the warehouse dedups
        log.warning("offset commit failed (%r); those records will be written again, harmlessly", exc)


class Checkpoint:
    """Steps 2-9 for each batch the sink collects (step 1), counted in its stats."""

    def __init__(self, store: Store, consumer: AIOKafkaConsumer, stats: Stats, until_up: UntilUp) -> None:
        self.store = store
        self.consumer = consumer
        self.stats = stats
        self.until_up = until_up

    async def save(self, batch: Batch) -> bool:
        """True once the batch is in ClickHouse and its commit was tried; False when stopping before."""
        started = time.perf_counter()
        # 2-8, retried whole until ClickHouse accepts them: each step is safe to repeat.
        if not await self.until_up(lambda: self.store.write(lambda client: write(client, batch))):
            return False  # not committed: whoever owns these partitions next reads the records again
        self.stats.write_s += time.perf_counter() - started
        await commit(self.consumer, batch)  # 9, only now
        self.stats.count(batch)
        return True
