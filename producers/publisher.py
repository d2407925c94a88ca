"""Publisher: validate events against the contract, pack them per locality, deliver or spool them.

An event is *accepted* once `publish` returns it as accepted: then it is either acknowledged by every
in-sync replica (acks=all) or written and fsync'd to the local spool. Spooled messages go out first,
in order, at the next publish that finds the broker back, or at `drain()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from kafka import KafkaProducer
from kafka.errors import (
    AuthorizationError,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    SaslAuthenticationFailedError,
    UnknownTopicOrPartitionError,
)

from schemas import EVENT_TYPES, Event, InvalidEvent, Rejection, parse_event_json, validate_event
from schemas.events import MAX_MESSAGE_BYTES
from schemas.names import ingestion_topic
from schemas.settings import Settings
from schemas.settings import settings as default_settings
from stack.adapters.kafka_python import close_now
from stack.clients import kafka_python_options, principal_for, secured

from .spool import Message, Spool

COMPRESSION = "lz4"  # the lz4 package is a wheel; kafka-python's zstd needs `zstandard`, snappy a C library
# How every message leaves: the benchmark's raw-produce baseline uses the same options.
PRODUCER_OPTIONS = dict(
    acks="all",
    enable_idempotence=True,
    compression_type=COMPRESSION,
    linger_ms=5,
    batch_size=256 * 1024,
    max_request_size=2 * 1024 * 1024,
)
Item = Event | dict[str, Any] | str | bytes
Wire = tuple[str, bytes]  # a valid event as it is sent: its locality (the message key) and its JSON
_MODELS = tuple(EVENT_TYPES.values())
# The broker answered, and said no: retrying will not help until an operator acts (a grant, the topic,
# the size). Not an outage, so callers must not report success; the events still wait in the spool.
REFUSALS = (
    AuthorizationError,
    SaslAuthenticationFailedError,
    UnknownTopicOrPartitionError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)


@dataclass(frozen=True)
class PublishResult:
    """What happened to one publish call. Rejections carry the index of the item in the call."""

    accepted: int = 0
    delivered: int = 0  # accepted events the broker acknowledged
    spooled: int = 0  # accepted events kept on disk for later delivery
    drained: int = 0  # earlier spooled events delivered during this call
    rejections: list[Rejection] = field(default_factory=list)
    error: str | None = None  # why delivery failed, when something was spooled
    refused: str | None = None  # the broker refused the events (REFUSALS): who, which topic, why


@dataclass(frozen=True)
class _Delivery:
    failed: list[Message]  # in the order given
    error: str | None
    refused: str | None = None


def validate_items(items: Iterable[Item], province: str = "") -> tuple[list[Event], list[Rejection]]:
    """Judge each item on its own: events in order, and a rejection per invalid item. With a province,
    an event of another province's locality is invalid too (its ingestion topic would refuse it)."""
    return _judge(items, province, _event)


def accept(items: Iterable[Item], province: str = "") -> tuple[list[Wire], list[Rejection]]:
    """validate_items, keeping of each valid event only what is sent: its locality and its JSON."""
    return _judge(items, province, _wire)


def _judge[T](
    items: Iterable[Item], province: str, keep: Callable[[Item, Event], T]
) -> tuple[list[T], list[Rejection]]:
    kept: list[T] = []
    rejections: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            event = _validate(item)
            if province and event.province != province:
                raise InvalidEvent(
                    f"locality: {event.named_locality} is in province {event.province}; "
                    f"this sender publishes for province {province} only"
                )
            kept.append(keep(item, event))
        except InvalidEvent as exc:
            rejections.append(Rejection(index, str(exc), _raw(item)))
    return kept, rejections


def _event(item: Item, event: Event) -> Event:
    return event


def _wire(item: Item, event: Event) -> Wire:
    """JSON text is sent as the sender wrote it: it was just validated, and serialising the event again
    cost the publisher a sixth of its time (docs/profiles.md). A newline inside one would break the
    spool's one line per message, so such text (never a file's line) is sent as the event's own JSON."""
    raw = item.encode() if isinstance(item, str) else item
    if isinstance(raw, bytes) and b"\n" not in raw:
        return event.locality, raw
    return event.locality, event.to_json()


def _raw(item: Item) -> bytes:
    if isinstance(item, (bytes, str)):
        return item if isinstance(item, bytes) else item.encode()
    return item.to_json() if isinstance(item, _MODELS) else orjson.dumps(item)  # type: ignore[union-attr]


def _validate(item: Item) -> Event:
    if isinstance(item, _MODELS):
        return item  # type: ignore[return-value]
    if isinstance(item, (bytes, str)):
        return parse_event_json(item)
    return validate_event(item)


def pack(valid: Sequence[Wire], batch_size: int) -> list[Message]:
    """Batches of up to batch_size events per locality, each locality's events in accepted order, and
    none over MAX_MESSAGE_BYTES (a line as sent may be padded with spaces)."""
    by_locality: dict[str, list[bytes]] = {}
    for locality, wire in valid:
        by_locality.setdefault(locality, []).append(wire)
    return [m for locality, wires in by_locality.items() for m in _batches(locality, wires, batch_size)]


def _batches(locality: str, wires: list[bytes], batch_size: int) -> Iterator[Message]:
    batch: list[bytes] = []
    size = 2  # the brackets
    for wire in wires:
        if batch and (len(batch) == batch_size or size + len(wire) + 1 > MAX_MESSAGE_BYTES):
            yield _message(locality, batch)
            batch, size = [], 2
        batch.append(wire)
        size += len(wire) + 1
    if batch:
        yield _message(locality, batch)


def _message(locality: str, wires: list[bytes]) -> Message:
    """One event alone as its object, more as an array: the two shapes the contract reads."""
    return Message(locality, wires[0] if len(wires) == 1 else b"[" + b",".join(wires) + b"]", len(wires))


class Publisher:
    """Publishes events to the events topic, or a province's senders to that province's ingestion topic
    (P06_PUBLISH_PROVINCE); thread-safe; use as a context manager or close()."""

    def __init__(
        self,
        settings: Settings | None = None,
        batch_size: int | None = None,
        province: str | None = None,
        role: str | None = None,
    ) -> None:
        self.settings = settings or default_settings()
        self.province = self.settings.publish_province if province is None else province
        # Kafka principal (stack.clients): the province's own sender, or the national one.
        self.role = role or (f"province-{self.province}" if self.province else "national")
        self.topic = (
            ingestion_topic(self.settings.events_topic, self.province) if self.province else self.settings.events_topic
        )
        self.batch_size = batch_size or self.settings.batch_size
        if not 1 <= self.batch_size <= 500:
            raise ValueError(f"batch_size must be 1 to 500, got {self.batch_size}")
        self.spool = Spool(self.settings.data_dir / "spool" / self.topic)
        self._timeout_s = self.settings.publish_timeout_s
        self._producer: KafkaProducer | None = None
        self._retry_at = 0.0  # after a failed delivery, spool without waiting until then
        self._refused: str | None = None  # the last failed delivery's refusal, until one succeeds
        self._lock = threading.Lock()

    def publish(self, items: Iterable[Item]) -> PublishResult:
        """Validate, then deliver or spool every valid item; invalid ones come back as rejections."""
        valid, rejections = accept(items, self.province)
        messages = pack(valid, self.batch_size)
        with self._lock, self.spool.locked():
            drained, delivery = self._drain_locked() if self.spool and self._online() else (0, _Delivery([], None))
            if self.spool or not self._online():
                failed = messages
                error: str | None = delivery.error or "broker unreachable recently; spooled without waiting"
                refused = delivery.refused or self._refused
            else:
                delivery = self._send(messages)
                failed, error, refused = delivery.failed, delivery.error, delivery.refused
            self.spool.append(failed)
        spooled = sum(m.events for m in failed)
        return PublishResult(
            len(valid),
            len(valid) - spooled,
            spooled,
            drained,
            rejections,
            error if spooled else None,
            refused if spooled else None,
        )

    def drain(self) -> PublishResult:
        """Deliver every spooled message in order; what is still undeliverable stays spooled."""
        with self._lock, self.spool.locked():
            drained, delivery = self._drain_locked()
            left = self.spool.pending_events()
        return PublishResult(drained=drained, spooled=left, error=delivery.error, refused=delivery.refused)

    def close(self) -> None:
        with self._lock:
            self._drop_producer(timeout_s=self._timeout_s)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _online(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _drain_locked(self) -> tuple[int, _Delivery]:
        """Send the spool's segments in order; stop at the first that is not wholly delivered."""
        drained = 0
        for segment in self.spool.segments():
            messages = self.spool.read(segment)
            delivery = self._send(messages)
            self.spool.replace(segment, delivery.failed)
            drained += sum(m.events for m in messages) - sum(m.events for m in delivery.failed)
            if delivery.failed:
                return drained, delivery
        return drained, _Delivery([], None)

    def _send(self, messages: list[Message]) -> _Delivery:
        """Send and wait for acks; the messages not acknowledged within the timeout come back."""
        if not messages:
            return _Delivery([], None)
        futures = []
        raised: KafkaError | None = None
        try:
            producer = self._ensure_producer()
            for m in messages:
                futures.append(producer.send(self.topic, key=m.key.encode(), value=m.value))
            producer.flush(timeout=self._timeout_s)
        except KafkaError as exc:
            raised = exc
        failed = [m for m, f in zip(messages, futures) if not f.succeeded()] + messages[len(futures) :]
        if not failed:
            self._refused = None
            return _Delivery([], None)
        # A refusal wins over a timeout it caused (the flush gives up on records the broker refused).
        causes = [c for c in (raised, *(f.exception for f in futures if f.failed())) if c is not None]
        cause = next((c for c in causes if isinstance(c, REFUSALS)), causes[0] if causes else None)
        # A fresh producer next time: this one may hold expired batches and a stale sequence.
        self._drop_producer(timeout_s=0)
        self._retry_at = time.monotonic() + self._timeout_s
        self._refused = self._refusal(cause)
        error = (str(cause) or type(cause).__name__) if cause else f"not acknowledged within {self._timeout_s:g}s"
        return _Delivery(failed, error, self._refused)

    def _refusal(self, cause: BaseException | None) -> str | None:
        """Who was refused what, when the broker said no (REFUSALS); None for an outage."""
        if not isinstance(cause, REFUSALS):
            return None
        principal = principal_for(self.settings, self.role) if secured(self.settings) else "a PLAINTEXT client"
        return f"the broker refused {principal} on topic {self.topic}: {type(cause).__name__}: {cause}"

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            timeout_ms = int(self._timeout_s * 1000)
            self._producer = KafkaProducer(
                **kafka_python_options(self.settings, self.role),
                **PRODUCER_OPTIONS,
                request_timeout_ms=min(timeout_ms, 30000),
                delivery_timeout_ms=timeout_ms + 5,  # kafka-python wants it above linger + request timeout
                max_block_ms=timeout_ms,
                bootstrap_timeout_ms=timeout_ms,
            )
        return self._producer

    def _drop_producer(self, timeout_s: float) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        close_now(producer, timeout_s)  # what it could not deliver by then is spooled already
