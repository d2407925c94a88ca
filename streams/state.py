"""The state of one locality, as the worker keeps it: exact under resends, reordering and replays,
and stored as small records so that what an event costs does not grow with the history behind it.

An event is identified by its event_id and the UTC day it occurred. A state entity (a task, a village,
a system) keeps its latest report that is not void (below); a flow counts once. So
applying an event is idempotent and order-free, and the figures are a function of the set of events
seen. Copies of one event with different content: the first applied counts, the others are CONFLICT.

Records of the worker's `state` table, all in the locality's partition (one writer each):
  "<locality>"                 figures, events received, freshness, each task, village or system's
                               current report {kind: {id: [original_us, original_id, vector]}}, and the
                               open day (the newest day with events): bounded by the locality's size
                               (225 tasks at most) and one day, not by its history; its events per
                               month of the country's calendar, the newest 13 months (for the alerts);
                               and "redo": the earlier days' records its write changed (writes() says why)
  "<locality>/d/<yyyy-mm-dd>"  an earlier UTC day: the events that occurred then, {event_id: digest},
                               the day's flow counts per hour, and the flow reports of originals that
                               occurred that day {"<type>|<id>|<µs>": [occurred_us, event_id, *counts]}
                               (the counted event of each), the state reports of originals that
                               occurred that day that a correction counts for, {"<entity>|<id>|<µs>":
                               [occurred_us, event_id, vector or None when void]}, and how many chunks
                               hold the others; written when the day closes, or when a late event or a
                               correction for it arrives
  "<locality>/s/<yyyy-mm-dd>/<n>"  the state reports of that day's originals that the original counts for,
                               {"<entity>|<id>|<µs>": vector without trailing zeros}, as one write added
                               them: appended, never rewritten, read only when a correction needs them

A report is an original and the corrections naming it (schemas.metrics.report_of): the latest of them
counts, in the original's place. A flow's report counts in the original's hour; a state entity's
current report is its latest by the original's instant whose counted event is not void (a void one
falls back to the report before it, read from the earlier days). A correction's own day keeps its
identity; the original's day its report.
So a batch of today's events writes one record per locality, and no record grows with history.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any

import faust
import orjson

from schemas.alerts import recent_months
from schemas.calendar import Calendar, MonthOf
from schemas.events import EARLIEST, Event
from schemas.metrics import (
    FLOW_METRICS,
    FLOW_TYPES,
    METRICS,
    content_digest,
    contribution,
    day_of,
    entity_of,
    key_instant,
    key_parts,
    own_key,
    report_key,
    report_of,
    version,
)

TABLE = "state"  # the Faust table holding these records
HOUR_S, DAY_S = 3600, 86_400
WINDOW_DAYS = 35  # hour buckets the snapshot carries, back from the locality's newest event
_FIRST_DAY = int(EARLIEST.timestamp()) // DAY_S  # no event occurs before it: where a walk back ends
DAYS_KEPT = 8  # day records kept in memory per locality after a batch; older ones are read again when needed
# The four flow metrics, in the order hour buckets store them.
_FLOW_INDEX = [METRICS.index(m) for m in FLOW_METRICS]

Read = Callable[[str], Any]
COUNTRY_MONTHS = MonthOf(Calendar())  # the default zone's; the worker passes P06_TIMEZONE's


def changelog_topic(app_id: str) -> str:
    """The topic Faust keeps the table in; a takeover restores the state from it."""
    return f"{app_id}-{TABLE}-changelog"


class Records:
    """The `state` table as the worker reads and writes it: each record serialised once, by orjson.

    The Faust table holds bytes (`value_type=bytes`, its raw codec). With Faust's JSON codec every write
    was serialised twice, for the RocksDB store and for the changelog record: 9% of the worker's samples
    (docs/profiles.md). The bytes are JSON as before, so a changelog written before reads the same."""

    def __init__(self, table: faust.Table) -> None:
        self.table = table

    def get(self, key: str) -> Any:
        raw = self.table.get(key)
        return None if raw is None else orjson.loads(raw)

    def __setitem__(self, key: str, record: Any) -> None:
        self.table[key] = orjson.dumps(record)


class Outcome(enum.Enum):
    COUNTED = "counted"  # first sight of this event
    RESENT = "resent"  # seen before, same content: nothing to do
    CONFLICT = "conflict"  # seen before with other content: the first copy counts


class Day:
    """One UTC day of one locality: the events that occurred then, and its flow counts per hour."""

    __slots__ = ("ids", "hours", "reports", "corrected", "links", "chunks", "fresh", "originals")

    def __init__(self, record: dict[str, Any] | None = None) -> None:
        self.ids: dict[str, int] = dict(record["ids"]) if record else {}
        self.hours: dict[int, list[int]] = {h: counts for h, *counts in record["hours"]} if record else {}
        # Flow reports of this day's originals: the counted event's version and counts.
        self.reports: dict[str, list[Any]] = dict(record.get("reports") or {}) if record else {}
        # State reports of this day's originals that a correction counts for: its version and vector (None: void).
        self.corrected: dict[str, list[Any]] = dict(record.get("corrected") or {}) if record else {}
        # This day's corrections: own key -> the key each names, so a chain resolves to its original.
        self.links: dict[str, str] = dict(record.get("links") or {}) if record else {}
        # State reports of this day's originals that the original counts for ({key: vector without its trailing
        # zeros}): appended, never rewritten, each write's new ones in a chunk record of their own (chunks: how
        # many), so a day's reports cost their own bytes once. Read only when a correction needs them.
        self.chunks: int = record.get("chunks", 0) if record else 0
        self.fresh: dict[str, list[int]] = {}  # since the last write: the next chunk
        self.originals: dict[str, list[int]] | None = None if self.chunks else {}  # the chunks', once read

    def to_record(self) -> dict[str, Any]:
        record = {"ids": self.ids, "hours": [[h, *counts] for h, counts in self.hours.items()], "reports": self.reports}
        optional = {"corrected": self.corrected, "links": self.links, "chunks": self.chunks}
        return record | {name: value for name, value in optional.items() if value}


def _trimmed(vector: list[int]) -> list[int]:
    """A state's vector without its trailing zeros (a village's is 5 long, a task's 2): what chunks keep."""
    end = len(vector)
    while end and not vector[end - 1]:
        end -= 1
    return vector[:end]


class LocalityState:
    """One locality, loaded record by record from `read` (the table), changed by apply(),
    written back with writes(): only the records changed since the last writes()."""

    def __init__(
        self,
        locality: str,
        read: Read = lambda key: None,
        window_days: int = WINDOW_DAYS,
        month_of: MonthOf = COUNTRY_MONTHS,
    ) -> None:
        self.locality, self._read, self.window_days, self.month_of = locality, read, window_days, month_of
        self._months_known = month_of.known  # looked up inline: the counting path's one extra lookup
        record = read(locality) or {}
        self.figures: list[int] = list(record.get("figures") or [0] * len(METRICS))
        self.events: int = record.get("events", 0)  # distinct events received
        self.last_reported_ms: int = record.get("last_reported_ms", 0)  # newest Kafka timestamp
        self.newest_event_us: int = record.get("newest_event_us", 0)  # newest occurred_at
        # The day of the oldest occurred_at: where a walk back through the day records ends (not kept before).
        self.first_day: int = record.get("first_day", _FIRST_DAY)
        self.entities: dict[str, dict[str, list[Any]]] = record.get("entities", {})  # kind -> id -> version
        self.open_day: str = record.get("open_day", "")  # the newest day with events, kept in this record
        # Events counted per month of the country's calendar (a correction in its original's month): what the
        # alert owner judges a reporting period's completeness and arrivals after its approval by.
        self.months: dict[str, int] = record.get("months", {})
        self._told: dict[str, int] = {}  # the months as last told to the alert owner (none yet, once loaded)
        self.days: dict[str, Day] = {}  # read on first use, the recent ones kept
        if self.open_day:
            self.days[self.open_day] = Day(record["open"])
        self._dirty: set[str] = set()
        # The earlier days the last write changed, as it left them: their own records came after this one
        # in the changelog and may be lost (a worker killed before its producer sent them): written again.
        for day, day_record in (record.get("redo") or {}).items():
            self.days[day] = Day(day_record)
            if read(self._day_key(day)) != day_record:
                self._dirty.add(self._day_key(day))
        self.hours: dict[int, list[int]] = {}  # flow counts per hour within the window
        self._window_start = self._start_of_window()
        for day in self._window_days():
            for hour, counts in self._day(day).hours.items():
                self._count_in_window(hour, counts)

    def apply(self, event: Event, received_ms: int) -> Outcome:
        """Fold one valid event in."""
        if received_ms > self.last_reported_ms:
            self.last_reported_ms = received_ms
            self._dirty.add(self.locality)
        occurred_us, event_id = version(event)
        day_key = day_of(occurred_us)
        day = self._day(day_key)
        digest = content_digest(event)
        seen = day.ids.get(event_id)
        if seen is not None:
            return Outcome.RESENT if seen == digest else Outcome.CONFLICT
        day.ids[event_id] = digest
        self.events += 1
        self._dirty.add(self.locality)
        placed = occurred_us if event.supersedes is None else report_of(event)[1]
        month = self._months_known.get(placed // MonthOf.HOUR_US) or self.month_of(placed)
        count = self.months.get(month)
        if count is None:  # a month's first event (rare): the record keeps the newest months only
            self.months = recent_months({**self.months, month: 1})
        else:
            self.months[month] = count + 1
        if day_key > self.open_day:
            self._close_open_day(day_key)
        elif day_key != self.open_day:
            self._dirty.add(self._day_key(day_key))  # a late event: its day's record changes
        day_number = occurred_us // 1_000_000 // DAY_S
        if self.events == 1 or day_number < self.first_day:  # its first event, or an older one
            self.first_day = day_number
        if occurred_us > self.newest_event_us:
            self.newest_event_us = occurred_us
            self._move_window()
        if event.type in FLOW_TYPES:
            self._count_flow(event, occurred_us, event_id)
        else:
            self._count_state(event, occurred_us, event_id, day)
        return Outcome.COUNTED

    def _count_flow(self, event: Event, occurred_us: int, event_id: str) -> None:
        """Its report's counted event becomes this one if it is the latest: the difference goes into
        the original's hour, so a correction arriving before or after its original counts the same.
        A correction links its own key to the one it names: a report of events that named it before it
        arrived (a chain) moves into the report it joins."""
        v = contribution(event)
        mine = [occurred_us, event_id, *(v[i] for i in _FLOW_INDEX)]
        if event.supersedes is None:
            self._offer(report_key(event), mine)
            return
        own, named = own_key(event), report_key(event)
        day = self._day(day_of(occurred_us))
        day.links[own] = named
        root = self._root(named)
        orphan = day.reports.pop(own, None)
        if orphan is not None:  # corrections naming this one arrived first: counted in its hour until now
            self._put(day, occurred_us, [-c for c in orphan[2:]])
            self._offer(root, orphan)
        self._offer(root, mine)

    def _count_state(self, event: Event, occurred_us: int, event_id: str, day: Day) -> None:
        """The event (of `day`) joins its report as a flow's does; its entity's current report is then settled."""
        vector = None if event.void else list(contribution(event))
        mine: list[Any] = [occurred_us, event_id, vector]
        if event.supersedes is None:  # an original: its report is its own, in its own day
            entity = entity_of(event) or ""
            key = f"{entity}|{event_id}|{occurred_us}"  # report_key's
            if vector is not None and key not in day.corrected:  # no correction of it arrived first
                day.fresh[key] = _trimmed(vector)
                self._settle(entity, (occurred_us, event_id), vector)
            return
        own, named = own_key(event), report_key(event)
        day.links[own] = named
        root = self._root(named)
        orphan = day.corrected.pop(own, None)
        if orphan is not None:  # corrections naming this one arrived first: a report of their own until now
            self._settle(*key_parts(own), None)
            self._offer_state(root, orphan)
        self._offer_state(root, mine)

    def _offer_state(self, key: str, held_now: list[Any]) -> None:
        """held_now ([occurred_us, event_id, vector or None]), a correction, counts for state report `key`
        if it is its latest."""
        day_key = day_of(key_instant(key))
        day = self._day(day_key)
        if day_key != self.open_day:
            self._dirty.add(self._day_key(day_key))
        held = self._state(day_key, day, key)
        if held is not None and (held[0], held[1]) >= (held_now[0], held_now[1]):
            return
        day.corrected[key] = held_now
        self._settle(*key_parts(key), held_now[2])

    def _state(self, day_key: str, day: Day, key: str) -> list[Any] | None:
        """State report `key`'s counted event, [occurred_us, event_id, vector or None when void], or None."""
        held = day.corrected.get(key)
        if held is not None:
            return held
        vector = day.fresh.get(key) or self._originals(day_key, day).get(key)  # a state's vector is never empty
        return None if vector is None else [*key_parts(key)[1], vector + [0] * (len(METRICS) - len(vector))]

    def _originals(self, day_key: str, day: Day) -> dict[str, list[int]]:
        """The day's original state reports written before, read from its chunk records once."""
        if day.originals is None:
            day.originals = {}
            for n in range(day.chunks):
                day.originals.update(self._read(self._chunk_key(day_key, n)) or {})
        return day.originals

    def _settle(self, entity: str, position: tuple[int, str], vector: list[int] | None) -> None:
        """The entity's report at `position` now counts `vector` (None: void, or the report went): its current
        report is its latest one not void."""
        kind, _, name = entity.partition(":")
        versions = self.entities.setdefault(kind, {})
        current = versions.get(name)
        if current is not None and (current[0], current[1]) > position:
            return  # an earlier report changed: the current one stays
        if vector is None and (current is None or (current[0], current[1]) != position):
            return  # a void report after the current one: the current one stays
        found: list[Any] | None = [*position, vector] if vector is not None else self._latest_before(entity, position)
        if current is not None:
            self._add(current[2], -1)
        if found is None:
            del versions[name]
            return
        versions[name] = found
        self._add(found[2], +1)

    def _latest_before(self, entity: str, position: tuple[int, str]) -> list[Any] | None:
        """The entity's latest report before `position` that is not void ([original_us, original_id, vector]),
        walking the day records back from the position's day; None if it has none."""
        at_day, prefix = position[0] // 1_000_000 // DAY_S, f"{entity}|"
        for day_number in range(at_day, self.first_day - 1, -1):
            day_key = day_of(day_number * DAY_S * 1_000_000)
            day = self._known_day(day_key)
            if day is None:
                continue
            keys = {*day.corrected, *day.fresh, *self._originals(day_key, day)}
            earlier = [key for key in keys if key.startswith(prefix) and key_parts(key)[1] < position]
            for key in sorted(earlier, key=lambda k: key_parts(k)[1], reverse=True):
                held = self._state(day_key, day, key)
                if held is not None and held[2] is not None:
                    return [*key_parts(key)[1], held[2]]
        return None

    def _known_day(self, day: str) -> Day | None:
        """A day's record if it has one (read, not kept, when not in memory)."""
        found = self.days.get(day)
        if found is not None or day == self.open_day:
            return found
        record = self._read(self._day_key(day))
        return None if record is None else Day(record)

    def _root(self, key: str) -> str:
        """The report a key joins: its original's, following the links of the corrections arrived."""
        while (named := self._day(day_of(key_instant(key))).links.get(key)) is not None:
            key = named  # each link names an earlier instant: the walk ends
        return key

    def _offer(self, key: str, held_now: list[Any]) -> None:
        """held_now ([occurred_us, event_id, *counts]) counts for report `key` if it is its latest."""
        original_us = key_instant(key)
        day_key = day_of(original_us)
        day = self._day(day_key)
        if day_key != self.open_day:
            self._dirty.add(self._day_key(day_key))  # a correction of an earlier day: its record changes
        held = day.reports.get(key)
        if held is not None and (held[0], held[1]) >= (held_now[0], held_now[1]):
            return  # a later event of the report counts already
        day.reports[key] = held_now
        old = held[2:] if held is not None else [0] * len(FLOW_METRICS)
        self._put(day, original_us, [c - o for c, o in zip(held_now[2:], old)])

    def _put(self, day: Day, at_us: int, delta: list[int]) -> None:
        """Counts delta into the hour of at_us, of `day` (its day), the figures and the window."""
        hour = at_us // 1_000_000 // HOUR_S * HOUR_S
        bucket = day.hours.setdefault(hour, [0] * len(FLOW_METRICS))
        for i, c in enumerate(delta):
            bucket[i] += c
            self.figures[_FLOW_INDEX[i]] += c
        if hour >= self._window_start:
            self._count_in_window(hour, delta)

    @property
    def changed(self) -> bool:
        return bool(self._dirty)

    def writes(self) -> Iterator[tuple[str, Any]]:
        """The records changed since the last call, as the table stores them: the locality's first, carrying
        the earlier days' changed records too (its redo), then each of those. The changelog keeps a prefix of
        them if the worker dies meanwhile, and any prefix that holds the locality's record holds them all:
        the figures never count an event whose day record was lost, or lose one whose day record stayed."""
        if not self._dirty:
            return
        for day_key, held in self.days.items():  # first: a cut before the records counting them writes them again
            if held.fresh:
                yield self._chunk_key(day_key, held.chunks), held.fresh
                # Not kept in memory: read again from the chunks if a correction needs them (rare).
                held.chunks, held.fresh, held.originals = held.chunks + 1, {}, None
        days = {key.rsplit("/d/", 1)[1] for key in self._dirty if key != self.locality}
        redo = {day: self.days[day].to_record() for day in sorted(days)}
        yield self.locality, self._record() | ({"redo": redo} if redo else {})
        for day, record in redo.items():
            yield self._day_key(day), record
        self._dirty.clear()

    @property
    def days_changed(self) -> int:
        """Earlier days' records changed since the last writes(): what the next locality record carries."""
        return len(self._dirty) - (self.locality in self._dirty)

    def trim(self, keep: int = DAYS_KEPT) -> None:
        """Forget all but the newest day records (after writes(): they are in the table)."""
        if len(self.days) > keep:
            for day in sorted(self.days)[:-keep]:
                del self.days[day]

    def take_months(self) -> dict[str, int]:
        """The months' counts changed since the last call (every month's, once loaded): absolute, so a repeat
        changes nothing where they are kept. A month older than the kept ones is told by the event count."""
        fresh = {month: n for month, n in sorted(self.months.items()) if self._told.get(month) != n}
        self._told = dict(self.months)
        return fresh

    def snapshot(self) -> dict[str, Any]:
        """What the live view needs of this locality: small, and enough to aggregate anywhere."""
        return {
            "figures": list(self.figures),
            "events": self.events,
            "last_reported_ms": self.last_reported_ms,
            "newest_event_us": self.newest_event_us,
            "hours": {str(h): list(c) for h, c in sorted(self.hours.items())},
        }

    def _record(self) -> dict[str, Any]:
        return {
            "figures": self.figures,
            "events": self.events,
            "last_reported_ms": self.last_reported_ms,
            "newest_event_us": self.newest_event_us,
            "first_day": self.first_day,
            "entities": self.entities,
            "months": self.months,
            "open_day": self.open_day,
            "open": self.days[self.open_day].to_record() if self.open_day else None,
        }

    def _close_open_day(self, newer: str) -> None:
        """A newer day opens: the open one moves out of the locality's record into its own."""
        if self.open_day:
            self._dirty.add(self._day_key(self.open_day))
        self.open_day = newer

    def _day_key(self, day: str) -> str:
        return f"{self.locality}/d/{day}"

    def _chunk_key(self, day: str, n: int) -> str:
        return f"{self.locality}/s/{day}/{n}"

    def _day(self, day: str) -> Day:
        found = self.days.get(day)
        if found is None:
            found = self.days[day] = Day(None if day == self.open_day else self._read(self._day_key(day)))
        return found

    def _add(self, vector: list[int], sign: int) -> None:
        for i, v in enumerate(vector):
            if v:
                self.figures[i] += sign * v

    def _start_of_window(self) -> int:
        newest_day = self.newest_event_us // 1_000_000 // DAY_S * DAY_S
        return newest_day - (self.window_days - 1) * DAY_S

    def _window_days(self) -> list[str]:
        if not self.newest_event_us:
            return []
        return [day_of((self._window_start + back * DAY_S) * 1_000_000) for back in range(self.window_days)]

    def _move_window(self) -> None:
        start = self._start_of_window()
        if start != self._window_start:  # once a day, not once an event
            self._window_start = start
            for hour in [h for h in self.hours if h < start]:
                del self.hours[hour]

    def _count_in_window(self, hour: int, counts: list[int]) -> None:
        bucket = self.hours.setdefault(hour, [0] * len(FLOW_METRICS))
        for i, c in enumerate(counts):
            bucket[i] += c
