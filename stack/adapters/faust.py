"""faust-streaming's privates, each touched here only (tested with faust-streaming 0.15.3).

- `acting_for`: Faust learns which partition a table write belongs to only from the current event
  (`faust.streams._current_event`); inside a batch there is none ("Cannot modify table key from
  outside of stream iteration").
- `aiokafka_producer`: Faust's producer sends one record per call; the aiokafka producer under it
  (`Producer._ensure_producer()`) sends a whole record batch in one call (`create_batch`/`send_batch`).
- `App`: Faust's aiokafka transport with three changes, reached through `App._new_transport`,
  `Consumer._new_consumer_thread`, `AIOKafkaConsumerThread._create_worker_consumer`,
  `Producer.buffer` and `Producer._settings_extra`:
  - an idempotent producer with acks=all, as every producer of the project (Faust makes one only
    for its transactions);
  - a short fetch wait (stack.adapters.aiokafka.FETCH_MAX_WAIT_MS): Faust builds its consumer with
    fetch_max_wait_ms=1500, hard-coded;
  - a flush that flushes: Faust flushes its producer before giving partitions up, but its buffer's
    flush (`ProducerBuffer.flush`) stops waiting after 0.1 s without a send, so a partition could be
    handed over with changelog records still queued; the next owner would restore a state without
    them and, worse, those records could land after the new owner's, older state last.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust.streams import _current_event
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer
from faust.types import EventT, FutureMessage

from . import aiokafka as aiokafka_adapter


@contextmanager
def acting_for(event: EventT) -> Iterator[None]:
    """Make `event` the current one, so a table write goes to its partition's store and changelog."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def aiokafka_producer(app: faust.App) -> AIOKafkaProducer:
    """The started aiokafka producer under the app's, for a record batch in one call."""
    return cast(faust_aiokafka.Producer, app.producer)._ensure_producer()


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: faust_aiokafka.Transport) -> AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        aiokafka_adapter.set_fetch_max_wait(consumer, aiokafka_adapter.FETCH_MAX_WAIT_MS)
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class FlushingProducerBuffer(ProducerBuffer):
    """Faust's buffer for `send_soon` (table changelog records), whose flush waits for every message
    queued before it: not for an empty buffer, which a busy agent may never leave."""

    queued = 0  # messages ever put in the buffer
    handed = 0  # messages ever handed to aiokafka (one sender, in queue order)

    def put(self, fut: FutureMessage) -> None:
        self.queued += 1
        super().put(fut)

    async def _send_pending(self, fut: FutureMessage) -> None:
        try:
            await super()._send_pending(fut)
        finally:
            self.handed += 1

    async def flush(self) -> None:
        target = self.queued
        while self.handed < target and not self.should_stop:
            self.message_sent.clear()
            try:
                await asyncio.wait_for(self.message_sent.wait(), timeout=0.1)
            except TimeoutError:
                pass  # slow, not stuck: look again


class _Producer(faust_aiokafka.Producer):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.buffer = FlushingProducerBuffer(loop=self.loop, beacon=self.beacon)  # started by on_start, not yet
        self.buffer.app = self.app

    def _settings_extra(self) -> dict[str, object]:
        # Every producer of the project is idempotent with acks=all; Faust turns idempotence on only
        # inside transactions, so a retried send after a leader change could write a record twice.
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer
    Producer = _Producer


class App(faust.App):
    """faust.App on the transport above; everything else is Faust's."""

    def _new_transport(self) -> _Transport:
        return _Transport(self.conf.broker_consumer, self)
