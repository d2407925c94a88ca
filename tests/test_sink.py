"""`p06 sink` on the real broker and chDB: exact figures despite resends, disorder, crashes, outages."""

from __future__ import annotations

import asyncio
import threading
import time

from kit.sinkstream import SinkProcess, expected_rejections, make_events, messages, publish

from schemas.settings import Settings
from sinks.checks.recount import identity, recount
from sinks.ingest.sink import Sink
from sinks.warehouse.figures import from_archive, from_rollups
from sinks.warehouse.reader import DirectReader, open_reader


def _assert_exact(settings: Settings, events: list[dict]) -> None:
    expected = recount(events)
    reader = open_reader(settings)
    try:
        for name, got in (("rollups", from_rollups(reader)), ("archive", from_archive(reader))):
            for scope in ("nation", "urban", "rural", "provinces", "wards"):
                assert got[scope] == expected[scope], f"{name} {scope} differs from the recount"
        dup = reader.named("archive_identities")[0]
        assert dup["rows"] == dup["ids"] == len({identity(e) for e in events})
    finally:
        reader.close()


def test_resends_disorder_and_invalid_messages_give_the_recount(p06_settings: Settings, tmp_path) -> None:
    events = make_events(seed=11, n=500)
    values = messages(events, seed=11)
    publish(p06_settings, values)
    sink = SinkProcess(p06_settings, tmp_path / "sink.log")
    try:
        health = sink.wait(lambda h: h["messages"] >= len(values))
        assert health["messages"] == len(values)
        assert health["rejected"] == expected_rejections(values)
        _assert_exact(p06_settings, events)  # through the sink's API: it owns the chDB folder
    finally:
        sink.stop()
    _assert_exact(p06_settings, events)  # and directly, once it let go


def test_sigkill_mid_stream_then_restart_doubles_nothing(p06_settings: Settings, tmp_path) -> None:
    events = make_events(seed=12, n=1200)
    values = messages(events, seed=12)
    publish(p06_settings, values)
    env = {"P06_SINK_BATCH_ROWS": "40"}  # many small batches, so the kill lands between write and commit
    first = SinkProcess(p06_settings, tmp_path / "sink1.log", **env)
    first.wait(lambda h: h["batches"] >= 2)
    first.kill()
    second = SinkProcess(p06_settings, tmp_path / "sink2.log", **env)
    try:
        health = second.wait(lambda h: h["batches"] > 0 and h["lag"] == 0)
        assert health["messages"] > 0, "the kill came after everything was committed: nothing was tested"
        _assert_exact(p06_settings, events)
    finally:
        second.stop()


def test_batches_keep_to_their_row_cap_with_packed_messages(p06_settings: Settings, tmp_path) -> None:
    # Kafka's max_records counts messages; a packed message carries up to 20 events here (500 in
    # production): a cap in messages let batches grow to four times P06_SINK_BATCH_ROWS.
    events = make_events(seed=15, n=1500)
    values = messages(events, seed=15)
    publish(p06_settings, values)
    sink = SinkProcess(p06_settings, tmp_path / "sink.log", P06_SINK_BATCH_ROWS="100")
    try:
        health = sink.wait(lambda h: h["messages"] >= len(values))
        assert health["largest_batch"] <= 2 * 100, health
        _assert_exact(p06_settings, events)
    finally:
        sink.stop()


def test_clickhouse_client_closed_under_the_sink_loses_nothing(p06_settings: Settings) -> None:
    events = make_events(seed=13, n=400)
    values = messages(events, seed=13)
    half = len(values) // 2
    sink = Sink(p06_settings)
    thread = threading.Thread(target=lambda: asyncio.run(sink.run()), daemon=True)
    thread.start()
    try:
        publish(p06_settings, values[:half])
        _wait(lambda: sink.stats.messages >= half)
        with sink.store.lock:
            sink.store.client.close()  # ClickHouse gone under the sink, between two writes
        publish(p06_settings, values[half:])
        _wait(lambda: sink.stats.messages >= len(values))
        assert sink.store.outages == 1
    finally:
        sink.stop.set()
        thread.join(60)
    _assert_exact(p06_settings, events)


def test_sink_waits_while_chdb_is_held_by_another_process(p06_settings: Settings, tmp_path) -> None:
    events = make_events(seed=14, n=300)
    values = messages(events, seed=14)
    holder = DirectReader(p06_settings)  # this test process holds the chDB folder: the sink cannot open it
    log = tmp_path / "sink.log"
    sink = SinkProcess(p06_settings, log)
    try:
        publish(p06_settings, values)
        _wait(lambda: "ClickHouse unreachable" in log.read_text())
        _wait(lambda: sink.health() is not None)
        time.sleep(3)  # several backoff rounds while down: they must not log again
        assert sink.health()["messages"] == 0
        holder.close()
        sink.wait(lambda h: h["messages"] >= len(values))
        text = log.read_text()
        assert text.count("ClickHouse unreachable") == 1, text
        assert text.count("ClickHouse back") == 1, text
        _assert_exact(p06_settings, events)
    finally:
        sink.stop()


def _wait(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)
