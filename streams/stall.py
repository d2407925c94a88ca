"""Says when work has waited with no progress too long: the sign of a stuck client or framework."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class StallWatch:
    """Says when work has been waiting with no progress for `stall_after_s` seconds (a table's recovery in
    the worker, records on the ingestion topics in the admission stage)."""

    stall_after_s: float
    _progress: Hashable = None
    _since: float | None = None

    def stalled(self, busy: bool, progress: Hashable, now: float) -> bool:
        if not busy:
            self._since = None
            return False
        if self._since is None or progress != self._progress:
            self._progress, self._since = progress, now
            return False
        return now - self._since >= self.stall_after_s
