"""The one process runner (stack.processes): waits on a line or an answer, stops by SIGTERM then SIGKILL
with a deadline, and leaves nothing of the child's process group behind."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from stack.processes import P06Process, run_p06, stop_all

IGNORES_TERM = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("ready", grandchild.pid, flush=True)
time.sleep(600)
"""

STOPS_ON_TERM = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)
time.sleep(600)
"""


def _python(code: str, log: Path, **kwargs) -> P06Process:
    return P06Process([], log, argv=[sys.executable, "-c", code], **kwargs)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_child_that_ignores_sigterm_is_killed_at_the_deadline_with_its_group(tmp_path: Path) -> None:
    child = _python(IGNORES_TERM, tmp_path / "stubborn.log")
    child.wait_for_line("ready", timeout_s=30, poll_s=0.1)
    grandchild = int(child.log.read_text().split()[1])
    started = time.monotonic()
    assert stop_all({"stubborn": child}, grace_s=1.0) == ["stubborn"]
    assert 1.0 <= time.monotonic() - started < 10
    assert not child.alive and child.returncode == -9
    deadline = time.monotonic() + 10
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(grandchild), "the child's own child outlived the stop"


def test_a_child_that_stops_on_sigterm_is_not_killed(tmp_path: Path) -> None:
    child = _python(STOPS_ON_TERM, tmp_path / "polite.log", own_group=False, measure_rss=False)
    child.wait_for_line("ready", timeout_s=30, poll_s=0.1)
    assert child.stop(timeout_s=10) is False
    assert child.returncode == 0


def test_waiting_ends_with_the_log_when_the_child_exits_first(tmp_path: Path) -> None:
    child = _python("print('bye'); raise SystemExit(3)", tmp_path / "early.log")
    with pytest.raises(RuntimeError, match=r"exited with 3:\nbye"):
        child.wait_for_line("never printed", timeout_s=30, poll_s=0.1)
    child.stop()


def test_waiting_for_an_answer_times_out_naming_what(tmp_path: Path) -> None:
    child = _python(STOPS_ON_TERM, tmp_path / "silent.log")
    try:
        with pytest.raises(TimeoutError, match="no live API"):
            child.wait_until(lambda: None, timeout_s=0.5, what="live API", poll_s=0.1)
        assert child.wait_until(lambda: 42, timeout_s=1, what="an answer") == 42
    finally:
        child.stop()


def test_run_p06_runs_the_cli() -> None:
    done = run_p06("--help", timeout=120)
    assert done.returncode == 0 and "worker" in done.stdout
