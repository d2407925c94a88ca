"""The README's own path, as a newcomer runs it: `p06 up` (its own broker, worker, sink, simulator),
then the national report equals the live figures, reconcile agrees, and Ctrl-C stops everything,
even after the broker was stopped first. The simulator stamps +07:00, as senders in Vietnam do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest
from kit.pipeline import figures_of

from stack import broker as local_broker
from stack.processes import P06Process, run_p06
from streams.cli import STOP_GRACE_S

pytestmark = pytest.mark.slow
SIMULATE_S = 45


def _p06(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_p06(*args, env=env, cwd=cwd, timeout=180)


def _wait_for_sink_verdict(env: dict[str, str], verdict: str, timeout_s: float, auth: tuple[str, str]) -> None:
    """Until a full check of the sink's own reconciliation that ran after now compared live and gave verdict."""
    url = f"http://127.0.0.1:{env['P06_SINK_API_PORT']}/health"
    runs = httpx.get(url, auth=auth).json()["reconcile"]["checks"].get("full", {}).get("runs", 0)
    deadline, health = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        health = httpx.get(url, auth=auth).json()["reconcile"]
        full = health["checks"].get("full", {})
        if full.get("runs", 0) > runs and full["live"] == "agree":
            assert health["verdict"] == verdict, health
            return
        time.sleep(1)
    raise AssertionError(f"no full check with the live worker in {timeout_s}s: {health}")


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _ctrl_c_stops_everything(env: dict[str, str], tmp_path: Path, up: P06Process) -> None:
    """With the broker stopped first, Ctrl-C stops every process up started, none of them killed."""
    started = [p for p in psutil.Process(up.pid).children(recursive=True) if "p06" in p.cmdline()]  # not the broker
    names = {p.pid: " ".join(p.cmdline()[2:]) for p in started}
    assert set(names.values()) >= {"p06 worker", "p06 sink"}
    assert _p06(env, tmp_path, "stack", "down").returncode == 0  # the broker goes first
    time.sleep(3)
    interrupted = time.monotonic()
    up.signal(signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
    stopped_after: dict[str, float] = {}
    while len(stopped_after) < len(started) and time.monotonic() - interrupted < STOP_GRACE_S + 15:
        for p in started:
            if not _running(p):
                stopped_after.setdefault(names[p.pid], round(time.monotonic() - interrupted, 1))
        time.sleep(0.1)
    print("stopped after (s):", stopped_after)  # the worker's own deadline is 10 s; the sink stops in about 1 s
    assert up.wait_exit(15) and up.returncode == 0
    alive = [p for p in started if _running(p)]
    assert not alive, f"still running after Ctrl-C: {[p.cmdline() for p in alive]}"
    assert "killed" not in up.log.read_text(), f"a process ignored SIGTERM:\n{up.log.read_text()[-2000:]}"


def test_p06_up_report_equals_live_reconcile_agrees_and_ctrl_c_stops_all(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("P06_")}  # the defaults, as a newcomer has them
    env.update(
        PYTHONUNBUFFERED="1",
        P06_KAFKA_BOOTSTRAP=f"127.0.0.1:{local_broker.free_port()}",
        P06_WORKER_WEB_PORT=str(local_broker.free_port()),
        P06_SINK_API_PORT=str(local_broker.free_port()),
        P06_ADMISSION_METRICS_PORT=str(local_broker.free_port()),
        P06_RECONCILE_RECENT_S="5",
        P06_RECONCILE_FULL_S="10",
    )  # the sink's own checks, often
    log = tmp_path / "up.log"
    # Its own process group, as a terminal's job.
    up = P06Process(
        ["up", "--rate", "300", "--duration", str(SIMULATE_S)], log, base_env=env, cwd=tmp_path, measure_rss=False
    )
    try:
        up.wait_for_line("simulator finished", timeout_s=240)
        # A fresh folder: `p06 up` made an admin account and said where its password is (owner-only); the
        # commands below log in with it by default, as a newcomer's would.
        password_file = tmp_path / ".p06" / "admin-password"
        assert f"made account admin: its password is in {password_file}" in log.read_text()
        assert (
            password_file.stat().st_mode & 0o777 == 0o600
            and (tmp_path / ".p06" / "users.json").stat().st_mode & 0o777 == 0o600
        )
        admin = ("admin", password_file.read_text().strip())
        assert httpx.get(f"http://127.0.0.1:{env['P06_WORKER_WEB_PORT']}/api/live").status_code == 401
        deadline, live, report = time.monotonic() + 180, None, None
        while time.monotonic() < deadline:  # until the sink has caught up with the worker
            live = json.loads(_p06(env, tmp_path, "live", "--format", "json").stdout)
            report = json.loads(_p06(env, tmp_path, "report", "national", "--format", "json").stdout)
            if figures_of(report) == figures_of(live) and live["nation"]["villages"] > 0:
                break
            time.sleep(2)
        assert figures_of(report) == figures_of(live), f"report {report['nation']} != live {live['nation']}"
        assert report["nation"]["eid_activations"] > 0 and report["nation"]["tasks_reported"] > 0
        reconcile = _p06(env, tmp_path, "reconcile")
        assert reconcile.returncode == 0, reconcile.stdout[-3000:] + reconcile.stderr
        _wait_for_sink_verdict(env, "agree", timeout_s=120, auth=admin)
        _ctrl_c_stops_everything(env, tmp_path, up)
    finally:
        if up.alive:
            up.kill()
        up.close()
        _p06(env, tmp_path, "stack", "down", "--purge")
