"""The two changes streams.transport makes to Faust's transport, each shown to matter: without the
subclass, these tests see Faust's own behaviour and fail."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.transport.producer import ProducerBuffer

from schemas.settings import load_settings
from streams.transport import FETCH_MAX_WAIT_MS, App, _ProducerBuffer
from streams.worker import faust_options


def test_the_worker_consumer_waits_100_ms_for_a_fetch_not_faust_s_hard_coded_1500() -> None:
    async def build() -> int:
        app = App("probe", **faust_options(load_settings()))
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    assert asyncio.run(build()) == FETCH_MAX_WAIT_MS == 100


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
    assert _flushed_after(_ProducerBuffer, 3) == 3
