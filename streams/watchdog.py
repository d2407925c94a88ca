"""The worker process's guards: a restart when table recovery stops moving, a deadline on shutdown.

Shutdown: with the broker gone, Faust's stop waits for ever on its producer flush and offset commit
(seen under `p06 up` after `p06 stack down`: the worker ignored SIGTERM for minutes). The worker
needs no clean stop to stay exact (it is SIGKILLed mid-stream in the fault suite), so a stop that
takes longer than SHUTDOWN_DEADLINE_S ends the process.

Restart:

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
import threading

import faust

SHUTDOWN_DEADLINE_S = 10.0

log = logging.getLogger(__name__)
_restart_requested = False


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


class Worker(faust.Worker):
    """faust.Worker whose stop, once begun, ends the process within SHUTDOWN_DEADLINE_S."""

    async def on_stop(self) -> None:
        timer = threading.Timer(SHUTDOWN_DEADLINE_S, _exit_now)
        timer.daemon = True
        timer.start()
        await super().on_stop()


def _exit_now() -> None:
    log.error(
        "the worker did not stop within %.0f s (is Kafka reachable?); exiting without waiting: "
        "its state is safe and the next start resumes from it",
        SHUTDOWN_DEADLINE_S,
    )
    logging.shutdown()
    restart_if_requested()
    os._exit(1)
