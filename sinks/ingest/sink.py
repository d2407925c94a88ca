"""`p06 sink`: Kafka events -> ClickHouse archive and rollups, committed only after ClickHouse accepted.

aiokafka rather than kafka-python: on this kind of machine its consumer decodes JSON at ~130k msg/s
against ~23k (76k with crc32c) for kafka-python, and the sink is the one consumer of every event.
Delivery is at least once; exactness comes from the order of the writes and the warehouse's tables (dedup
token, FINAL, rewrites): the protocol, step by step, is sinks/ingest/checkpoint.py. This module runs it:
the consumer, the batches it collects, lag, backoff while ClickHouse is down, and a clean stop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import asdict

from aiokafka import AIOKafkaConsumer

from schemas.events import MAX_BATCH_EVENTS
from schemas.names import sink_group
from schemas.settings import Settings
from sinks.checks.audit import Audit
from sinks.ingest.batch import Batch
from sinks.ingest.checkpoint import KAFKA_CALL_TIMEOUT_S, Checkpoint
from sinks.ingest.stats import Stats
from sinks.periods import PeriodDesk, Writer
from sinks.warehouse.store import Store
from sinks.web import api
from stack.clients import aiokafka_options

log = logging.getLogger("p06.sink")
MAX_BACKOFF_S = 10.0


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
        return {
            **asdict(self.stats),
            "lag_seconds": self.stats.lag_seconds(time.time()),
            "outages": self.store.outages,
            "last_error": self.store.last_error,
        }

    async def run(self) -> None:
        from stack import ensure_topics

        s = self.settings
        await asyncio.to_thread(ensure_topics, s)
        self.consumer = AIOKafkaConsumer(
            s.events_topic,
            **aiokafka_options(s, "sink"),
            group_id=sink_group(s.app_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=1 << 20,  # a larger first batch still arrives whole; 8 MB x partitions cost RSS
            fetch_max_wait_ms=100,  # aiokafka's 500 ms default delays a partition left out of the fetch in flight
        )
        desk = PeriodDesk(s, self.store)
        server = api.start(self.store, s.sink_api_port, self.snapshot, self.audit, periods=desk, host=s.sink_api_host)
        await self._until_up(self.store.connect)
        await self.consumer.start()
        periods = asyncio.create_task(Writer(s, self.store).run(self.stop))  # the one writer of period actions
        log.info("sink consuming %s (group %s-sink) into %s", s.events_topic, s.app_id, s.clickhouse_dsn)
        audit = asyncio.create_task(self.audit.run(self.stop))
        checkpoint = Checkpoint(self.store, self.consumer, self.stats, self._until_up)
        try:
            while not self.stop.is_set():
                batch = await self._collect()  # step 1 of the protocol (sinks/ingest/checkpoint.py)
                if batch.messages and await checkpoint.save(batch):  # steps 2-9
                    await self._measure_lag()
        finally:
            try:  # leaving the group needs the broker; without it, stopping must not wait for ever
                await asyncio.wait_for(self.consumer.stop(), KAFKA_CALL_TIMEOUT_S)
            except (TimeoutError, asyncio.CancelledError) as exc:  # aiokafka re-raises its fetch task's cancel
                log.warning("the Kafka consumer did not stop cleanly (%r); stopped without leaving the group", exc)
            self.stop.set()
            await audit  # returns once any check in progress has finished
            await _finished(periods)
            await desk.close()
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
            records = await self._consumer().getmany(
                timeout_ms=int(wait * 1000), max_records=max(1, min(room // per_message, 10_000))
            )
            if records:  # the consumer has the topic's metadata now
                batch.partitions = self._partition_count()
            for tp, messages in records.items():
                for message in messages:
                    batch.add(
                        tp.partition, message.offset, message.key, message.value, message.timestamp, message.headers
                    )
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

    def _consumer(self) -> AIOKafkaConsumer:
        assert self.consumer is not None, "run() starts the consumer before any batch"
        return self.consumer

    def _partition_count(self) -> int:
        """The events topic's partitions as the broker has them (not as the settings would create
        them), learnt once, as the worker learns them (streams.worker.Processor._partition_count)."""
        if self.events_partitions is None:
            known = self._consumer().partitions_for_topic(self.settings.events_topic)
            self.events_partitions = len(known or ()) or None
        return self.events_partitions or self.settings.topic_partitions

    async def _measure_lag(self) -> None:
        consumer, lag = self._consumer(), 0
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                self.stats.lag = None
                return
            lag += highwater - await consumer.position(tp)
        self.stats.lag = lag if consumer.assignment() else None

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
            await self._measure_lag()  # still falling behind while ClickHouse is down: /metrics says so
        finally:
            self.consumer.resume(*self.consumer.assignment())


async def _finished(task: asyncio.Task) -> None:
    """Wait for a side task that saw the stop; its failure is logged, never raised over the sink's own."""
    try:
        await asyncio.wait_for(task, KAFKA_CALL_TIMEOUT_S)
    except Exception as exc:
        log.warning("period actions' writer stopped with %r", exc)


def run(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; a stop finishes the write in progress and commits it."""
    sink = Sink(settings)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, sink.stop.set)
        await sink.run()

    asyncio.run(main())
