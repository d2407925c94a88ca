"""The one way the benchmark and the tests run `p06` processes: the caller's P06_* environment on top
of ours, output in a log file, a process group of its own, peak RSS sampled, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

P06 = [sys.executable, "-m", "p06"]


class P06Process:
    """`p06 ARGS...` (or any argv) and its children, their peak RSS sampled every 100 ms until it stops."""

    def __init__(
        self,
        args: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        *,
        argv: list[str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.log = log
        self._out = open(log, "ab")
        self.started = time.time()
        self.proc = subprocess.Popen(
            argv or [*P06, *args],
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.peak_rss = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

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
    def peak_rss_mb(self) -> float:
        return round(self.peak_rss / 2**20, 1)

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def failure(self) -> str | None:
        """None while it runs; otherwise how it ended, with the end of its log."""
        if self.alive:
            return None
        return f"{self.log.name} exited with {self.proc.returncode}:\n{self.tail(40)}"

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown code runs."""
        self._signal_group(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout_s: float = 30) -> None:
        """TERM the process group, KILL it if it lingers: nothing is ever left behind."""
        self._stop.set()
        if self.alive:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()
