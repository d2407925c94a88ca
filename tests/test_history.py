"""Two years of a few wards' reports, sent in order, then 5% of them again: exact live, in ClickHouse
and by `p06 reconcile`, with nothing missing from the archive."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from kit.faults import Sink, assert_exact_everywhere
from kit.pipeline import Worker, publish_raw

from producers import simulated_events
from schemas.settings import Settings
from stack import broker as local_broker
from stack import ensure_topics

pytestmark = pytest.mark.slow


def test_a_two_year_backfill_then_five_percent_again_is_exact(p06_settings: Settings, tmp_path: Path) -> None:
    start = datetime(2024, 11, 1, 8, tzinfo=timezone(timedelta(hours=7)))
    events = list(
        simulated_events(seed=40, count=9000, start=start, span=timedelta(days=730), provinces=1, wards_per_province=3)
    )
    again = random.Random(40).sample(events, len(events) // 20)
    ensure_topics(p06_settings)
    publish_raw(
        p06_settings, p06_settings.events_topic, [(e["locality"].encode(), orjson.dumps(e)) for e in events + again]
    )  # in order, one per message
    worker, sink = Worker(local_broker.free_port(), tmp_path), Sink(tmp_path)
    try:
        assert_exact_everywhere(p06_settings, worker, sink, events)
    finally:
        worker.stop()
        sink.stop()
