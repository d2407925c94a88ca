"""The one way p06 runs its own commands as child processes: `p06 up`, the benchmark and the tests.

A child is `python -m p06 ARGS` (or any argv) with the caller's environment and P06_* overrides on top,
its output appended to a log file, its PID kept; it is waited for until it answers or a line appears
in its log, and stopped by SIGTERM, then SIGKILL once a deadline has passed, so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import psutil

P06 = [sys.executable, "-m", "p06"]
T = TypeVar("T")


def run_p06(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 180,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`p06 ARGS` to its end, its output captured as text; env replaces the environment when given."""
    return subprocess.run(
        [*P06, *args],
        env=None if env is None else dict(env),
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class P06Process:
    """`p06 ARGS...` (or any argv) as a child: logged, its PID kept, always stopped.

    own_group: a process group of its own (a test's or the benchmark's child, stopped with whatever it
    started); `p06 up` keeps its children in its own group instead, so a terminal's Ctrl-C reaches them.
    measure_rss: the peak RSS of it and its children, sampled every 100 ms (the benchmark's figure).
    env: P06_* (or any) variables on top of base_env, by default this process's environment.
    """

    def __init__(
        self,
        args: list[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        *,
        argv: list[str] | None = None,
        cwd: Path | None = None,
        own_group: bool = True,
        measure_rss: bool = True,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.log = log
        self.own_group = own_group
        self._out = open(log, "ab")
        self.started = time.time()
        self.proc = subprocess.Popen(
            argv or [*P06, *args],
            cwd=cwd,
            env={**(os.environ if base_env is None else base_env), "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=own_group,
        )
        self.peak_rss = 0
        self._stop = threading.Event()
        if measure_rss:
            threading.Thread(target=self._sample, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.proc.pid)
            while not self._stop.is_set() and self.proc.poll() is None:
                rss = 0
                for p in [root, *root.children(recursive=True)]:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_rss = max(self.peak_rss, rss)
                time.sleep(0.1)
        except psutil.Error:
            pass

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    @property
    def peak_rss_mb(self) -> float:
        return round(self.peak_rss / 2**20, 1)

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def failure(self) -> str | None:
        """None while it runs; otherwise how it ended, with the end of its log."""
        if self.alive:
            return None
        return f"{self.log.name} exited with {self.proc.returncode}:\n{self.tail(40)}"

    def wait_until(self, check: Callable[[], T | None], timeout_s: float | None, what: str, poll_s: float = 0.5) -> T:
        """check()'s first truthy answer; RuntimeError if the process ends first, TimeoutError after timeout_s."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            got = check()
            if got:
                return got
            if failure := self.failure():
                raise RuntimeError(f"{failure}\n(while waiting for {what})")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"no {what} from {self.log.name} in {timeout_s}s:\n{self.tail(40)}")
            time.sleep(poll_s)

    def wait_for_line(self, text: str, timeout_s: float, poll_s: float = 1.0) -> None:
        """Until text appears in the log."""
        self.wait_until(lambda: text in self.log.read_text(errors="replace"), timeout_s, repr(text), poll_s)

    def wait_exit(self, timeout_s: float | None = None) -> bool:
        """Whether it ended within timeout_s."""
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def signal(self, sig: signal.Signals) -> None:
        """sig to its group (own_group) or to it alone; nothing if it is gone."""
        try:
            if self.own_group:
                os.killpg(self.proc.pid, sig)
            else:
                os.kill(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown code runs."""
        self.signal(signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self) -> None:
        """SIGTERM, without waiting: `stop` or `stop_all` waits."""
        self._stop.set()
        if self.alive:
            self.signal(signal.SIGTERM)

    def close(self) -> None:
        self._stop.set()
        self._out.close()

    def stop(self, timeout_s: float = 30) -> bool:
        """TERM, KILL if it lingers past timeout_s: nothing is ever left behind. Whether it had to be killed."""
        return bool(stop_all({"": self}, timeout_s))


def stop_all(processes: Mapping[str, P06Process], grace_s: float) -> list[str]:
    """SIGTERM to every one, then SIGKILL to each still running when grace_s has passed; the names killed."""
    for p in processes.values():
        p.terminate()
    deadline, killed = time.monotonic() + grace_s, []
    for name, p in processes.items():
        if not p.wait_exit(max(0.0, deadline - time.monotonic())):
            p.kill()
            killed.append(name)
    for p in processes.values():
        p.close()
    return killed
