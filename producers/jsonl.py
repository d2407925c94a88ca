"""JSON Lines input read with a bound: a huge line is reported, never held in memory whole."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from schemas.events import MAX_MESSAGE_BYTES

READ_CHUNK = 1 << 16
KEPT_OF_OVERSIZED = 1024  # what a rejects file keeps of a line too long to be an event


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based
    data: bytes  # without the line ending; only the head of an oversized line
    size: int  # bytes read for this line, ending included
    error: str | None = None  # set when the line cannot be an event whatever it holds


def read_lines(stream: BinaryIO, limit: int = MAX_MESSAGE_BYTES) -> Iterator[Line]:
    """Every non-blank line of a stream, oversized ones flagged and skipped to their end."""
    number = 0
    while line := stream.readline(limit + 2):  # room for the longest allowed line and its \r\n
        number += 1
        size = len(line)
        if not line.endswith(b"\n") and len(line) == limit + 2:
            head, rest = line[:KEPT_OF_OVERSIZED], line
            while rest and not rest.endswith(b"\n"):
                rest = stream.readline(READ_CHUNK)
                size += len(rest)
            yield Line(number, head, size, f"line of {size} bytes, longer than the {limit} an event may have")
            continue
        data = line.rstrip(b"\r\n")
        if data.strip():
            yield Line(number, data, size)
