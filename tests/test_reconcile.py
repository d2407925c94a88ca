"""`p06 reconcile` against the real sink's warehouse and a real live worker: passes when all agree,
fails naming scope and metric when a row is tampered with, and refuses to pass without the worker."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import clickhouse_connect

from schemas.settings import Settings
from recount import recount
from sinkstream import P06, SinkProcess, make_events, messages, publish
from pipeline import Worker


def reconcile(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([P06, "reconcile", *args], capture_output=True, text=True, timeout=300)


def _wait_live(worker: Worker, nation: dict, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = worker.live()
        if body and body.get("nation") == nation:
            return
        assert worker.proc.poll() is None, worker.log.read_text()[-3000:]
        time.sleep(0.5)
    raise AssertionError(f"worker never showed the recount; log: {worker.log.read_text()[-2000:]}")


def test_reconcile_passes_then_catches_a_tampered_rollup(p06_settings: Settings, tmp_path: Path) -> None:
    events = make_events(seed=31, n=400)
    values = messages(events, seed=31)
    expected = recount(events)
    publish(p06_settings, values)
    worker = Worker(p06_settings.worker_web_port, tmp_path)
    sink = SinkProcess(p06_settings, tmp_path / "sink.log")
    try:
        sink.wait(lambda h: h["messages"] >= len(values) and h["lag"] == 0)
        _wait_live(worker, expected["nation"])
        ok = reconcile()
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "live counters" in ok.stdout and "all figures agree" in ok.stdout

        sink.stop()  # the tamper below opens the chDB folder itself
        province = sorted(expected["provinces"])[0]
        client = clickhouse_connect.get_client(dsn=p06_settings.clickhouse_dsn)
        row = client.query(
            "SELECT * FROM p06.rollup_day FINAL WHERE scope = 'province' AND code = {c:String} ORDER BY day LIMIT 1",
            parameters={"c": province},
        ).named_results().__next__()
        row["villages"] += 3
        row["rev"] += 1  # a newer version of the row: what a buggy writer would leave behind
        client.insert("p06.rollup_day", [list(row.values())], column_names=list(row))
        client.close()

        bad = reconcile()
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert f"DIFF rollups: province {province} villages:" in bad.stdout
        assert f"archive recount {expected['provinces'][province]['villages']}" in bad.stdout
        assert "DIFF live" not in bad.stdout  # archive and live still agree: only the rollup is wrong
    finally:
        sink.stop()
        worker.stop()

    without_worker = reconcile()
    assert without_worker.returncode == 3 and "--no-live" in without_worker.stderr
    assert reconcile("--no-live").returncode == 1  # the tampered row is still there


def test_reconcile_compares_every_metric_at_a_date(p06_settings: Settings, tmp_path: Path) -> None:
    events = make_events(seed=32, n=200)
    values = messages(events, seed=32)
    publish(p06_settings, values)
    sink = SinkProcess(p06_settings, tmp_path / "sink.log")
    try:
        sink.wait(lambda h: h["messages"] >= len(values) and h["lag"] == 0)
    finally:
        sink.stop()
    done = reconcile("--no-live", "--as-of", "2026-09-10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rollups: every scope and metric" in done.stdout and "all figures agree" in done.stdout
