"""The Faust worker: validates every message, folds events into locality state, feeds the live view.

Exactness rests on idempotent state and on a position kept with it, not on Kafka's offsets: each
locality's state (streams.state) is a few small records of the `state` table, of which a batch
writes those it changed, and applying an event twice changes nothing; each events partition's next
offset to apply is written into the same table after the state it covers (streams.positions), and
the worker reads from there. The order of a batch's steps (state, snapshots, position, commit) is
streams.checkpoint's; the Processor here does the per-event work: parse, DLQ, reroute, fold.
faust's exactly_once mode is not used: it has open reports of duplicates and crashes, and this
design does not need it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faust
import orjson
from faust.types import TP, EventT
from faust.web import Web

from auth import Guard
from schemas.alerts import Rules, load_rules
from schemas.calendar import Calendar, MonthOf
from schemas.events import Event, Rejection, parse_message
from schemas.metrics import identity
from schemas.names import (
    BATCH_INDEX_HEADER,
    ERROR_HEADER,
    MAX_VALUE_BYTES,
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TOPIC_HEADER,
    alerts_feed_topic,
    alerts_topic,
    periods_topic,
    snapshots_topic,
    webhooks_group,
)
from schemas.registry import registry as localities
from schemas.settings import Settings
from stack import clients as kafka_clients
from stack.adapters.faust import App, acting_for, aiokafka_producer
from stack.partitions import counted_locality
from stack.topics import replication

from .alerts import AlertBoard, AlertOwner, AlertsApi, Deliverer, feed_record, period_record, tick_record
from .alerts.letters import letters_records
from .checkpoint import Checkpoint
from .local_store import close_store, open_store
from .stall import StallWatch
from .state import TABLE, LocalityState, Outcome, Records
from .stats import Consumer, Stats, metrics_registry, render
from .view import SnapshotMirror, install_routes
from .watchdog import request_restart

log = logging.getLogger("p06.worker")
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
# Earlier days a locality's batch may change before its records are written: the locality's record
# carries them all (streams.state: its redo), so a backfill's batch spanning months is written in steps.
# An hourly reporter's day record is up to 22 KB: with 4 days its record reached 66-70 KB in the history
# stage (issue 27's bound is 64), with 2 days 37-38 KB, at the same cost per event (docs/streams.md).
REDO_DAYS = 2


class Processor:
    """One batch of admitted Kafka messages in, the state records it changed and their snapshots out."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        partitions, options = settings.topic_partitions, dict(ROCKSDB_OPTIONS)
        self.table = Records(app.Table(TABLE, default=None, value_type=bytes, partitions=partitions, options=options))
        self.app = app
        self.events_topic = app.topic(settings.events_topic, key_serializer="raw", value_serializer="raw")
        self.dlq_topic = app.topic(settings.dlq_topic, key_serializer="raw", value_serializer="raw")
        self.cache: OrderedDict[str, LocalityState] = OrderedDict()  # least recently used first
        self.settings = settings
        self.events_partitions: int | None = None  # learnt from the broker on first use
        self.stats = Stats()
        self.feed: dict[bytes, list[LocalityState]] = {}  # province -> its changed wards, for its alert owner
        self.province_of = {code: loc.province.encode() for code, loc in localities().localities.items()}
        self.month_of = MonthOf(Calendar(settings.timezone))  # a period's completeness and late arrivals, per ward

    def forget_cache(self) -> None:
        """After a rebalance other workers may have written our keys: read them from the table again."""
        self.cache.clear()

    def take_feed(self) -> list[tuple[bytes, bytes]]:
        """One record per province of the batch's changed wards (one per ward costs the counting path more)."""
        feed, self.feed = self.feed, {}
        return [(province, feed_record(wards)) for province, wards in feed.items()]

    def process(self, batch: Sequence[EventT]) -> dict[int, list[tuple[bytes, bytes]]]:
        """Fold a batch in; return the changed localities' snapshots per source partition."""
        pending: dict[str, list[tuple[Event, EventT]]] = {}
        now = time.time()
        for fe in batch:
            msg = fe.message
            self.stats.messages += 1
            self.stats.positions[(msg.topic, msg.partition)] = msg.offset
            self.stats.read_at[(msg.topic, msg.partition)] = msg.timestamp
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

    def apply(self, locality: str, events: list[tuple[Event, EventT]]) -> bytes | None:
        """Fold a locality's events in and write the records they changed; the locality's snapshot
        if anyone may not have seen it yet, else None."""
        state = self.cache.pop(locality, None)
        loaded = state is None
        if state is None:
            state = LocalityState(locality, self.table.get, self.settings.live_window_days, self.month_of)
        self.cache[locality] = state  # now the most recently used
        changed = False
        for event, fe in events:
            outcome = state.apply(event, int(fe.message.timestamp * 1000))
            self.stats.events_changed += outcome is Outcome.COUNTED
            if outcome is Outcome.CONFLICT:
                self.conflict(event, fe)
            if state.days_changed >= REDO_DAYS:  # a backfill: the locality's record carries these days
                changed |= self._write(state)
        self.stats.events += len(events)
        changed |= self._write(state)
        state.trim()
        if not changed and not loaded:
            return None
        # A locality just read from the table is republished even when nothing changed: a killed
        # worker may have stored an event's state and died before sending its snapshot, and
        # processing that event again changes nothing.
        self.feed.setdefault(self.province_of.get(locality, b"00"), []).append(state)
        return orjson.dumps(state.snapshot())

    def _write(self, state: LocalityState) -> bool:
        """The state's changed records into the table, the locality's first (LocalityState.writes says why)."""
        changed = state.changed
        for key, record in state.writes():
            self.table[key] = record
        return changed

    def _partition_count(self) -> int:
        """The events topic's partitions as the broker has them (not as the settings would create them)."""
        if self.events_partitions is None:
            self.events_partitions = self.app.consumer.topic_partitions(self.events_topic.get_topic_name())
        return self.events_partitions or self.settings.topic_partitions

    def to_dlq(self, rejection: Rejection, fe: EventT) -> None:
        msg = fe.message
        self.stats.dlq += 1
        headers = [
            (ERROR_HEADER, rejection.reason.encode()),
            (SOURCE_TOPIC_HEADER, msg.topic.encode()),
            (SOURCE_PARTITION_HEADER, str(msg.partition).encode()),
            (SOURCE_OFFSET_HEADER, str(msg.offset).encode()),
        ]
        if rejection.index is not None:
            headers.append((BATCH_INDEX_HEADER, str(rejection.index).encode()))
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
    return snapshots_topic(settings.app_id)


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


class WorkerApp(App):
    """The worker's Faust app; its web server serves the live view (`routes`, given by create_app)."""

    routes: Callable[[Web], None] | None = None

    def on_webserver_init(self, web: Web) -> None:  # Faust's public hook, called once the server exists
        if self.routes is not None:
            self.routes(web)

    async def on_stop(self) -> None:
        await super().on_stop()  # Faust's: stops the consumer, flushes the producer (every changelog record sent)
        close_store(Path(self.conf.datadir))  # so the next start may keep the local store (streams.local_store)


def create_app(settings: Settings) -> tuple[faust.App, Processor]:
    worker_dir = (settings.data_dir / f"worker-{settings.worker_web_port}").resolve()
    worker_dir.mkdir(parents=True, exist_ok=True)
    open_store(worker_dir)  # kept after a clean stop only: after a kill the changelog alone is trusted
    app = WorkerApp(
        settings.app_id,
        **faust_options(settings),
        # The topics Faust makes itself (the table's changelog, its assignor's leader topic) replicated as
        # ours (stack.topics); min.insync.replicas and unclean election come from the brokers' defaults.
        topic_replication_factor=replication(settings).factor,
        datadir=str(worker_dir),
        web_enabled=True,
        web_bind=settings.worker_web_host,
        web_host="127.0.0.1",
        web_port=settings.worker_web_port,
    )
    rules = load_rules(settings.alert_rules, [p for p in settings.alert_webhook_allow.split(",") if p])  # refuses first
    processor = Processor(app, settings)
    checkpoint = Checkpoint(app, processor, snapshot_topic(settings), alerts_feed_topic(settings.app_id))
    mirror = SnapshotMirror(kafka_clients.aiokafka_options(settings, "worker"), snapshot_topic(settings))
    _schedule(app, processor.events_topic, checkpoint, mirror, settings)
    guard = Guard.for_service(settings, "worker")
    alerts = _schedule_alerts(app, settings, rules, guard)
    registry = metrics_registry(processor.stats, _consumer_figures(app, checkpoint), guard.record)
    app.routes = lambda web: install_routes(
        web.web_app,
        mirror,
        metrics_text=lambda: render(registry),
        stopping=lambda: app.should_stop,
        silent_after_hours=settings.silent_after_hours,
        lang=settings.lang,
        guard=guard,
        more=alerts.add_routes,
        alerts=alerts.board.seen_by,
    )
    return app, processor


def _schedule(
    app: faust.App, events: faust.TopicT, checkpoint: Checkpoint, mirror: SnapshotMirror, settings: Settings
) -> None:
    """The worker's agent, tasks and timers."""

    @app.agent(events, name="p06.count")
    async def count(stream: faust.Stream) -> None:
        # Reading resumes from the position kept with the state (streams.positions), not from Kafka's offsets.
        async for batch in stream.take_events(settings.worker_batch_size, within=settings.worker_batch_within_s):
            await checkpoint.apply(batch)

    @app.task
    async def mirror_snapshots() -> None:
        await mirror.run()

    @app.timer(interval=1.0)
    async def seek_idle_partitions() -> None:
        await checkpoint.seek_idle_partitions()

    watch = StallWatch(settings.worker_recovery_stall_s)

    @app.timer(interval=5.0)
    async def watch_recovery() -> None:
        recovery = app.tables.recovery
        progress = tuple(sorted(recovery.active_offsets.items()))
        if watch.stalled(recovery.in_recovery, progress, time.monotonic()):
            request_restart(f"table recovery read nothing for {settings.worker_recovery_stall_s:.0f} s")

    @app.on_partitions_revoked.connect
    async def _revoked(app: faust.App, revoked: Any, **kwargs: Any) -> None:
        checkpoint.forget()

    @app.on_partitions_assigned.connect
    async def _assigned(app: faust.App, assigned: Any, **kwargs: Any) -> None:
        stats = checkpoint.processor.stats
        stats.rebalances += 1  # p06_rebalances_total: a looping group pages (ops/prometheus)
        stats.keep_only({(tp.topic, tp.partition) for tp in assigned})
        checkpoint.forget()


def _schedule_alerts(app: faust.App, settings: Settings, rules: Rules, guard: Guard) -> AlertsApi:
    """Each province's alert owner (an agent on the feed topic), its ticks, the board, the webhooks."""
    options = kafka_clients.aiokafka_options(settings, "worker")
    feed = app.topic(alerts_feed_topic(settings.app_id), key_serializer="raw", value_serializer="raw")
    owner = AlertOwner(
        app, feed, alerts_topic(settings.app_id), rules, settings.topic_partitions, ROCKSDB_OPTIONS,
        Calendar(settings.timezone), settings.period_deadline_days,
    )  # fmt: skip
    board = AlertBoard(options, alerts_topic(settings.app_id))
    secret = settings.alert_webhook_secret.get_secret_value().encode() if settings.alert_webhook_secret else b""
    deliverer = Deliverer(
        options, alerts_topic(settings.app_id), webhooks_group(settings.app_id), rules.receivers, secret
    )

    @app.agent(feed, name="p06.alerts")
    async def own(stream: faust.Stream) -> None:
        async for batch in stream.take_events(1000, within=1.0):  # a province written once a second at most
            await owner.apply(batch)

    _forward_to_owners(app, settings, feed)

    @app.timer(interval=settings.alert_tick_s)
    async def tick() -> None:  # silence grows without a record: each owned feed partition is looked at again
        if app.rebalancing:
            return
        for tp in [tp for tp in app.consumer.assignment() if tp.topic == feed.get_topic_name()]:
            await aiokafka_producer(app).send(tp.topic, tick_record(), partition=tp.partition)

    @app.task
    async def alert_board() -> None:
        await board.run()

    @app.task
    async def webhooks() -> None:
        await deliverer.run()

    @app.on_partitions_revoked.connect
    async def _forget(app: faust.App, revoked: Any, **kwargs: Any) -> None:
        owner.forget()

    async def send(province: str, record: bytes) -> object:
        return await feed.send(key=province.encode(), value=record)

    return AlertsApi(board, guard, send)


def _forward_to_owners(app: faust.App, settings: Settings, feed: faust.TopicT) -> None:
    """What other topics tell a province's alert owner, forwarded into its feed under the province's key."""
    dead_letters = app.topic(settings.dlq_topic, key_serializer="raw", value_serializer="raw")

    @app.agent(dead_letters, name="p06.alerts.letters")
    async def letters(stream: faust.Stream) -> None:  # each province's refused records, to its owner
        async for batch in stream.take_events(500, within=1.0):
            for province, record in letters_records(batch, settings.events_topic):
                await feed.send(key=province, value=record)

    periods = app.topic(periods_topic(settings.events_topic), key_serializer="raw", value_serializer="raw")

    @app.agent(periods, name="p06.alerts.periods")
    async def period_actions(stream: faust.Stream) -> None:  # each province's approval actions, to its owner
        async for fe in stream.events():
            delivered = await feed.send(key=fe.key or b"", value=period_record(fe.value))  # keyless: owner ignores
            await delivered  # on the broker before the next is sent: the topic's order is kept


def _consumer_figures(app: faust.App, checkpoint: Checkpoint) -> Consumer:
    """What /metrics asks the consumer: gaps sought over, partitions owned, each partition's end."""
    events = checkpoint.events_topic
    return Consumer(
        position_gaps=lambda: checkpoint.positions.gaps,
        assigned_partitions=lambda: sum(tp.topic == events for tp in app.consumer.assignment()),
        highwater=lambda topic, partition: app.consumer.highwater(TP(topic, partition)),
    )
