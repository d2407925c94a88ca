"""The README's own path, as a newcomer runs it: `p06 up` (its own broker, worker, sink, simulator, which
sends resends, late events and corrections), then the national report equals the live figures, reconcile
agrees, a province approves January (the simulator's month), a late report and its correction arrive
after, `p06 report national --period` shows them apart and every province as the recount of the events
topic has it, and Ctrl-C stops everything, even after the broker was stopped first. The simulator stamps
+07:00, as senders in Vietnam do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import httpx
import psutil
import pytest
from kit.pipeline import figures_of
from kit.producers_support import topic_events

from schemas.metrics import FLOW_TYPES
from schemas.registry import registry
from sinks.checks.recount import end_of, recount
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


PERIOD, PERIOD_END = "2026-01", date(2026, 1, 31)  # the simulator stamps from 1 January 2026, +07:00


def _period_report(env: dict[str, str], cwd: Path) -> dict:
    done = _p06(env, cwd, "report", "national", "--period", PERIOD, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _late_and_corrected(ward: str) -> list[dict]:
    """A ward's January report sent now, and its correction made in February (it corrects January), naming
    it in UTC."""
    late = {
        "event_id": "up-late",
        "type": "eid.activations",
        "locality": ward,
        "occurred_at": "2026-01-01T09:00:00+07:00",
        "payload": {"count": 40},
    }
    fix = {**late, "event_id": "up-fix", "occurred_at": "2026-02-03T10:00:00+07:00", "payload": {"count": 4}}
    return [late, fix | {"supersedes": {"event_id": "up-late", "occurred_at": "2026-01-01T02:00:00Z"}}]


def _approve_then_late_and_corrected(env: dict[str, str], tmp_path: Path) -> None:
    """A province approves January; a late report and its correction arrive: the period report shows the
    approved figures with the two apart (their effect: the corrected count), every province as the recount."""
    local = local_broker.local_settings(tmp_path / ".p06")
    before = recount(topic_events(local, local.events_topic), end_of(PERIOD_END))
    province = sorted(before["provinces"])[0]
    approved = _p06(env, tmp_path, "period", "approve", PERIOD, province)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    ward = sorted(w for w in before["wards"] if registry().localities[w].province == province)[0]
    sent = tmp_path / "late.jsonl"
    sent.write_text("".join(json.dumps(e) + "\n" for e in _late_and_corrected(ward)))
    published = _p06(env, tmp_path, "publish", str(sent))
    assert published.returncode == 0 and "accepted 2, rejected 0" in published.stdout, published.stdout
    deadline, period = time.monotonic() + 120, _period_report(env, tmp_path)
    while period["provinces"][province]["arrived_after_approval"]["events"] < 2 and time.monotonic() < deadline:
        time.sleep(2)
        period = _period_report(env, tmp_path)
    after = recount(topic_events(local, local.events_topic), end_of(PERIOD_END))
    entry = period["provinces"][province]
    assert entry["status"] == "approved" and entry["figures"] == before["provinces"][province]
    apart = entry["arrived_after_approval"]
    assert apart["events"] == 2 and sorted(apart["event_ids"]) == ["up-fix", "up-late"], apart
    now, then = after["provinces"][province], before["provinces"][province]
    assert apart["effect"] == {m: now[m] - then[m] for m in apart["effect"]}
    assert apart["effect"]["eid_activations"] == 4  # the corrected count, in January: not 40, not 44
    history = _p06(env, tmp_path, "history", f"{ward}/report:up-late", "--json")
    shown = json.loads(history.stdout)["reports"][0]["events"]
    assert [(e["event_id"], e["counts"], e["sender"].split(" (")[0]) for e in shown] == [
        ("up-late", False, "a national sender"),
        ("up-fix", True, "a national sender"),
    ]  # p06 publish: a national sender
    _a_simulated_correction_shows_its_province_sender(env, tmp_path, topic_events(local, local.events_topic))
    zero = dict.fromkeys(after["nation"], 0)
    for code, other in period["provinces"].items():
        if code != province:
            assert other["status"] == "overdue" and other["figures"] == after["provinces"].get(code, zero), code


def _a_simulated_correction_shows_its_province_sender(env: dict[str, str], cwd: Path, events: list[dict]) -> None:
    """The simulator sends as each province's senders (--as-provinces): history names the province (of a flow
    report: `p06 history LOCALITY/report:ID` shows those; the simulator corrects states too)."""
    fix = next(e for e in events if e.get("supersedes") and e["type"] in FLOW_TYPES and e["event_id"] != "up-fix")
    done = _p06(env, cwd, "history", f"{fix['locality']}/report:{fix['supersedes']['event_id']}", "--json")
    shown = [e for r in json.loads(done.stdout)["reports"] for e in r["events"]]
    province = registry().localities[fix["locality"]].province
    assert any(e["event_id"] == fix["event_id"] and e["role"] == "correction" for e in shown), shown
    assert {e["sender"].split(" (")[0] for e in shown} == {f"province {province}'s sender"}, shown


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
        _approve_then_late_and_corrected(env, tmp_path)
        _ctrl_c_stops_everything(env, tmp_path, up)
    finally:
        if up.alive:
            up.kill()
        up.close()
        _p06(env, tmp_path, "stack", "down", "--purge")
