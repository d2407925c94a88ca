"""The Faust worker: validates every message, folds events into locality state, feeds the live view.

Exactness rests on idempotent state and on a position kept with it, not on Kafka's offsets: each
locality's state (streams.state) is a few small records of the `state` table, of which a batch
writes those it changed, and applying an event twice changes nothing; each events partition's next
offset to apply is written into the same table after the state it covers (streams.positions), and
the worker reads from there.
faust's exactly_once mode is not used: it has open reports of duplicates and crashes, and this
design does not need it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import faust
import orjson
from faust.streams import _current_event  # the only handle to the partition a table write goes to
from faust.types import EventT

from auth.accounts import Accounts
from schemas.events import Event, Rejection, parse_message
from schemas.metrics import identity
from schemas.settings import Settings
from stack import clients as kafka_clients
from stack.partitions import counted_locality

from .positions import Positions, Verdict, position_key
from .state import TABLE, LocalityState, Outcome
from .stats import Stats, prometheus_text
from .transport import App
from .view import SnapshotMirror, install_routes
from .watchdog import RecoveryWatch, request_restart

log = logging.getLogger("p06.worker")
MAX_VALUE_BYTES = 5_242_880  # the broker's limit; oversized input must still reach the DLQ
# Per partition and fetch. Not MAX_VALUE_BYTES: Kafka returns a first record batch larger than this
# anyway, so a 5 MB message still arrives, while 8 partitions x 5 MB of decompressed buffers cost the
# worker about 85 MB of RSS (tracemalloc: aiokafka's fetcher).
FETCH_BYTES_PER_PARTITION = 1 << 20
# Faust opens one RocksDB per partition with 64 MB write buffers (up to 3) and a 2 GB block cache
# each; our state is read once per locality and then served from memory, so small buffers suffice.
# Messages Faust may hold fetched but unprocessed (its default is 4,096). A packed message holds up to
# 500 events (~100 KB); with 1,024 the year of the history stage drained with 60 MB less RSS, at
# the same rate (packed drain A/B, 2026-11-27).
STREAM_BUFFER_MESSAGES = 1024
ROCKSDB_OPTIONS = {"write_buffer_size": 4 << 20, "max_write_buffer_number": 2, "block_cache_size": 8 << 20}


@contextmanager
def acting_for(event: EventT) -> Iterator[None]:
    """Make `event` the current one, so a table write goes to its partition's store and changelog.

    Faust knows which partition a write belongs to only from the current event; inside a batch
    there is none, hence the trap "Cannot modify table key from outside of stream iteration".
    """
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class Processor:
    """One batch of Kafka messages in, the state records it changed out."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.table = app.Table(TABLE, default=None, partitions=settings.topic_partitions, options=dict(ROCKSDB_OPTIONS))
        self.app = app
        self.snapshot_topic_name = snapshot_topic(settings)
        self.snapshot_partitions: int | None = None  # learnt on the first send
        self.mirror = SnapshotMirror(kafka_clients.aiokafka_options(settings, "worker"), self.snapshot_topic_name)
        self.events_topic = app.topic(settings.events_topic, key_serializer="raw", value_serializer="raw")
        self.dlq_topic = app.topic(settings.dlq_topic, key_serializer="raw", value_serializer="raw")
        self.cache: OrderedDict[str, LocalityState] = OrderedDict()  # least recently used first
        self.positions = Positions()
        self.settings = settings
        self.events_partitions: int | None = None  # learnt from the broker on first use
        self.stats = Stats()

    def forget_cache(self) -> None:
        """After a rebalance other workers may have written our keys: read them from the table again."""
        self.cache.clear()
        self.positions.forget()

    async def handle(self, batch: Sequence[EventT]) -> None:
        """One batch: admit each record against its partition's position, fold the admitted ones in,
        send the changed snapshots, then write the positions after the state and snapshots they cover."""
        generation = self.app.consumer_generation_id
        current = [fe for fe in batch if fe.message.generation_id == generation]
        # Fetched before a rebalance: the partition may be another worker's now, and writing its state
        # here would race the owner. If it is still ours, the position makes us read it again.
        self.stats.stale += len(batch) - len(current)
        await self._start_positions(current)
        admitted, gaps = [], {}
        now = time.monotonic()
        for fe in current:
            verdict = self.positions.admit(fe.message.partition, fe.message.offset, now)
            if verdict is Verdict.APPLY:
                admitted.append(fe)
            elif verdict is Verdict.SEEK:
                gaps[fe.message.tp] = fe.message.offset
        for tp, offset in gaps.items():
            await self._seek_back(tp, offset)
        await self.publish_snapshots(self.process(admitted))
        last_of: dict[int, EventT] = {fe.message.partition: fe for fe in admitted}
        for partition, fe in last_of.items():
            with acting_for(fe):  # the changelog partition of the state it covers, after that state
                self.table[position_key(partition)] = self.positions.next[partition]

    async def seek_idle_partitions(self) -> None:
        """Seek back any owned partition whose log goes past its position while nothing arrives:
        the committed offset Faust started from may be ahead of the state."""
        if self.app.rebalancing:
            return  # the table may not be restored yet
        topic = self.events_topic.get_topic_name()
        for tp in [tp for tp in self.app.consumer.assignment() if tp.topic == topic]:
            if not self.positions.known(tp.partition):
                await self._load_position(tp)
            try:
                highwater = self.app.consumer.highwater(tp)
            except Exception:  # revoked meanwhile: nothing to catch up on here
                continue
            if self.positions.idle(tp.partition, highwater, time.monotonic()):
                await self._seek_back(tp, None)

    async def _start_positions(self, batch: Sequence[EventT]) -> None:
        for tp in {fe.message.tp for fe in batch if not self.positions.known(fe.message.partition)}:
            await self._load_position(tp)

    async def _load_position(self, tp: Any) -> None:
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

    def process(self, batch: Sequence[EventT]) -> dict[int, list[tuple[bytes, bytes]]]:
        """Fold a batch in; return the changed localities' snapshots per source partition."""
        pending: dict[str, list[tuple[Event, EventT]]] = {}
        now = time.time()
        for fe in batch:
            msg = fe.message
            self.stats.messages += 1
            self.stats.positions[(msg.topic, msg.partition)] = msg.offset
            self.stats.latencies_s.append(max(0.0, now - msg.timestamp))
            valid, rejected = parse_message(fe.value, msg.timestamp)  # judged as the sink judges it
            for rejection in rejected:
                self.to_dlq(rejection, fe)
            home = counted_locality(msg.key, msg.partition, self._partition_count())
            for event in valid:
                if event.locality != home:
                    self.reroute(event)  # counted in its own partition, by the one worker that owns it
                    continue
                pending.setdefault(event.locality, []).append((event, fe))
        changed: dict[int, list[tuple[bytes, bytes]]] = {}
        for locality, events in pending.items():
            carrier = events[-1][1]  # any of the locality's own messages: they share its partition
            with acting_for(carrier):
                snapshot = self.apply(locality, events)
            if snapshot is not None:
                changed.setdefault(carrier.message.partition, []).append((locality.encode(), snapshot))
        while len(self.cache) > self.settings.worker_cache_localities:
            self.cache.popitem(last=False)  # written already: read from the table when it reports again
        self.stats.batches += 1
        return changed

    async def publish_snapshots(self, changed: dict[int, list[tuple[bytes, bytes]]]) -> None:
        """Send the changed snapshots, packed per partition (one record per locality costs far more),
        and wait until the broker has them: the batch's position is written only after, so that
        events the position covers never lack their snapshot."""
        producer = self.app.producer._ensure_producer()
        if self.snapshot_partitions is None:
            # The snapshot topic may have fewer partitions than the events topic; any partition will do.
            self.snapshot_partitions = len(await producer.partitions_for(self.snapshot_topic_name))
        delivered = []
        for source_partition, records in changed.items():
            partition = source_partition % self.snapshot_partitions
            batch = producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:  # full: send, start another
                    delivered.append(await producer.send_batch(batch, self.snapshot_topic_name, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            delivered.append(await producer.send_batch(batch, self.snapshot_topic_name, partition=partition))
        await asyncio.gather(*delivered)

    def apply(self, locality: str, events: list[tuple[Event, EventT]]) -> bytes | None:
        """Fold a locality's events in and write the records they changed; the locality's snapshot
        if anyone may not have seen it yet, else None."""
        state = self.cache.pop(locality, None)
        loaded = state is None
        if loaded:
            state = LocalityState(locality, self.table.get, self.settings.live_window_days)
        self.cache[locality] = state  # now the most recently used
        for event, fe in events:
            outcome = state.apply(event, int(fe.message.timestamp * 1000))
            self.stats.events_changed += outcome is Outcome.COUNTED
            if outcome is Outcome.CONFLICT:
                self.conflict(event, fe)
        self.stats.events += len(events)
        changed = state.changed
        for key, record in state.writes():
            self.table[key] = record
        state.trim()
        if not changed and not loaded:
            return None
        # A locality just read from the table is republished even when nothing changed: a killed
        # worker may have stored an event's state and died before sending its snapshot, and
        # processing that event again changes nothing.
        return orjson.dumps(state.snapshot())

    def _partition_count(self) -> int:
        """The events topic's partitions as the broker has them (not as the settings would create them)."""
        if self.events_partitions is None:
            self.events_partitions = self.app.consumer.topic_partitions(self.events_topic.get_topic_name())
        return self.events_partitions or self.settings.topic_partitions

    def to_dlq(self, rejection: Rejection, fe: EventT) -> None:
        msg = fe.message
        self.stats.dlq += 1
        headers = [
            ("p06-error", rejection.reason.encode()),
            ("p06-source-topic", msg.topic.encode()),
            ("p06-source-partition", str(msg.partition).encode()),
            ("p06-source-offset", str(msg.offset).encode()),
        ]
        if rejection.index is not None:
            headers.append(("p06-batch-index", str(rejection.index).encode()))
        self.dlq_topic.send_soon(key=msg.key, value=rejection.raw, headers=headers)

    def conflict(self, event: Event, fe: EventT) -> None:
        """A copy of an event already counted, with other content: the first copy stays counted."""
        self.stats.conflicts += 1
        event_id, day = identity(event)
        reason = (
            f"event_id: {event_id!r} of {day} was received before with other content; "
            "the first copy counts (send a correction under a new event_id)"
        )
        self.to_dlq(Rejection(None, reason, event.to_json()), fe)

    def reroute(self, event: Event) -> None:
        """An event keyed under another locality, or in a partition other than its locality's
        (a sender with another partitioner: stack.partitions), goes back to the topic under its own
        key, which Faust's producer partitions as the contract says.

        One locality's state must live in one partition, so that exactly one worker writes it.
        """
        self.stats.rerouted += 1
        self.events_topic.send_soon(key=event.locality.encode(), value=event.to_json())


def snapshot_topic(settings: Settings) -> str:
    return f"{settings.app_id}.snapshots"


def faust_options(settings: Settings) -> dict[str, Any]:
    """The Faust settings of the worker; the benchmark's bare agent runs on the very same."""
    return dict(
        **kafka_clients.faust_options(settings, "worker"),
        store="rocksdb://",
        topic_partitions=settings.topic_partitions,
        consumer_auto_offset_reset="earliest",
        producer_max_request_size=MAX_VALUE_BYTES,
        consumer_max_fetch_size=FETCH_BYTES_PER_PARTITION,
        stream_buffer_maxsize=STREAM_BUFFER_MESSAGES,
        broker_commit_interval=settings.worker_commit_interval_s,
        broker_session_timeout=settings.worker_session_timeout_s,
        stream_recovery_delay=0.0,
        table_standby_replicas=0,
    )


def create_app(settings: Settings) -> tuple[faust.App, Processor]:
    worker_dir = (settings.data_dir / f"worker-{settings.worker_web_port}").resolve()
    worker_dir.mkdir(parents=True, exist_ok=True)
    app = App(
        settings.app_id,
        **faust_options(settings),
        datadir=str(worker_dir),
        web_enabled=True,
        web_bind=settings.worker_web_host,
        web_host="127.0.0.1",
        web_port=settings.worker_web_port,
    )
    processor = Processor(app, settings)

    @app.agent(processor.events_topic, name="p06.count")
    async def count(stream: faust.Stream) -> None:
        # Reading resumes from the position kept with the state (streams.positions), not from Kafka's offsets.
        async for batch in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_within_s):
            await processor.handle(batch)

    @app.task
    async def mirror_snapshots() -> None:
        await processor.mirror.run()

    @app.timer(interval=1.0)
    async def seek_idle_partitions() -> None:
        await processor.seek_idle_partitions()

    watch = RecoveryWatch(settings.worker_recovery_stall_s)

    @app.timer(interval=5.0)
    async def watch_recovery() -> None:
        recovery = app.tables.recovery
        progress = tuple(sorted(recovery.active_offsets.items()))
        if watch.stalled(recovery.in_recovery, progress, time.monotonic()):
            request_restart(f"table recovery read nothing for {settings.worker_recovery_stall_s:.0f} s")

    @app.on_partitions_revoked.connect
    async def _revoked(app: faust.App, revoked: Any, **kwargs: Any) -> None:
        processor.forget_cache()

    @app.on_partitions_assigned.connect
    async def _assigned(app: faust.App, assigned: Any, **kwargs: Any) -> None:
        processor.forget_cache()

    app.on_webserver_init = lambda web: install_routes(  # type: ignore[method-assign]
        web.web_app,
        processor.mirror,
        metrics_text=lambda: prometheus_text(app, processor),
        stopping=lambda: app.should_stop,
        silent_after_hours=settings.silent_after_hours,
        lang=settings.lang,
        accounts=Accounts(settings.accounts_folder),
        session_hours=settings.session_hours,
    )
    return app, processor
