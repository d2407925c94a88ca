"""The period report (`p06 report national --period 2026-11`, `p06 period show`, GET /periods/{period}).

Each province with its status, completeness and timeliness. An approved or accepted province shows its
figures as approved (frozen in its approval, with the archive positions they cover); the events of its
figures the warehouse received beyond those positions are shown apart, "arrived after approval", with
their effect on each figure (its figures now minus as approved): they are counted live as always, and
an approval after a reopen takes them in. Any other province shows its current figures. Figures of a
period are the figures at its end, as `--as-of` its last day shows them (flows up to then, each state's
latest report up to then).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.calendar import Calendar
from schemas.metrics import METRICS
from schemas.periods import check_period, deadline, shown, span
from schemas.registry import registry
from schemas.settings import Settings
from sinks.warehouse.reader import Reader

from . import figures as reads


def _apart(reader: Reader, cal: Calendar, period: str, code: str, approval: dict[str, Any], now: dict) -> dict:
    frozen = approval["figures"]["province"]
    arrived = reads.late(reader, cal, period, code, [int(e) for e in approval["ends"]])
    return {**arrived, "effect": {m: now["province"][m] - frozen[m] for m in METRICS}}


def province_entry(
    reader: Reader, cal: Calendar, period: str, code: str, done: dict[str, Any] | None, counts: dict[str, Any]
) -> dict[str, Any]:
    """One province of the period report."""
    status = done["status_after"] if done else "open"
    now = reads.figures(reader, cal, period, code, None)
    entry: dict[str, Any] = {"name": registry().localities[code].name, "status": status, **counts}
    if status in ("approved", "accepted") and done is not None:
        approval = done if done["action"] == "approve" else _approval_of(reader, period, code)
        entry |= {"figures_are": "approved", "figures": approval["figures"]["province"]}
        entry |= {"wards_figures": approval["figures"]["wards"], "last_action": _who(done)}
        entry |= {"approved": {**_who(approval), "covers_positions": approval["ends"]}}
        entry["arrived_after_approval"] = _apart(reader, cal, period, code, approval, now)
    else:
        entry |= {"figures_are": "current", "figures": now["province"], "wards_figures": now["wards"]}
        entry["last_action"] = _who(done) if done else None
    return entry


def _who(row: dict[str, Any]) -> dict[str, Any]:
    return {"action": row["action"], "by": row["by"], "role": row["role"], "at": row["at"]}


def _approval_of(reader: Reader, period: str, code: str) -> dict[str, Any]:
    """The approval an `accepted` status stands on: the last applied approve of (period, province)."""
    rows = [r for r in reads.actions(reader, period) if r["province"] == code and r["outcome"] == "applied"]
    return next(r for r in reversed(rows) if r["action"] == "approve")


def period_report(
    reader: Reader, settings: Settings, period: str, provinces: list[str] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The report of one period for these provinces (default: every province)."""
    cal, days = Calendar(settings.timezone), settings.period_deadline_days
    start, end = span(cal, check_period(period))
    codes = provinces or registry().provinces
    done = reads.standing(reads.actions(reader, period))
    counts = reads.activity(reader, cal, period, days, codes[0] if len(codes) == 1 else "")
    moment = now or datetime.now(UTC)
    entries = {}
    for code in codes:
        entry = province_entry(reader, cal, period, code, done.get((period, code)), counts[code])
        entry["status"] = shown(entry["status"], cal, period, days, moment)
        entries[code] = entry
    nation = {m: sum(e["figures"][m] for e in entries.values()) for m in METRICS}
    return {
        "period": period,
        "as_of": cal.local(reads.until(cal, period)).isoformat(),
        "timezone": cal.name,
        "covers": {"from": None, "to": cal.local(end).isoformat()},  # the figures: everything up to the end
        "month": cal.covers(start, end),  # completeness and timeliness: reports of the month itself
        "deadline": cal.local(deadline(cal, period, days)).isoformat(),
        "ended": moment >= end,
        "nation": nation,
        "provinces": entries,
    }


def recent(cal: Calendar, months: int, now: datetime | None = None) -> list[str]:
    """The last `months` periods, the current month first."""
    today = cal.today(now)
    year, month, out = today.year, today.month, []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def period_list(reader: Reader, settings: Settings, months: int, provinces: list[str] | None = None) -> dict[str, Any]:
    """Each recent period: its span, deadline and, per province, status, completeness and timeliness."""
    cal, days, moment = Calendar(settings.timezone), settings.period_deadline_days, datetime.now(UTC)
    codes = provinces or registry().provinces
    done = reads.standing(reads.actions(reader))
    periods = []
    for period in recent(cal, months, moment):
        counts = reads.activity(reader, cal, period, days, codes[0] if len(codes) == 1 else "")
        rows = {}
        for code in codes:
            stored = done.get((period, code))
            status = shown(stored["status_after"] if stored else "open", cal, period, days, moment)
            rows[code] = {"status": status, **counts[code], "last_action": _who(stored) if stored else None}
        start, end = span(cal, period)
        due = cal.local(deadline(cal, period, days)).isoformat()
        periods.append(
            {
                "period": period,
                "month": cal.covers(start, end),
                "deadline": due,
                "ended": moment >= end,
                "provinces": rows,
            }
        )
    return {"timezone": cal.name, "periods": periods}
