"""The report data, typed: a report at a date (national or one province), a review between two dates, and
what the 2024 map adds to each. Each is a TypedDict, so the json is the dict itself (keys in the order the
builders write them); a `Document` says which kind it holds, so no renderer guesses it from the keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

from schemas.i18n import Texts
from schemas.maps import OLD

Figures = dict[str, int]
Indicators = dict[str, float | None]
Scope = Literal["national", "province"]

# The headline scopes' names in json and csv: the Vietnamese ones, like the registry's names.
SCOPE_TITLES: dict[str, str] = {s: Texts("vi").scope(s) for s in ("nation", "urban", "rural")}


class Completeness(TypedDict):
    wards: int
    reporting: int
    reporting_share: float | None
    timely: int
    timely_share: float | None


class Trend(TypedDict):
    dates: list[str]
    indicators: dict[str, list[float | None]]


class Straddling(TypedDict):
    """A 2025 unit that lies in several 2024 provinces: its figures are listed apart, never split."""

    code: str
    name: str
    level: str
    old_provinces: dict[str, str]
    figures: Figures
    events: int


# --- a report at a date (`p06 report national|province [--as-of]`) ------------------------------------


class NationalIndicators(TypedDict):
    nation: Indicators
    urban: Indicators
    rural: Indicators
    provinces: dict[str, Indicators]


class NationalEvents(TypedDict):
    nation: int
    urban: int
    rural: int
    provinces: dict[str, int]


class NationalCompleteness(TypedDict):
    nation: Completeness
    provinces: dict[str, Completeness]


# What a report covers: [from, to) as instants on the country's clock (P06_TIMEZONE); from null: since the start
Covers = TypedDict("Covers", {"from": str | None, "to": str})


class Stamp(TypedDict):
    """A report at a date begins with these: as_of (its last instant), the country's zone, what it covers."""

    as_of: str
    timezone: str
    covers: Covers


class NationalReport(TypedDict):
    as_of: str
    timezone: str
    covers: Covers
    nation: Figures
    provinces: dict[str, Figures]
    urban: Figures
    rural: Figures
    names: dict[str, str]
    indicators: NationalIndicators
    events: NationalEvents
    trend: Trend
    completeness: NationalCompleteness
    # on the 2024 map (sinks.reports.oldmap)
    map: NotRequired[str]
    became: NotRequired[dict[str, list[str]]]
    cannot_split: NotRequired[list[Straddling]]
    # marked against the last export (sinks.reports.report.mark_changes)
    last_export: NotRequired[str | None]
    changed_since_last_export: NotRequired[dict[str, Figures]]


class WardRow(TypedDict):
    name: str
    area: str | None
    figures: Figures
    last_reported_at: str | None
    events: int


class ProvinceReport(TypedDict):
    map: NotRequired[str]  # on the 2024 map, first
    as_of: str
    timezone: str
    covers: Covers
    code: str
    name: str
    became: NotRequired[list[str]]  # on the 2024 map
    figures: Figures
    indicators: Indicators
    events: int
    completeness: Completeness
    trend: Trend
    wards: dict[str, WardRow]
    cannot_split: NotRequired[list[Straddling]]  # on the 2024 map
    last_export: NotRequired[str | None]
    changed_since_last_export: NotRequired[dict[str, Figures]]


# --- a review between two dates (`p06 report ... --from --to`) -----------------------------------------


class Projection(TypedDict):
    target: float
    status: str  # projected, reached, no data, not at this pace
    date: str | None


# "from" is a keyword: the functional form keeps the json's keys
IndicatorChange = TypedDict(
    "IndicatorChange", {"from": float | None, "to": float | None, "change": float | None, "projected": Projection}
)
FiguresChange = TypedDict("FiguresChange", {"from": Figures, "to": Figures, "change": Figures})


class ReviewScope(TypedDict):
    """One scope's review: figures at both ends and the change, indicators, events, completeness."""

    code: str
    name: str
    figures: FiguresChange
    indicators: dict[str, IndicatorChange]
    events: dict[str, int]  # from, to, period (sinks.reports.oldmap sums them like figures)
    completeness: Completeness
    area: NotRequired[str | None]  # a ward's
    level: NotRequired[str]  # a unit that cannot be split (2024 map)
    old_provinces: NotRequired[dict[str, str]]  # idem


class Ranked(TypedDict):
    code: str
    name: str
    value: float | None


class Backwards(TypedDict):
    code: str
    name: str
    indicators: list[str]


ReviewFrame = TypedDict(
    "ReviewFrame",
    {
        "kind": Scope,
        "code": str,
        "name": str,
        "from": str,
        "to": str,
        "from_at": str,
        "to_at": str,
        "timezone": str,
        "covers": Covers,
        "goals": list[str],
        "timely_hours": float,
    },
)


class Review(ReviewFrame):
    """A review: its frame (what, between which ends), then the scopes, the units ranked, the trend."""

    map: NotRequired[str]  # on the 2024 map
    became: NotRequired[list[str]]  # a province on the 2024 map
    units_are: str
    scopes: dict[str, ReviewScope]
    units: dict[str, ReviewScope]
    rankings: dict[str, list[Ranked]]
    backwards: list[Backwards]
    trend: Trend
    cannot_split: NotRequired[list[ReviewScope]]  # on the 2024 map


# --- what the renderers are given -----------------------------------------------------------------------


@dataclass(frozen=True)
class NationalDocument:
    data: NationalReport
    map: str

    @property
    def on_old_map(self) -> bool:
        return self.map == OLD


@dataclass(frozen=True)
class ProvinceDocument:
    data: ProvinceReport
    map: str

    @property
    def on_old_map(self) -> bool:
        return self.map == OLD


@dataclass(frozen=True)
class ReviewDocument:
    data: Review
    map: str

    @property
    def on_old_map(self) -> bool:
        return self.map == OLD


AtDate = NationalDocument | ProvinceDocument
Document = NationalDocument | ProvinceDocument | ReviewDocument
