"""Records taken from the events topic since the last commit: the rows of their events at home, and the
offsets they span per partition (step 1 of the sink's protocol, sinks/ingest/checkpoint.py).

Only records at home are archived, by the live worker's own test (stack.partitions.counted_locality):
the Kafka key is the event's locality and the record lies in that locality's home partition
(stack.partitions). The worker sends any other event again, under its own key, to its home
partition, where this sink archives it; so all copies of an event are in one partition and the
archive's lowest offset is the first copy, the one that counts (issue 11).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from schemas.events import parse_message
from schemas.metrics import identity
from schemas.names import SOURCE_TOPIC_HEADER
from sinks.warehouse.archive import Columns, now
from stack.partitions import counted_locality

log = logging.getLogger("p06.sink")


class Batch:
    """Records taken since the last commit: their rows and, per partition, the offsets they span."""

    def __init__(self, topic: str, partitions: int = 0) -> None:
        self.topic = topic
        self.partitions = partitions  # of the events topic as the broker has them; set before the first add()
        self.columns = Columns()
        self.offsets: dict[int, tuple[int, int]] = {}
        self.messages = 0
        self.rejected = 0
        self.away_from_home = 0
        self.largest_message = 0  # events in the largest message so far
        self.newest_ms = 0  # the newest Kafka timestamp among its records

    def add(
        self,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        events, rejections = parse_message(value, timestamp_ms / 1000)  # judged as the worker judges it
        self.newest_ms = max(self.newest_ms, timestamp_ms)
        received = now()
        appended = datetime.fromtimestamp(timestamp_ms / 1000, UTC)  # the broker's stamp (0009_periods.sql)
        home = counted_locality(key, partition, self.partitions)  # the worker's test, the same function
        sent_via = next((v.decode() for k, v in headers if k == SOURCE_TOPIC_HEADER), self.topic)
        seen: set[tuple[str, str]] = set()  # copies within one message share its offset
        away = 0
        for event in events:
            if event.locality != home:
                away += 1  # archived when the worker's copy arrives at home
                continue
            this = identity(event)
            if this in seen:
                continue  # a later copy in the same message: the first one counts, as in the worker
            seen.add(this)
            self.columns.add(event, self.topic, partition, offset, received, appended, sent_via)
        if away:
            self.away_from_home += away
            log.debug(
                "%s[%d]@%d: %d event(s) away from home (key %r, %d partitions): not archived here",
                self.topic,
                partition,
                offset,
                away,
                key,
                self.partitions,
            )
        self.rejected += len(rejections)
        self.messages += 1
        self.largest_message = max(self.largest_message, len(events))
        first, _ = self.offsets.get(partition, (offset, offset))
        self.offsets[partition] = (first, offset)
