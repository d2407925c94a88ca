"""Where each events partition stands, kept in the worker's own state rather than in Kafka's offsets.

After each batch the worker writes, per events partition it applied, the offset of the next record
to apply, into the `state` table under a key no locality has, *after* the batch's locality
writes. Faust sends a table write to the changelog partition of the event it acts for, the same number
as the events partition, in order: so wherever the changelog has a partition's position, it also has
every state change that position covers. A worker that takes the partition over restores both together.

On each record the worker compares its offset with the position (`Positions.admit`):
- at or below it: applied again (applying is idempotent, and a locality read afresh republishes its
  snapshot, which a killed worker may not have sent);
- above it: records were skipped (Faust can commit, and then seek, past records nobody applied:
  faust-streaming issues 606, 596, 527, 316). The worker seeks back to its position and drops
  what arrives until that record does; records already fetched before the seek can move Faust's read
  offset past it, so the seek is repeated every RESEEK_S while it waits.
A partition that receives nothing although its log goes past the position is sought back too, by a
timer (`Positions.idle`): right after an assignment this is how reading starts from the position
rather than from the committed offset, when that is at the end and the state behind it.
Kafka's committed offsets are only where reading starts: a commit that is ahead of the state or behind
it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

RESEEK_S = 1.0
IDLE_S = 5.0  # a partition with nothing admitted this long, though its log goes further, is sought back


def position_key(partition: int) -> str:
    return f"~next-offset/{partition}"  # "~": never a locality code


class Verdict(Enum):
    APPLY = "apply"
    DROP = "drop"  # after a gap, until the awaited record arrives
    SEEK = "seek"  # a gap: seek back to `Positions.next[partition]`, drop this one


@dataclass
class Positions:
    """Per events partition: the next offset to apply, and any seek back in progress."""

    next: dict[int, int] = field(default_factory=dict)
    _awaiting: dict[int, float] = field(default_factory=dict)  # partition -> when it last sought back
    _admitted_at: dict[int, float] = field(default_factory=dict)  # partition -> when a record last applied
    gaps: int = 0  # seeks back over records that were skipped, for /metrics

    def forget(self) -> None:
        """After a rebalance: read each partition's position from the (restored) table again."""
        self.next.clear()
        self._awaiting.clear()
        self._admitted_at.clear()

    def known(self, partition: int) -> bool:
        return partition in self.next

    def start(self, partition: int, stored: int | None, earliest: int) -> None:
        """A partition's position as restored with the state; the log's start if it never had one."""
        self.next[partition] = stored if stored is not None else earliest

    def admit(self, partition: int, offset: int, now: float) -> Verdict:
        expected = self.next[partition]
        if offset <= expected:
            self._awaiting.pop(partition, None)
            self._admitted_at[partition] = now
            self.next[partition] = max(expected, offset + 1)
            return Verdict.APPLY
        sought = self._awaiting.get(partition)
        if sought is not None and now - sought < RESEEK_S:
            return Verdict.DROP
        if sought is None:
            self.gaps += 1
        self._awaiting[partition] = now
        return Verdict.SEEK

    def idle(self, partition: int, highwater: int | None, now: float) -> bool:
        """Whether the log has records past the position that are not arriving: seek back to it."""
        if highwater is None or highwater <= self.next[partition]:
            return False
        last = max(self._admitted_at.get(partition, 0.0), self._awaiting.get(partition, 0.0))
        if now - last < IDLE_S:
            return False
        if partition in self._admitted_at:  # not the first look after a (re)start: a real gap
            self.gaps += 1
        self._awaiting[partition] = now
        return True

    def resumed(self, partition: int) -> bool:
        """Whether records of this partition were applied since its position was read."""
        return partition in self._admitted_at

    def skip_to(self, partition: int, earliest: int) -> None:
        """The log no longer starts at the position (retention removed records): nothing to wait for."""
        if earliest > self.next[partition]:
            self.next[partition] = earliest
            self._awaiting.pop(partition, None)
