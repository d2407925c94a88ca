"""Reporting periods and their approval, as rules: a period is a month of the country's calendar.

Statuses per (period, province): `open` (the default), `approved` (by the province, or a national operator
for it), `accepted` (by the national level); `overdue` is how an open period reads once its deadline
(P06_PERIOD_DEADLINE_DAYS after the month ends) has passed. An action names the status its operator saw
(`expected`): the one writer (sinks/periods) refuses it when the status has moved since, so of two operators
pressing at once the second is refused. No Kafka, no web: the sink and the tests judge with these functions.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from .calendar import Calendar, Span

Status = Literal["open", "approved", "accepted"]
ActionName = Literal["approve", "accept", "reopen"]
STATUSES = ("open", "approved", "accepted", "overdue")
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# (action, status before) -> (status after, roles that may do it)
TRANSITIONS: dict[tuple[str, str], tuple[Status, tuple[str, ...]]] = {
    ("approve", "open"): ("approved", ("province", "national")),
    ("accept", "approved"): ("accepted", ("national",)),
    ("reopen", "approved"): ("open", ("province", "national")),
    ("reopen", "accepted"): ("open", ("national",)),
}


class Action(BaseModel):
    """One press of a button, as written to the periods topic (schemas.names.periods_topic)."""

    action_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    period: str = Field(pattern=PERIOD.pattern)
    province: str = Field(pattern=r"^\d{2}$")
    action: ActionName
    expected: Status  # the status the operator saw when pressing
    by: str  # the account's name
    role: Literal["national", "province"]
    by_province: str | None = None  # a province operator's own province
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def check_period(period: str) -> str:
    if not PERIOD.match(period):
        raise ValueError(f"period is a month YYYY-MM, e.g. 2026-11; got {period!r}")
    return period


def span(cal: Calendar, period: str) -> Span:
    """The instants the period covers, [first local midnight, next month's)."""
    return cal.month(check_period(period))


def deadline(cal: Calendar, period: str, days: int) -> datetime:
    """Reports received before this instant are on time: `days` days after the month ends."""
    return span(cal, period)[1] + timedelta(days=days)


def shown(status: str, cal: Calendar, period: str, days: int, now: datetime) -> str:
    """The status as operators read it: an open period past its deadline is `overdue`."""
    return "overdue" if status == "open" and now >= deadline(cal, period, days) else status


def refusal(action: Action, current: str, cal: Calendar, now: datetime) -> str | None:
    """Why the writer refuses this action on a period now `current`; None when it applies."""
    if action.role == "province" and action.by_province != action.province:
        return f"{action.by} is province {action.by_province}'s operator and may not act for province {action.province}"
    end = span(cal, action.period)[1]
    if now < end:
        return f"period {action.period} has not ended: it ends at {cal.local(end).isoformat()}"
    if action.expected != current:
        return (
            f"period {action.period} of province {action.province} is {current} now, not {action.expected} as"
            " seen when pressing: another operator acted first; look again and press again if still needed"
        )
    rule = TRANSITIONS.get((action.action, current))
    if rule is None:
        allowed = ", ".join(a for a, s in TRANSITIONS if s == current) or "nothing"
        return f"cannot {action.action} a period that is {current} (allowed: {allowed})"
    if action.role not in rule[1]:
        return f"{action.action} of an {current} period is for a national operator, not {action.by} ({action.role})"
    return None


def after(action: Action, current: str) -> Status:
    return TRANSITIONS[(action.action, current)][0]
