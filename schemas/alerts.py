"""Business alerts as rules: the rules file (data, checked at start), an alert's record, and how a province's
wards make an alert of each kind fire and resolve. No Kafka, no web: the worker's owner (streams.alerts) and
the tests judge with these functions.

One alert per (province, kind), listing its wards. A ward's record here is what the owner last heard of it:
[events received, newest receipt (ms), watched figures, wrong-way moves per watched figure, their bases,
events per month of the country's calendar]. A province's reporting periods, as its owner hears the approval
actions (in the periods topic's order, judged by schemas.periods as the sink's one writer judges them):
{period: {"status", "seen": action ids, "late": {ward: events counted after the approval}}}.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .calendar import Calendar
from .metrics import METRIC_INDEX
from .periods import Action, after, deadline, refusal

Severity = Literal["info", "warning", "critical"]
Watched = Literal["villages_without_electricity", "villages_without_internet", "tasks_completed", "systems_failed"]
KINDS = ("silent", "wrong_way", "dead_letters", "deadline", "after_approval")
DEFAULT_RULES = Path(__file__).with_name("alerts.toml")
# A watched figure and the figure whose growth excuses its growth (a new village may lack electricity:
# only a known one losing it is a move the wrong way); None: any fall of a "good" figure is one.
WATCHED: dict[str, str | None] = {
    "villages_without_electricity": "villages",
    "villages_without_internet": "villages",
    "tasks_completed": None,  # a completed task reopened
    "systems_failed": "systems_assessed",
}
WATCHED_NAMES: tuple[Watched, ...] = get_args(Watched)
Periods = dict[str, dict[str, Any]]  # a province's periods as its owner heard the approval actions
MONTHS_KEPT = 13  # months of a ward's events per month kept (this one and a year back): flat records


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    severity: Severity = "warning"


class SilentRule(_Rule):
    """Wards that reported before and have sent nothing for `hours`."""

    hours: float = Field(default=24.0, gt=0)


class WrongWayRule(_Rule):
    """Moves the wrong way of a watched figure (summed over the province's wards) reaching `moves`."""

    moves: int = Field(default=1, ge=1)
    figures: list[Watched] = Field(default=list(WATCHED_NAMES), min_length=1)


class DeadLetterRule(_Rule):
    """More than `records` dead-letter records from one province's senders within `minutes`."""

    records: int = Field(default=100, ge=1, le=100_000)
    minutes: float = Field(default=10.0, gt=0, le=24 * 60)


class DeadlineRule(_Rule):
    """A reporting period's deadline (P06_PERIOD_DEADLINE_DAYS after its month) within `days` days while fewer
    than `completeness` percent of a province's wards reported in it; not once the province approved it."""

    days: float = Field(default=3.0, gt=0, le=366)
    completeness: float = Field(default=80.0, gt=0, le=100)


class AfterApprovalRule(_Rule):
    """`events` or more events counted, after a province's approval, for its approved (or accepted) period: late
    reports and corrections beyond what was approved (a period's figures are everything up to its end)."""

    events: int = Field(default=1, ge=1)


class Receiver(BaseModel):
    """A webhook: a province's (`province`) or national (no province)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://\S+$")
    province: str | None = Field(None, pattern=r"^\d{2}$")


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    silent: SilentRule = SilentRule()
    wrong_way: WrongWayRule = WrongWayRule()
    dead_letters: DeadLetterRule = DeadLetterRule()
    deadline: DeadlineRule = DeadlineRule()
    after_approval: AfterApprovalRule = AfterApprovalRule()
    receivers: list[Receiver] = []

    @field_validator("receivers")
    @classmethod
    def _distinct(cls, value: list[Receiver]) -> list[Receiver]:
        urls = [r.url for r in value]
        if len(set(urls)) != len(urls):
            raise ValueError("each receiver url once")
        return value


class RulesError(SystemExit):
    """A rules file the worker cannot start with: the message names the file, the rule and the field."""


def load_rules(path: Path | None, allowed: list[str]) -> Rules:
    """The rules in `path` (the shipped default when None); receivers outside `allowed` (URL prefixes) refused."""
    path = path or DEFAULT_RULES
    try:
        data = tomllib.loads(path.read_text())
        rules = Rules.model_validate(data)
    except OSError as exc:
        raise RulesError(
            f"alert rules {path}: cannot read it ({exc.strerror}); set P06_ALERT_RULES to a TOML file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"alert rules {path}: not TOML: {exc}") from None
    except ValidationError as exc:
        lines = [
            f"rule [{err['loc'][0]}] field {'.'.join(map(str, err['loc'][1:])) or '-'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise RulesError(f"alert rules {path}:\n  " + "\n  ".join(lines) + "\nfix the file and start again") from None
    for i, receiver in enumerate(rules.receivers):
        if not any(receiver.url.startswith(prefix) for prefix in allowed):
            raise RulesError(
                f"alert rules {path}: rule [receivers] field {i}.url: {receiver.url} is outside the allowed"
                " receivers (P06_ALERT_WEBHOOK_ALLOW); add its prefix there or remove it"
            )
    return rules


def ward_update(
    old: list[Any] | None, events: int, last_ms: int, figures: list[int], months: dict[str, int] | None = None
) -> list[Any] | None:
    """A ward's record after a feed record (None: an older or repeated record, nothing changes). Months' counts
    are absolute: the greater one of each month stays, the newest MONTHS_KEPT months of them."""
    watched = [figures[METRIC_INDEX[name]] for name in WATCHED_NAMES]
    bases = [figures[METRIC_INDEX[base]] if base else 0 for base in WATCHED.values()]
    if old is None:
        return [events, last_ms, watched, [0] * len(WATCHED), bases, recent_months(dict(months or {}))]
    known = months_of(old)
    merged = recent_months({**known, **{m: max(n, known.get(m, 0)) for m, n in (months or {}).items()}})
    if events <= old[0] and last_ms <= old[1]:
        return None if merged == known else [*old[:5], merged]
    moves = list(old[3])
    for i, base in enumerate(WATCHED.values()):
        grown = watched[i] - old[2][i]
        if base is None:  # a good figure: its fall is the wrong way
            moves[i] = max(0, moves[i] - grown)
        else:
            moves[i] = max(0, moves[i] + grown - max(0, bases[i] - old[4][i]))
    return [max(events, old[0]), max(last_ms, old[1]), watched, moves, bases, merged]


def recent_months(months: dict[str, int]) -> dict[str, int]:
    """The newest MONTHS_KEPT months of a ward's events per month: what its records keep, so they stay flat."""
    if len(months) <= MONTHS_KEPT:
        return months
    return {m: months[m] for m in sorted(months)[-MONTHS_KEPT:]}


def months_of(record: list[Any]) -> dict[str, int]:
    """A ward record's events per month ({} in a record kept before months were)."""
    return record[5] if len(record) > 5 else {}


def up_to(record: list[Any], period: str) -> int:
    """A ward record's events of `period` and every month before it: all of them but the months after it."""
    return int(record[0]) - sum(n for m, n in months_of(record).items() if m > period)


def period_step(periods: Periods, action: Action, cal: Calendar, now: datetime) -> str | None:
    """A province's periods after an approval action, judged as the sink's one writer judges it: None when it
    applied, else why not. An action seen before changes nothing (the feed delivers at least once). An approval
    starts counting what arrives after it; a reopen forgets it (the next approval takes those events in)."""
    entry = periods.setdefault(action.period, {"status": "open", "seen": [], "late": {}})
    if action.action_id in entry["seen"]:
        return f"action {action.action_id} seen before"
    entry["seen"].append(action.action_id)
    why = refusal(action, entry["status"], cal, now)
    if why is None:
        entry["status"] = after(action, entry["status"])
        if entry["status"] != "accepted":
            entry["late"] = {}
    return why


def count_late(periods: Periods, ward: str, old: list[Any] | None, new: list[Any]) -> None:
    """A ward's events counted between two of its records, against each approved (or accepted) period they fall
    in or before (a period's figures are everything up to its end). Untold by a record kept before months were;
    a period older than the months a record keeps is not watched (an event more than a year late for it could be
    one of a later month)."""
    if old is not None and len(old) <= 5:
        return
    kept = months_of(new)
    oldest = min(kept) if len(kept) >= MONTHS_KEPT else ""
    for period, entry in periods.items():
        if entry["status"] != "open" and period >= oldest:
            late = up_to(new, period) - (up_to(old, period) if old is not None else 0)
            if late > 0:
                entry["late"][ward] = entry["late"].get(ward, 0) + late


def after_approval_wards(periods: Periods, rule: AfterApprovalRule) -> tuple[list[str], dict[str, Any]]:
    late = {p: e["late"] for p, e in sorted(periods.items()) if e["status"] != "open" and e["late"]}
    arrived = {p: sum(wards.values()) for p, wards in late.items()}
    if sum(arrived.values()) < rule.events:
        return [], {}
    return sorted({w for wards in late.values() for w in wards}), {"arrived": arrived}


def due_periods(cal: Calendar, deadline_days: int, rule: DeadlineRule, now: datetime) -> list[tuple[str, datetime]]:
    """The periods (begun already) whose deadline falls within the rule's days from now, earliest first; each
    deadline on the country's clock."""
    horizon = now + timedelta(days=rule.days)
    month, found = cal.local(now).date().replace(day=1), []
    for _ in range(deadline_days // 28 + 2):  # back to the last month whose deadline may still come
        period = month.strftime("%Y-%m")
        due = deadline(cal, period, deadline_days)
        if now < due <= horizon:
            found.append((period, cal.local(due)))
        month = (month - timedelta(days=1)).replace(day=1)
    return sorted(found, key=lambda found: found[1])


def deadline_wards(
    records: dict[str, list[Any]],
    wards: Sequence[str],
    periods: Periods,
    due: list[tuple[str, datetime]],
    rule: DeadlineRule,
) -> tuple[list[str], dict[str, Any]]:
    """Per due period the province has not approved: its completeness (wards that reported in it ÷ wards, as the
    period report counts it); lists the wards missing from each period below the rule (every one of them: a
    province has 168 wards at most)."""
    missing: set[str] = set()
    shown: dict[str, Any] = {}
    for period, due_at in due:
        if periods.get(period, {}).get("status", "open") != "open":
            continue
        silent = [w for w in wards if not (w in records and months_of(records[w]).get(period))]
        completeness = (len(wards) - len(silent)) / len(wards) if wards else 1.0
        if completeness * 100 < rule.completeness:
            missing.update(silent)
            shown[period] = {
                "deadline": due_at.isoformat(), "completeness": round(completeness, 4),
                "reported": len(wards) - len(silent), "wards": len(wards),
            }  # fmt: skip
    if not shown:
        return [], {}
    return sorted(missing), {"periods": shown, "below_percent": rule.completeness}


def silent_wards(wards: dict[str, list[Any]], rule: SilentRule, now_ms: int) -> tuple[list[str], dict[str, Any]]:
    limit = now_ms - int(rule.hours * 3_600_000)
    found = sorted(w for w, r in wards.items() if 0 < r[1] < limit)
    return found, {"hours": rule.hours}


def wrong_way_wards(wards: dict[str, list[Any]], rule: WrongWayRule, now_ms: int) -> tuple[list[str], dict[str, Any]]:
    idx = [WATCHED_NAMES.index(name) for name in rule.figures]
    totals = {WATCHED_NAMES[i]: sum(r[3][i] for r in wards.values()) for i in idx}
    if sum(totals.values()) < rule.moves:
        return [], {}
    found = sorted(w for w, r in wards.items() if any(r[3][i] for i in idx))
    return found, {"moves": {k: v for k, v in totals.items() if v}}


def letters_update(kept: list[list[Any]], letters: list[list[Any]], rule: DeadLetterRule) -> list[list[Any]]:
    """A province's recent dead-letter records [ms, place, locality] with these added: a place seen already counts
    once; only the newest `records` + 1 are kept (enough to know the count went past `records`)."""
    seen = {letter[1] for letter in kept}
    merged = kept + [letter for letter in letters if letter[1] not in seen]
    return sorted(merged)[-(rule.records + 1) :]


def dead_letter_wards(kept: list[list[Any]], rule: DeadLetterRule, now_ms: int) -> tuple[list[str], dict[str, Any]]:
    """Lists the localities the refused records were sent for (the province's code when none was named)."""
    recent = [letter for letter in kept if letter[0] >= now_ms - rule.minutes * 60_000]
    if len(recent) <= rule.records:
        return [], {}
    return sorted({letter[2] for letter in recent}), {"records_over": rule.records, "minutes": rule.minutes}


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def step(
    alert: dict[str, Any] | None,
    wards: list[str],
    details: dict[str, Any],
    *,
    kind: str,
    province: str,
    severity: str,
    now_ms: int,
    number: int,
) -> dict[str, Any] | None:
    """The (province, kind) alert after an evaluation; None when nothing changed. A new alert (id from `number`)
    fires when wards appear; it resolves when none are left, and a resolved one is replaced on the next firing."""
    if alert is None or alert["state"] != "firing":
        if not wards:
            return None
        return {
            "id": f"{province}-{kind}-{number}", "kind": kind, "scope": province, "severity": severity,
            "since": iso(now_ms), "details": details, "wards": wards, "state": "firing",
            "acknowledged_by": None, "silenced_until": None, "version": 1, "notify": True,
        }  # fmt: skip
    if not wards:
        return {**alert, "state": "resolved", "resolved": iso(now_ms), "version": alert["version"] + 1, "notify": True}
    if alert["wards"] == wards and alert["details"] == details:
        return None
    return {**alert, "wards": wards, "details": details, "version": alert["version"] + 1, "notify": False}


def notice_key(alert: dict[str, Any]) -> str:
    """The idempotency key of the notice this alert record sends: the same for every copy of it."""
    return f"{alert['id']}:{alert['state']}"
