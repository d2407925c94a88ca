"""Store-and-forward: Kafka messages that could not be delivered wait on local disk, in order.

The spool is a folder of segment files, one per spooling call, named so that they sort in the order
they were written. A segment is written to a temporary name, fsync'd, then renamed: the rename is the
commit point, so a process killed at any moment leaves either a whole segment or none. A segment is
deleted only once the broker acknowledged every message in it; a crash in between redelivers it, which
is harmless because the pipeline counts each event_id once.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".seg"


@dataclass(frozen=True, slots=True)
class Message:
    """One Kafka message: key = locality, value = one event or a batch of events of that locality."""

    key: str
    value: bytes
    events: int


def _line(m: Message) -> bytes:
    # A key is a locality code (no tab) and a value holds no newline (the publisher sees to it); the
    # value is last, so a tab in it (JSON whitespace in a line as sent) is read back whole.
    return b"%s\t%d\t%s\n" % (m.key.encode(), m.events, m.value)


def _message(line: bytes) -> Message:
    key, events, value = line.rstrip(b"\n").split(b"\t", 2)
    return Message(key.decode(), value, int(events))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """The durable queue of one topic's undelivered messages under a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def segments(self) -> list[Path]:
        return sorted(self.folder.glob(f"*{SUFFIX}"))

    def pending_events(self) -> int:
        return sum(m.events for segment in self.segments() for m in self.read(segment))

    def __bool__(self) -> bool:
        return bool(self.segments())

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise spool users across processes, so that two drains do not interleave."""
        with open(self.folder / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def append(self, messages: list[Message]) -> None:
        """Write messages as a new segment; when this returns they survive a crash or power loss."""
        if messages:
            name = f"{time.time_ns():020d}-{os.getpid()}"
            self._write(self.folder / f"{name}{SUFFIX}", messages)

    def replace(self, segment: Path, remaining: list[Message]) -> None:
        """Keep only a segment's undelivered messages (all of it delivered: drop it)."""
        if remaining:
            self._write(segment, remaining)
        else:
            segment.unlink(missing_ok=True)
            _fsync_dir(self.folder)

    def read(self, segment: Path) -> list[Message]:
        return [_message(line) for line in segment.read_bytes().splitlines(keepends=True)]

    def _write(self, target: Path, messages: list[Message]) -> None:
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(b"".join(_line(m) for m in messages))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(self.folder)
