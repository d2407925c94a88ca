"""The two changes stack.adapters.faust makes to Faust's transport, each shown to matter: on Faust's own
classes, these tests see Faust's behaviour and fail."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import faust
from faust.transport.producer import ProducerBuffer

from schemas.settings import Settings
from stack.adapters.aiokafka import FETCH_MAX_WAIT_MS
from stack.adapters.faust import App, FlushingProducerBuffer
from streams.worker import faust_options


def _fetch_wait_ms(app_class: type[faust.App], settings: Settings) -> int:
    """The fetch wait of the consumer the app builds for a worker."""

    async def build() -> int:
        app = app_class("probe", **faust_options(settings))
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    return asyncio.run(build())


def test_the_worker_consumer_waits_100_ms_for_a_fetch_not_faust_s_hard_coded_1500(p06_settings: Settings) -> None:
    # p06_settings: the worker's credentials, as the session's broker wrote them (no connection is made)
    assert _fetch_wait_ms(faust.App, p06_settings) == 1500  # Faust's own, still so upstream
    assert _fetch_wait_ms(App, p06_settings) == FETCH_MAX_WAIT_MS == 100


class SlowChannel:
    """A topic whose sends take 0.3 s each: a broker under load."""

    def __init__(self) -> None:
        self.published: list[object] = []

    async def publish_message(self, fut: object, wait: bool = False) -> None:
        await asyncio.sleep(0.3)
        self.published.append(fut)


def _flushed_after(buffer_class: type[ProducerBuffer], messages: int) -> int:
    async def run() -> int:
        buffer = buffer_class()
        buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))
        await buffer.start()
        channel = SlowChannel()
        for _ in range(messages):
            buffer.put(SimpleNamespace(message=SimpleNamespace(channel=channel)))
        await buffer.flush()
        sent = len(channel.published)
        await asyncio.sleep(0.3 * messages)  # let the rest go before stopping (Faust refuses to stop mid-flush)
        await buffer.stop()
        return sent

    return asyncio.run(run())


def test_a_flush_waits_for_every_changelog_record_queued_before_it() -> None:
    # Faust's own flush stops waiting after 0.1 s without a send: records (state, position) would
    # still be queued when the offsets commit or the partition is handed over.
    assert _flushed_after(ProducerBuffer, 3) < 3  # the defect, still there upstream
    assert _flushed_after(FlushingProducerBuffer, 3) == 3


def test_the_worker_s_producer_queues_changelog_records_in_the_flushing_buffer() -> None:
    assert type(faust.App("probe").producer.buffer) is ProducerBuffer  # Faust's own
    assert isinstance(App("probe").producer.buffer, FlushingProducerBuffer)
