"""The worker keeps its local store across a clean stop only (streams.local_store says why)."""

from __future__ import annotations

from pathlib import Path

import orjson
from kit.faults import expected_live
from kit.pipeline import Worker, wait_for_figures
from kit.sinkstream import publish

from schemas.settings import Settings
from streams.local_store import CLEAN_STOP, STORE, close_store, open_store


def _store(worker_dir: Path) -> Path:
    table = worker_dir / STORE / "tables" / "state-0.db"
    table.mkdir(parents=True)
    (table / "CURRENT").write_text("MANIFEST-000001\n")
    return table


def test_a_store_left_by_a_run_that_did_not_stop_cleanly_is_removed(tmp_path: Path) -> None:
    table = _store(tmp_path)
    assert open_store(tmp_path) is False
    assert not table.exists()  # recovery restores it from the changelog alone


def test_a_store_closed_by_a_clean_stop_is_kept_once(tmp_path: Path) -> None:
    table = _store(tmp_path)
    close_store(tmp_path)
    assert open_store(tmp_path) is True and table.exists()
    assert not (tmp_path / CLEAN_STOP).exists()  # this run owns it: a kill now must not leave it trusted
    assert open_store(tmp_path) is False and not table.exists()


def test_the_worker_marks_a_clean_stop_and_a_kill_leaves_no_mark(p06_settings: Settings, tmp_path: Path) -> None:
    """Through the real worker: SIGTERM runs WorkerApp.on_stop (producer flushed), SIGKILL runs nothing;
    figures survive both."""
    event = {
        "event_id": "store-1",
        "type": "eid.activations",
        "locality": "00004",
        "occurred_at": "2026-11-20T09:00:00+07:00",
        "payload": {"count": 7},
    }
    expected = expected_live([event])
    port = p06_settings.worker_web_port
    mark = p06_settings.data_dir / f"worker-{port}" / CLEAN_STOP
    worker = Worker(port, tmp_path)
    try:
        publish(p06_settings, [orjson.dumps(event)])
        wait_for_figures(worker, expected)
        assert not worker.stop(), "the worker had to be killed"
        assert mark.exists(), "a clean stop leaves the mark"
        worker = Worker(port, tmp_path)
        wait_for_figures(worker, expected)
        assert not mark.exists(), "the running worker owns the store: no mark while it runs"
        worker.kill()
        assert not mark.exists()
        worker = Worker(port, tmp_path)
        wait_for_figures(worker, expected)  # its store removed: restored from the changelog
    finally:
        worker.stop()
