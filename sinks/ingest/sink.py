"""`p06 sink`: Kafka events -> ClickHouse archive and rollups, committed only after ClickHouse accepted.

aiokafka rather than kafka-python: on this kind of machine its consumer decodes JSON at ~130k msg/s
against ~23k (76k with crc32c) for kafka-python, and the sink is the one consumer of every event.
Delivery is at least once; exactness comes from the warehouse (dedup token, FINAL, rewrites).

Only records at home are archived, by the live worker's own test (stack.partitions.counted_locality):
the Kafka key is the event's locality and the record lies in that locality's home partition
(stack.partitions). The worker sends any other event again, under its own key, to its home
partition, where this sink archives it; so all copies of an event are in one partition and the
archive's lowest offset is the first copy, the one that counts (issue 11).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import time
from dataclasses import asdict, dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.events import MAX_BATCH_EVENTS, parse_message
from schemas.metrics import identity
from schemas.settings import Settings
from sinks.checks.audit import Audit
from sinks.warehouse.archive import Columns, now
from sinks.warehouse.store import Store
from sinks.web import api
from stack.clients import aiokafka_options
from stack.partitions import counted_locality

log = logging.getLogger("p06.sink")
MAX_BACKOFF_S = 10.0
KAFKA_CALL_TIMEOUT_S = 5.0  # an offset commit or a consumer stop that waits longer has lost the broker


@dataclass
class Stats:
    messages: int = 0
    events: int = 0
    rejected: int = 0  # invalid messages or batch elements: the streams' DLQ reports them
    away_from_home: int = 0  # valid events skipped where they landed: the worker re-sends them home
    batches: int = 0
    write_s: float = 0.0  # time spent writing batches to ClickHouse (archive and rollups), retries included
    largest_batch: int = 0  # rows; P06_SINK_BATCH_ROWS bounds it (give or take one fetch of large messages)
    lag: int | None = None  # records on the broker not yet committed by this sink; None until known
    started: float = field(default_factory=time.monotonic)


class Batch:
    """Records taken since the last commit: their rows and, per partition, the offsets they span."""

    def __init__(self, topic: str, partitions: int = 0) -> None:
        self.topic = topic
        self.partitions = partitions  # of the events topic as the broker has them; set before the first add()
        self.columns = Columns()
        self.offsets: dict[int, tuple[int, int]] = {}
        self.messages = 0
        self.rejected = 0
        self.away_from_home = 0
        self.largest_message = 0  # events in the largest message so far

    def add(self, partition: int, offset: int, key: bytes | None, value: bytes | None, timestamp_ms: int) -> None:
        events, rejections = parse_message(value, timestamp_ms / 1000)  # judged as the worker judges it
        received = now()
        home = counted_locality(key, partition, self.partitions)  # the worker's test, the same function
        seen: set[tuple[str, str]] = set()  # copies within one message share its offset
        away = 0
        for event in events:
            if event.locality != home:
                away += 1  # archived when the worker's copy arrives at home
                continue
            this = identity(event)
            if this in seen:
                continue  # a later copy in the same message: the first one counts, as in the worker
            seen.add(this)
            self.columns.add(event, self.topic, partition, offset, received)
        if away:
            self.away_from_home += away
            log.debug(
                "%s[%d]@%d: %d event(s) away from home (key %r, %d partitions): not archived here",
                self.topic,
                partition,
                offset,
                away,
                key,
                self.partitions,
            )
        self.rejected += len(rejections)
        self.messages += 1
        self.largest_message = max(self.largest_message, len(events))
        first, _ = self.offsets.get(partition, (offset, offset))
        self.offsets[partition] = (first, offset)

    def token(self) -> str:
        """Same records -> same token, so ClickHouse drops a retried insert of this batch."""
        spans = ",".join(f"{self.topic}:{p}:{a}-{b}" for p, (a, b) in sorted(self.offsets.items()))
        return hashlib.sha256(spans.encode()).hexdigest()

    def commit_offsets(self) -> dict[TopicPartition, int]:
        return {TopicPartition(self.topic, p): last + 1 for p, (_, last) in self.offsets.items()}


class Sink:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings)
        self.stats = Stats()
        self.stop = asyncio.Event()
        self.consumer: AIOKafkaConsumer | None = None
        self.audit = Audit(settings, self.store, lambda: self.stats.lag)
        self.largest_message = MAX_BATCH_EVENTS  # events in the last batch's largest message; the most at first
        self.events_partitions: int | None = None  # learnt from the consumer's metadata on first use
        self.closed_at = time.monotonic()  # when the last batch stopped taking records

    def snapshot(self) -> dict:
        return {**asdict(self.stats), "outages": self.store.outages, "last_error": self.store.last_error}

    async def run(self) -> None:
        from stack import ensure_topics

        s = self.settings
        await asyncio.to_thread(ensure_topics, s)
        self.consumer = AIOKafkaConsumer(
            s.events_topic,
            **aiokafka_options(s, "sink"),
            group_id=f"{s.app_id}-sink",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=1 << 20,  # a larger first batch still arrives whole; 8 MB x partitions cost RSS
            fetch_max_wait_ms=100,  # aiokafka's 500 ms default delays a partition left out of the fetch in flight
        )
        server = api.start(self.store, s.sink_api_port, self.snapshot, self.audit)
        await self._until_up(self.store.connect)
        await self.consumer.start()
        log.info("sink consuming %s (group %s-sink) into %s", s.events_topic, s.app_id, s.clickhouse_dsn)
        audit = asyncio.create_task(self.audit.run(self.stop))
        try:
            while not self.stop.is_set():
                batch = await self._collect()
                started = time.perf_counter()
                if batch.messages and await self._until_up(lambda: self.store.write(batch.columns, batch.token())):
                    self.stats.write_s += time.perf_counter() - started
                    await self._commit(batch)
        finally:
            try:  # leaving the group needs the broker; without it, stopping must not wait for ever
                await asyncio.wait_for(self.consumer.stop(), KAFKA_CALL_TIMEOUT_S)
            except (TimeoutError, asyncio.CancelledError) as exc:  # aiokafka re-raises its fetch task's cancel
                log.warning("the Kafka consumer did not stop cleanly (%r); stopped without leaving the group", exc)
            self.stop.set()
            await audit  # returns once any check in progress has finished
            self.audit.close()
            if server is not None:
                server.should_exit = True
                await asyncio.sleep(0.2)
            self.store.close()
            log.info("sink stopped: %s", self.snapshot())

    async def _collect(self) -> Batch:
        """Records until the batch is full, or sink_flush_s has passed since the last batch closed
        (records fetched during its write have waited since then) and nothing more is buffered."""
        batch = Batch(self.settings.events_topic)
        deadline = self.closed_at + self.settings.sink_flush_s
        while not self.stop.is_set() and len(batch.columns) < self.settings.sink_batch_rows:
            left = deadline - time.monotonic()
            wait = max(left, 0.0) if batch.messages else self.settings.sink_flush_s
            # max_records counts messages, the cap counts rows: assume every message as large as the
            # largest seen (a packed message holds up to 500 events; invalid ones none).
            room = self.settings.sink_batch_rows - len(batch.columns)
            per_message = max(batch.largest_message, self.largest_message, 1)
            records = await self.consumer.getmany(
                timeout_ms=int(wait * 1000), max_records=max(1, min(room // per_message, 10_000))
            )
            if records:  # the consumer has the topic's metadata now
                batch.partitions = self._partition_count()
            for tp, messages in records.items():
                for message in messages:
                    batch.add(tp.partition, message.offset, message.key, message.value, message.timestamp)
            if not records and batch.messages and left <= 0:
                break  # past the deadline, and what was buffered is in the batch
            if not batch.messages:  # idle: a record arriving now waits at most sink_flush_s
                self.closed_at = time.monotonic()
                deadline = self.closed_at + self.settings.sink_flush_s
                await self._measure_lag()
        if batch.messages:
            self.largest_message = batch.largest_message
            self.closed_at = time.monotonic()
        return batch

    def _partition_count(self) -> int:
        """The events topic's partitions as the broker has them (not as the settings would create
        them), learnt once, as the worker learns them (streams.worker.Processor._partition_count)."""
        if self.events_partitions is None:
            self.events_partitions = len(self.consumer.partitions_for_topic(self.settings.events_topic) or ()) or None
        return self.events_partitions or self.settings.topic_partitions

    async def _measure_lag(self) -> None:
        lag = 0
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                self.stats.lag = None
                return
            lag += highwater - await self.consumer.position(tp)
        self.stats.lag = lag if self.consumer.assignment() else None

    async def _until_up(self, write) -> bool:
        """Run a ClickHouse action until it succeeds, backing off; False only when stopping."""
        delay = 0.2
        while True:
            try:
                await asyncio.to_thread(write)
                return True
            except Exception:  # logged by the store once per state change
                if self.stop.is_set():
                    return False
                await self._idle(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    async def _idle(self, seconds: float) -> None:
        """Wait without fetching but while still polling, so the group keeps this member."""
        if self.consumer is None or not self.consumer.assignment():
            await asyncio.wait([asyncio.ensure_future(self.stop.wait())], timeout=seconds)
            return
        self.consumer.pause(*self.consumer.assignment())
        try:
            await self.consumer.getmany(timeout_ms=int(seconds * 1000))
        finally:
            self.consumer.resume(*self.consumer.assignment())

    async def _commit(self, batch: Batch) -> None:
        owned = self.consumer.assignment()
        offsets = {tp: o for tp, o in batch.commit_offsets().items() if tp in owned}
        try:
            if offsets:
                await asyncio.wait_for(self.consumer.commit(offsets), KAFKA_CALL_TIMEOUT_S)
        except (TimeoutError, KafkaError) as exc:  # the next owner re-reads them, the warehouse dedups
            log.warning("offset commit failed (%r); those records will be written again, harmlessly", exc)
        self.stats.messages += batch.messages
        self.stats.events += len(batch.columns)
        self.stats.rejected += batch.rejected
        self.stats.away_from_home += batch.away_from_home
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch.columns))
        await self._measure_lag()


def run(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; a stop finishes the write in progress and commits it."""
    sink = Sink(settings)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, sink.stop.set)
        await sink.run()

    asyncio.run(main())
