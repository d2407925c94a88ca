"""`p06 reconcile` against the real sink's warehouse and a real live worker: passes when all agree,
fails naming scope and metric when a row is tampered with, and refuses to pass without the worker."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import clickhouse_connect
import httpx
from kit.pipeline import Worker, monitor
from kit.sinkstream import P06, SinkProcess, make_events, messages, publish

from schemas.settings import Settings
from sinks.checks.recount import recount


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


def _tamper_first_province_day(settings: Settings, province: str, villages: int = 3) -> None:
    """A newer version of one rollup row with 3 villages too many: what a buggy writer would leave behind."""
    client = clickhouse_connect.get_client(dsn=settings.clickhouse_dsn)
    row = (
        client.query(
            "SELECT * FROM p06.rollup_day FINAL WHERE scope = 'province' AND code = {c:String} ORDER BY day LIMIT 1",
            parameters={"c": province},
        )
        .named_results()
        .__next__()
    )
    row["villages"] += villages
    row["rev"] += 1
    client.insert("p06.rollup_day", [list(row.values())], column_names=list(row))
    client.close()


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
        _tamper_first_province_day(p06_settings, province)

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


def test_the_sink_reconciles_on_its_own_and_reports_the_verdict(p06_settings: Settings, tmp_path: Path) -> None:
    """Recent buckets and everything, on a schedule: agree first (live included), then a tampered
    rollup row shows on /health and as whole Prometheus lines within one interval."""
    events = make_events(seed=33, n=400)
    values = messages(events, seed=33)
    expected = recount(events)
    publish(p06_settings, values)
    recent_days = str((datetime.now(UTC) - datetime(2026, 9, 1, tzinfo=UTC)).days + 2)  # covers the stream
    schedule = {"P06_RECONCILE_RECENT_S": "2", "P06_RECONCILE_FULL_S": "4", "P06_RECONCILE_RECENT_DAYS": recent_days}
    worker = Worker(p06_settings.worker_web_port, tmp_path)
    metrics_url = f"http://127.0.0.1:{p06_settings.sink_api_port}/metrics"
    try:
        sink = SinkProcess(p06_settings, tmp_path / "sink.log", **schedule)
        try:
            sink.wait(lambda h: h["messages"] >= len(values) and h["lag"] == 0)
            _wait_live(worker, expected["nation"])
            runs = sink.health()["reconcile"]["checks"]
            agreed = sink.wait(
                lambda h: all(
                    h["reconcile"]["checks"].get(k, {}).get("runs", 0) > runs.get(k, {}).get("runs", 0)
                    and h["reconcile"]["checks"][k]["live"] == "agree"
                    for k in ("recent", "full")
                )
            )
            assert agreed["reconcile"]["verdict"] == "agree" and agreed["reconcile"]["differences"] == 0, agreed[
                "reconcile"
            ]
            metrics = httpx.get(metrics_url, auth=monitor()).text
            assert re.search(r"^p06_reconcile_agree 1\.0$", metrics, re.M), metrics
            assert re.search(r'^p06_reconcile_differences\{check="recent",source="rollups"\} 0\.0$', metrics, re.M), (
                metrics
            )
            assert re.search(r'^p06_reconcile_live_compared\{check="full"\} 1\.0$', metrics, re.M), metrics
        finally:
            sink.stop()

        province = sorted(expected["provinces"])[0]
        _tamper_first_province_day(p06_settings, province)  # one day bucket of one province; nation is untouched
        sink = SinkProcess(p06_settings, tmp_path / "sink2.log", **schedule)
        try:
            found = sink.wait(
                lambda h: all(h["reconcile"]["checks"].get(k, {}).get("runs", 0) >= 1 for k in ("recent", "full"))
            )
            checks = found["reconcile"]["checks"]
            assert found["reconcile"]["verdict"] == "differ"
            assert checks["recent"]["differences"]["rollups"] == 1, checks["recent"]
            assert checks["recent"]["shown"][0].startswith(f"rollups: province {province} on ")
            assert checks["full"]["differences"]["rollups"] == 1, checks[
                "full"
            ]  # the cumulative figure of that province
            assert checks["full"]["differences"]["live"] == 1, checks["full"]["shown"]  # live agrees with the archive
            metrics = httpx.get(metrics_url, auth=monitor()).text
            assert re.search(r"^p06_reconcile_agree 0\.0$", metrics, re.M), metrics
            assert re.search(r'^p06_reconcile_differences\{check="recent",source="rollups"\} 1\.0$', metrics, re.M), (
                metrics
            )
        finally:
            sink.stop()
    finally:
        worker.stop()
