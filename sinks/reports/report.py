"""Report data: the figures at a date, the indicators, reporting completeness, and what changed.

The json shape is /api/live's (nation, provinces, urban, rural) plus indicators, completeness,
the registry's names, how many distinct archived events back each figure (`events`), and
`changed_since_last_export`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.calendar import calendar
from schemas.hierarchy import NATION, roll_up
from schemas.metrics import INDICATORS, indicator_values
from schemas.registry import registry
from schemas.settings import Settings
from schemas.times import from_warehouse
from sinks.reports.model import (
    AtDate,
    Completeness,
    NationalDocument,
    NationalReport,
    ProvinceReport,
    Stamp,
    Trend,
    WardRow,
)
from sinks.warehouse import figures
from sinks.warehouse.reader import Reader
from stack.files import write_private


def moment(as_of: date | None) -> datetime:
    """The last instant a report at as_of covers (the end of that day of the country's calendar), or now."""
    return figures.end_of_day(as_of) or datetime.now(UTC)


def stamp(at: datetime, as_of: date | None) -> Stamp:
    """The keys a report at a date starts with: as_of on the country's clock, the zone, and the exact
    instants it covers: [from, to), from null (everything before), to the next local midnight (or now)."""
    cal = calendar()
    end = datetime.now(UTC) if as_of is None else cal.day(as_of)[1]
    return {
        "as_of": cal.local(at).isoformat(),
        "timezone": cal.name,
        "covers": {"from": None, "to": cal.local(end).isoformat()},
    }


def completeness(activity: dict[str, dict], wards: list[str], at: datetime, silent_after_hours: float) -> Completeness:
    """DHIS2-style: wards that reported at all (completeness) and recently enough (timeliness)."""
    since = at - timedelta(hours=silent_after_hours)
    reported = [w for w in wards if w in activity]
    timely = [w for w in reported if from_warehouse(activity[w]["last_reported_at"]) >= since]
    total = len(wards)
    return {
        "wards": total,
        "reporting": len(reported),
        "reporting_share": len(reported) / total if total else None,
        "timely": len(timely),
        "timely_share": len(timely) / total if total else None,
    }


def event_counts(activity: dict[str, dict]) -> dict[str, int]:
    """Distinct archived events per scope (nation, urban, rural, each province and ward): what backs each figure."""
    rolled = roll_up(((code, {"events": seen["events"]}) for code, seen in activity.items()), metrics=("events",))
    return {("nation" if scope == NATION else scope[1]): total["events"] for scope, total in rolled.items()}


def trend(reader: Reader, scope: str, code: str, as_of: date | None, provinces: int) -> Trend:
    """Each indicator at the end of every day with data, up to as_of: the trend lines."""
    series = [
        (d, f)
        for d, f in figures.daily_series(reader, (scope,)).get(code, [])
        if as_of is None or d <= as_of.isoformat()
    ]
    values = [indicator_values(f, provinces=provinces) for _, f in series]
    return {"dates": [d for d, _ in series], "indicators": {i.name: [v[i.name] for v in values] for i in INDICATORS}}


def national(reader: Reader, settings: Settings, as_of: date | None = None) -> NationalReport:
    reg = registry()
    figs = figures.from_rollups(reader, as_of)
    provinces = {p: figs["provinces"].get(p, figures.zero()) for p in reg.provinces}
    at = moment(as_of)
    act = figures.activity(reader, as_of)
    all_wards = [w for p in reg.provinces for w in reg.wards_by_province[p]]
    events = event_counts(act)
    return {
        **stamp(at, as_of),
        "nation": figs["nation"],
        "provinces": provinces,
        "urban": figs["urban"],
        "rural": figs["rural"],
        "names": {p: reg.localities[p].name for p in reg.provinces},
        "indicators": {
            "nation": indicator_values(figs["nation"], provinces=len(reg.provinces)),
            "urban": indicator_values(figs["urban"], provinces=0),  # tasks are reported by provinces only
            "rural": indicator_values(figs["rural"], provinces=0),
            "provinces": {p: indicator_values(f) for p, f in provinces.items()},
        },
        "events": {
            "nation": events.get("nation", 0),
            "urban": events.get("urban", 0),
            "rural": events.get("rural", 0),
            "provinces": {p: events.get(p, 0) for p in reg.provinces},
        },
        "trend": trend(reader, "nation", "VN", as_of, len(reg.provinces)),
        "completeness": {
            "nation": completeness(act, all_wards, at, settings.silent_after_hours),
            "provinces": {
                p: completeness(act, list(reg.wards_by_province[p]), at, settings.silent_after_hours)
                for p in reg.provinces
            },
        },
    }


def province(reader: Reader, settings: Settings, code: str, as_of: date | None = None) -> ProvinceReport:
    reg = registry()
    place = reg.get(code)
    if place is None or place.level != "province":
        raise ValueError(f"{code!r} is not a province code (two digits, e.g. 01)")
    figs = figures.from_rollups(reader, as_of)
    act = figures.activity(reader, as_of, province=code)
    wards = reg.wards_by_province[code]
    own = figs["provinces"].get(code, figures.zero())
    return {
        **stamp(moment(as_of), as_of),
        "code": code,
        "name": place.name,
        "figures": own,
        "indicators": indicator_values(own),
        "events": event_counts(act).get(code, 0),
        "completeness": completeness(act, list(wards), moment(as_of), settings.silent_after_hours),
        "trend": trend(reader, "province", code, as_of, 1),
        "wards": ward_rows(figs, act, wards),
    }


def flat_figures(doc: AtDate) -> dict[str, dict[str, int]]:
    """scope -> figures, for either report kind: what exports are compared on."""
    if isinstance(doc, NationalDocument):
        r = doc.data
        return {"nation": r["nation"], "urban": r["urban"], "rural": r["rural"], **r["provinces"]}
    p = doc.data
    return {p["code"]: p["figures"], **{w: v["figures"] for w, v in p["wards"].items()}}


def mark_changes(doc: AtDate, snapshot: Path) -> AtDate:
    """Add changed_since_last_export: {scope: {metric: previous value}} against the last export."""
    previous = json.loads(snapshot.read_text()) if snapshot.exists() else None
    changed: dict[str, dict[str, int]] = {}
    if previous is not None:
        for scope, values in flat_figures(doc).items():
            before = previous["figures"].get(scope, {})
            diff = {m: before.get(m, 0) for m, v in values.items() if before.get(m, 0) != v}
            if diff:
                changed[scope] = diff
    doc.data["last_export"] = previous["exported_at"] if previous else None
    doc.data["changed_since_last_export"] = changed
    return doc


def record_export(doc: AtDate, snapshot: Path) -> None:
    data = {
        "exported_at": datetime.now(UTC).isoformat(),
        "as_of": doc.data["as_of"],
        "figures": flat_figures(doc),
    }
    write_private(snapshot, json.dumps(data, ensure_ascii=False))  # atomic: a crash never leaves half of it


def snapshot_path(settings: Settings, kind: str) -> Path:
    return settings.data_dir / "reports" / f"last-export-{kind}.json"


def ward_rows(figs: dict[str, Any], act: dict[str, dict[str, Any]], wards: Iterable[str]) -> dict[str, WardRow]:
    """A province report's rows: each ward's name, area, figures, last report and events."""
    reg = registry()
    return {
        w: {
            "name": reg.localities[w].name,
            "area": reg.localities[w].area,
            "figures": figs["wards"].get(w, figures.zero()),
            "last_reported_at": act.get(w, {}).get("last_reported_at"),
            "events": act.get(w, {}).get("events", 0),
        }
        for w in wards
    }
