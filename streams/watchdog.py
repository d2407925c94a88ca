"""Restart a worker whose table recovery has stopped moving.

faust-streaming 0.15.3 sometimes never reads a changelog partition a rebalance gave it: its recovery
waits for ever ("No event received for active tp ... since recovery start") and the events of that
partition are never counted (the CI failure of the two-worker test; seen again in one of about 30
runs on a loaded machine; its cause inside Faust is not found). The worker then stops gracefully (it
leaves the group and closes its stores) and starts again in the same process (os.execv), and the
new process recovers from scratch.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Hashable
from dataclasses import dataclass

log = logging.getLogger(__name__)
_restart_requested = False


@dataclass
class RecoveryWatch:
    """Says when a recovery has made no progress for `stall_after_s` seconds."""

    stall_after_s: float
    _progress: Hashable = None
    _since: float | None = None

    def stalled(self, in_recovery: bool, progress: Hashable, now: float) -> bool:
        if not in_recovery:
            self._since = None
            return False
        if self._since is None or progress != self._progress:
            self._progress, self._since = progress, now
            return False
        return now - self._since >= self.stall_after_s


def request_restart(reason: str) -> None:
    """Stop the worker as SIGTERM would; `restart_if_requested` then starts it again."""
    global _restart_requested
    if not _restart_requested:
        log.error("%s: restarting the worker", reason)
        _restart_requested = True
        os.kill(os.getpid(), signal.SIGTERM)


def restart_if_requested() -> None:
    if _restart_requested:
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
