"""Admission: each province's ingestion topic onto the events topic, that province's events only.

A province's Kafka credentials can write only its own ingestion topic (`schemas.names`). This stage
reads every ingestion topic and judges each event by the contract, as the worker will: an event whose
locality lies in the topic's province goes on to the events topic under its locality's key, with the
record's own timestamp (so every later reader judges the same bytes alike); any other event goes to
the dead-letter topic with the reason. A record whose events all pass goes on byte for byte.

Consumed offsets are committed only after the events topic and the DLQ acknowledged what the records
became (acks=all). A stage that dies before its commit moves the same records again after a restart;
that is harmless, since the worker and the sink count an event_id once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import TopicPartition

from schemas import Rejection, encode_batch, parse_message
from schemas.names import (
    BATCH_INDEX_HEADER,
    ERROR_HEADER,
    MAX_VALUE_BYTES,
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TOPIC_HEADER,
    admission_group,
    ingestion_pattern,
    province_of_topic,
)
from schemas.settings import Settings
from stack.clients import kafka_python_options

from .stall import StallWatch

log = logging.getLogger("p06.admission")
STALL_CHECK_EVERY_S = 5.0
OFFSETS_TIMEOUT_MS = 10_000
# how long a stop waits for the stage's clients to close: within the grace `p06 up` gives a process after
# SIGTERM (streams.cli.STOP_GRACE_S, 15 s) and compose's default (10 s)
CLOSE_WAIT_S = 8.0
PRODUCER_OPTIONS = dict(
    acks="all", enable_idempotence=True, compression_type="lz4", linger_ms=2, max_request_size=MAX_VALUE_BYTES
)


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes
    timestamp_ms: int
    headers: list[tuple[str, bytes]]
    events: int = 1


def judge(record: ConsumerRecord, events_topic: str, dlq_topic: str) -> list[Outgoing]:
    """What one ingestion record becomes: its province's events onward, everything else to the DLQ."""
    province = province_of_topic(events_topic, record.topic)
    events, rejections = parse_message(record.value, record.timestamp / 1000)
    admitted = []
    for event in events:
        if event.province == province:
            admitted.append(event)
        else:
            reason = (
                f"locality: {event.named_locality} is in province {event.province}, not {province}: "
                f"{record.topic} carries province {province}'s events only"
            )
            rejections.append(Rejection(None, reason, event.to_json()))
    source = [
        (SOURCE_TOPIC_HEADER, record.topic.encode()),
        (SOURCE_PARTITION_HEADER, str(record.partition).encode()),
        (SOURCE_OFFSET_HEADER, str(record.offset).encode()),
    ]
    out = [
        Outgoing(
            dlq_topic,
            record.key,
            r.raw,
            record.timestamp,
            [
                (ERROR_HEADER, r.reason.encode()),
                *source,
                *([(BATCH_INDEX_HEADER, str(r.index).encode())] if r.index is not None else []),
            ],
        )
        for r in rejections
    ]
    if admitted:
        whole = not rejections  # untouched: on byte for byte under the sender's key
        value = record.value if whole else encode_batch(admitted)
        key = record.key if whole and record.key else admitted[0].locality.encode()
        sender = [(SOURCE_TOPIC_HEADER, record.topic.encode())]  # the archive keeps who sent them (sent_via)
        out.append(Outgoing(events_topic, key, value, record.timestamp, sender, len(admitted)))
    return out


class Stalled(KafkaError):
    """Records wait on an owned partition and none moved for P06_ADMISSION_STALL_S: the client is stuck."""


class StallCheck(threading.Thread):
    """Sets `stalled` when records wait on the partitions the stage owns and its group's committed offsets
    stay put for P06_ADMISSION_STALL_S.

    kafka-python's consumer can loop without fetching once its group coordinator's node stopped (its issues
    2667, 2672; seen in the cluster drills: 6 minutes, through three restarts). This check asks with a client
    of its own, which finds the coordinator afresh, on a thread of its own: the stage's loop only reads the
    flag, so neither it nor its stop ever waits on an offset query to a broker that is gone."""

    def __init__(self, settings: Settings, options: dict, owned: Callable[[], frozenset[TopicPartition]]) -> None:
        super().__init__(name="admission-stall-check", daemon=True)
        self.group, self.options, self.owned = admission_group(settings.app_id), options, owned
        self.watch = StallWatch(settings.admission_stall_s)
        self.stalled = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        client: KafkaConsumer | None = None
        while not self.done.wait(STALL_CHECK_EVERY_S):
            try:
                client = client or KafkaConsumer(group_id=self.group, enable_auto_commit=False, **self.options)
                if self._stalled(client):
                    self.stalled.set()
                    break
            except KafkaError as exc:  # a broker away: ask again with a new client next time
                log.info("admission: stall check: %s", exc)
                client = self._close(client)
        self._close(client)

    def _stalled(self, client: KafkaConsumer) -> bool:
        owned = sorted(self.owned())
        ends = client.end_offsets(owned, timeout_ms=OFFSETS_TIMEOUT_MS) if owned else {}
        committed = {tp: client.committed(tp, timeout_ms=OFFSETS_TIMEOUT_MS) for tp in ends}
        never = [tp for tp, offset in committed.items() if offset is None]
        committed |= client.beginning_offsets(never, timeout_ms=OFFSETS_TIMEOUT_MS) if never else {}
        waiting = any(end > committed[tp] for tp, end in ends.items())
        return self.watch.stalled(waiting, tuple(sorted(committed.items())), time.monotonic())

    @staticmethod
    def _close(client: KafkaConsumer | None) -> None:
        if client is not None:
            client.close(autocommit=False)


class Admission:
    """The stage's loop: read a batch of ingestion records, write what they become, then commit."""

    def __init__(
        self,
        settings: Settings,
        client_options: dict | None = None,
        consumer_class: Callable[..., KafkaConsumer] = KafkaConsumer,
    ) -> None:
        self.settings = settings
        self.options = client_options or kafka_python_options(settings, "admission")
        self.consumer_class = consumer_class  # the tests give one that stops moving records
        self.restarts = 0
        self.admitted = self.rejected = 0
        self.read: dict[tuple[str, int], tuple[int, float]] = {}  # (topic, partition) -> last offset, its timestamp
        self.waiting: dict[tuple[str, int], int] = {}  # records behind it, per owned partition: /metrics
        self.owned: frozenset[TopicPartition] = frozenset()  # the partitions the group gave it: StallCheck

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._run(stop)
            except KafkaError as exc:  # the broker went away, or the client is stuck (Stalled): start again
                self.restarts += 1
                log.warning("admission: %s; starting again from the committed offsets in 2 s", exc)
                stop.wait(2)

    def _run(self, stop: threading.Event) -> None:
        s = self.settings
        consumer = self.consumer_class(
            group_id=admission_group(s.app_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=20,
            max_poll_records=s.admission_batch,
            metadata_max_age_ms=30_000,
            **self.options,
        )
        producer = KafkaProducer(**PRODUCER_OPTIONS, **self.options)
        consumer.subscribe(pattern=ingestion_pattern(s.events_topic))
        check = StallCheck(s, self.options, lambda: self.owned)
        check.start()
        try:
            while not stop.is_set():
                if check.stalled.is_set():
                    raise Stalled(f"records wait and none moved for {s.admission_stall_s:.0f} s: P06_ADMISSION_STALL_S")
                polled = consumer.poll(timeout_ms=200)
                self._note(consumer, polled)
                if not polled:
                    continue
                outgoing = [
                    o for records in polled.values() for r in records for o in judge(r, s.events_topic, s.dlq_topic)
                ]
                futures = [
                    producer.send(o.topic, key=o.key, value=o.value, timestamp_ms=o.timestamp_ms, headers=o.headers)
                    for o in outgoing
                ]
                producer.flush()
                for f in futures:
                    f.get(timeout=0)  # raises the send's error: nothing is committed past a failed write
                self._count(outgoing)
                try:
                    consumer.commit()
                except CommitFailedError as exc:  # the group moved on: the new owner moves them again
                    log.warning("admission: commit refused (%s); these records will be moved again", exc)
        finally:
            check.done.set()  # not joined: a check waiting on a broker that is gone never holds up a stop
            producer.close(timeout=10)
            consumer.close()

    def _note(self, consumer: KafkaConsumer, polled: dict) -> None:
        """Where each owned partition stands: the last record read and how many wait behind it."""
        self.owned = frozenset(consumer.assignment())
        owned = {(tp.topic, tp.partition): tp for tp in self.owned}
        # a partition another member moved meanwhile would look behind: forget those no longer owned
        read = {key: at for key, at in self.read.items() if key in owned}
        for tp, records in polled.items():
            read[(tp.topic, tp.partition)] = (records[-1].offset, records[-1].timestamp / 1000)
        waiting = {}
        for key, (offset, _) in read.items():
            highwater = consumer.highwater(owned[key]) if key in owned else None
            if highwater is not None:
                waiting[key] = max(0, highwater - offset - 1)
        self.read, self.waiting = read, waiting  # swapped whole: the scrape thread reads them

    def _count(self, outgoing: list[Outgoing]) -> None:
        for o in outgoing:
            if o.topic == self.settings.dlq_topic:
                self.rejected += o.events
            else:
                self.admitted += o.events


def run_until_stopped(settings: Settings) -> None:
    """`p06 admission`: run until SIGTERM or Ctrl-C, logging the totals now and then."""
    import signal

    from .admission_metrics import admission_registry, serve_metrics

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stage = Admission(settings)
    serve_metrics(settings, admission_registry(stage))
    # a daemon: its clients' close may wait on a broker that is gone (`p06 up` after `p06 stack down`); the
    # exit does not wait for it past CLOSE_WAIT_S, and what it moved since its last commit moves again
    worker = threading.Thread(target=stage.run, args=(stop,), name="admission", daemon=True)
    worker.start()
    logged = time.monotonic()
    while worker.is_alive() and not stop.is_set():
        worker.join(timeout=0.5)
        if time.monotonic() - logged >= 60:
            _log_totals(stage, settings)
            logged = time.monotonic()
    worker.join(timeout=CLOSE_WAIT_S)
    if worker.is_alive():
        log.warning("admission: its Kafka clients did not close in %.0f s (is the broker away?); exiting", CLOSE_WAIT_S)
    _log_totals(stage, settings)


def _log_totals(stage: Admission, settings: Settings) -> None:
    log.info(
        "admission: %d events on to %s, %d to %s",
        stage.admitted,
        settings.events_topic,
        stage.rejected,
        settings.dlq_topic,
    )
