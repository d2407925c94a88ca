"""The country's calendar: which local day and month an instant belongs to, and the instants they cover.

Every instant stays UTC (schemas/times.py); a day, a month, `--as-of`, `--from/--to` and a reporting
period are read in one zone, P06_TIMEZONE (default Asia/Ho_Chi_Minh). A span is half-open, [start,
end): a day of Hà Nội is [00:00+07:00, 24:00+07:00). The zone's UTC offset must be whole hours at
every instant, so a local day is made of whole UTC hours and the hour rollups (UTC hours) sum exactly
into local days. An event's identity (locality, event_id, UTC day of occurred_at) is not a calendar
matter and stays in schemas/metrics.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
CHECKED_FROM, CHECKED_UNTIL = datetime(2000, 1, 1, 12, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC)  # events: 2000 on
CHECK_EVERY = timedelta(days=3)  # an offset is kept for months (DST) or years, never for a few days
Span = tuple[datetime, datetime]  # [start, end), instants (UTC); local() shows them on the country's clock


@lru_cache(maxsize=8)
def check_zone(name: str) -> str:
    """The name of an IANA zone whose offset is whole hours from 2000 to 2100, or ValueError saying why not."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as Asia/Ho_Chi_Minh") from None
    moment = CHECKED_FROM
    while moment < CHECKED_UNTIL:
        moment += CHECK_EVERY
        offset = moment.astimezone(zone).utcoffset() or timedelta(0)
        if offset % timedelta(hours=1):
            raise ValueError(
                f"{name} is UTC{_offset(offset)} on {moment.date()}: hours are UTC hours, so the zone's offset must"
                " be whole hours (e.g. Asia/Ho_Chi_Minh, +07:00)"
            )
    return name


def _offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def utc_offset(local: datetime) -> str:
    """'UTC+07:00': how a person reads the clock an instant is shown on."""
    return "UTC" + _offset(local.utcoffset() or timedelta(0))


@dataclass(frozen=True)
class Calendar:
    """Days and months in one zone: the zone's name is what JSON output and ClickHouse queries name."""

    name: str = DEFAULT_ZONE

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.name)

    def local(self, instant: datetime) -> datetime:
        """The same instant on the country's clock (an aware value; a naive one is refused)."""
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"{instant!r} has no time zone; its instant is unknown")
        return instant.astimezone(self.zone)

    def day_of(self, instant: datetime) -> date:
        return self.local(instant).date()

    def month_of(self, instant: datetime) -> str:
        """'YYYY-MM', the local month."""
        return self.local(instant).strftime("%Y-%m")

    def start_of(self, day: date) -> datetime:
        """The instant of local midnight at the start of `day`, in UTC: arithmetic on a value with the zone
        itself would be wall-clock arithmetic (a DST day is 23 or 25 hours). `local()` shows it."""
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)

    def day(self, day: date) -> Span:
        return self.start_of(day), self.start_of(day + timedelta(days=1))

    def days(self, first: date, last: date) -> Span:
        """`--from first --to last`: from the start of the first day to the end of the last."""
        return self.start_of(first), self.start_of(last + timedelta(days=1))

    def month(self, month: str) -> Span:
        """'YYYY-MM' -> its first local midnight to the next month's."""
        first = date.fromisoformat(f"{month}-01")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return self.start_of(first), self.start_of(following)

    def end_of(self, day: date) -> datetime:
        """The last instant (microseconds) of `day`: what a report "at" that date (`--as-of`) covers, inclusive."""
        return self.start_of(day + timedelta(days=1)) - timedelta(microseconds=1)

    def today(self, now: datetime | None = None) -> date:
        return self.day_of(now or datetime.now(UTC))

    def covers(self, start: datetime | None, end: datetime) -> dict[str, str | None]:
        """What JSON output says a report covers: the zone and [from, to) as instants on its clock."""
        return {
            "timezone": self.name,
            "from": None if start is None else self.local(start).isoformat(),
            "to": self.local(end).isoformat(),
        }


def calendar() -> Calendar:
    """The country's calendar, from P06_TIMEZONE."""
    from .settings import settings

    return Calendar(settings().timezone)


class MonthOf:
    """The local month ('YYYY-MM') of an instant (µs), for the counting path: one dict lookup per call. A local
    month starts on a whole UTC hour (check_zone), so every instant of a UTC hour shares its month."""

    HOUR_US = 3_600_000_000
    KEPT = 100_000  # hours remembered (about eleven years of them); then it starts afresh

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.known: dict[int, str] = {}

    def __call__(self, instant_us: int) -> str:
        hour = instant_us // self.HOUR_US
        month = self.known.get(hour)
        if month is None:
            if len(self.known) >= self.KEPT:
                self.known.clear()
            month = self.known[hour] = self.cal.month_of(datetime.fromtimestamp(hour * 3600, UTC))
        return month
