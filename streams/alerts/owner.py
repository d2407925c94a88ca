"""The one owner of each province's alerts: a Faust agent on the feed topic (keyed by province, so each
province lies in one partition and one worker reads it) and a changelogged table keyed by province.

The table's record of a province holds what its owner heard of each ward (schemas.alerts.ward_update) and
its alert of each kind. A feed record is a ward's absolute state, versioned by its event count: applying
one twice changes nothing. Ticks (sent by every worker to the feed partitions it owns) make the owner look
again when nothing arrives, so silence is seen. An alert record is written to the table, then sent to the
alerts topic, and the batch waits until the broker has it. A worker killed in between leaves it in the
changelog only: the next owner, reading the province from the table, sends its alerts again (at least once,
under the same idempotency key; the board keeps the newest version).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from faust.types import EventT
from pydantic import ValidationError

from schemas.alerts import (
    Rules,
    after_approval_wards,
    count_late,
    dead_letter_wards,
    deadline_wards,
    due_periods,
    letters_update,
    period_step,
    silent_wards,
    step,
    ward_update,
    wrong_way_wards,
)
from schemas.calendar import Calendar
from schemas.periods import Action
from schemas.registry import registry
from stack.adapters.faust import acting_for, aiokafka_producer
from stack.partitions import home_partition

log = logging.getLogger("p06.alerts")
TABLE = "alerts"


def empty_province() -> dict[str, Any]:
    return {"wards": {}, "alerts": {}, "count": 0, "periods": {}}


class AlertOwner:
    """Folds feed records into provinces' records, evaluates the rules, sends the alert records."""

    def __init__(
        self,
        app: faust.App,
        feed: faust.TopicT,
        alerts_topic: str,
        rules: Rules,
        partitions: int,
        options: dict[str, int],
        calendar: Calendar,
        deadline_days: int,
    ) -> None:
        self.app, self.feed, self.alerts_topic, self.rules = app, feed, alerts_topic, rules
        self.partitions = partitions
        self.calendar, self.deadline_days = calendar, deadline_days  # the periods' deadlines (schemas.periods)
        self.table = app.Table(TABLE, default=None, partitions=partitions, options=dict(options))  # small RocksDBs
        self.cache: dict[str, dict[str, Any]] = {}
        self.wards_of = registry().wards_by_province
        self.outbox: list[dict[str, Any]] = []  # alert records to send after this batch's table writes
        self.sent = 0  # alert records the broker has

    def forget(self) -> None:
        self.cache.clear()

    def province(self, code: str) -> dict[str, Any]:
        """A province as its record stands; read from the table, its alerts are sent again: a previous
        owner may have written them and died before sending (a receiver drops the repeat by its key)."""
        if code not in self.cache:
            self.cache[code] = self.table.get(code) or empty_province()
            self.outbox.extend(self.cache[code]["alerts"].values())
        return self.cache[code]

    async def apply(self, batch: Sequence[EventT]) -> None:
        """One batch of feed records: fold, evaluate the provinces touched, write, send what is unsent."""
        touched: dict[str, EventT] = {}
        for fe in batch:
            for code in self._fold(fe):
                touched[code] = fe
        now_ms = int(time.time() * 1000)
        due = due_periods(self.calendar, self.deadline_days, self.rules.deadline, datetime.now(UTC))
        for code, carrier in touched.items():
            self._evaluate(code, now_ms, due)
            with acting_for(carrier):
                self.table[code] = self.province(code)
        if self.outbox:
            await self._send()

    def _fold(self, fe: EventT) -> list[str]:
        """The provinces this feed record touches."""
        record = orjson.loads(fe.value)
        if record["type"] == "tick":
            part = fe.message.partition
            return [p for p in self.wards_of if home_partition(p, self.partitions) == part]
        code = fe.key.decode()
        if code not in self.wards_of:
            log.warning("feed record for unknown province %r: ignored", code)
            return []
        state = self.province(code)
        if record["type"] == "wards":
            periods = state.setdefault("periods", {})
            for ward, events, last_ms, figures, *months in record["wards"]:  # no months: a record from before them
                old = state["wards"].get(ward)
                new = ward_update(old, events, last_ms, figures, months[0] if months else None)
                if new is not None:
                    state["wards"][ward] = new
                    count_late(periods, ward, old, new)
        elif record["type"] == "period":
            self._period(code, state, record["action"])
        elif record["type"] == "dead_letters":
            kept = state.get("letters", [])
            state["letters"] = letters_update(kept, record["letters"], self.rules.dead_letters)
        else:
            self._command(state, record)
        return [code]

    def _command(self, state: dict[str, Any], record: dict[str, Any]) -> None:
        """An operator's ack or silence (from the worker's API, scoped there by the guard)."""
        for alert in state["alerts"].values():
            if alert["id"] != record["id"]:
                continue
            if record["command"] == "ack":
                alert["acknowledged_by"] = record["by"]
            else:
                alert["silenced_until"] = record["until"]
            alert["version"] += 1
            alert["notify"] = False
            self.outbox.append(alert)

    def _period(self, code: str, state: dict[str, Any], text: str) -> None:
        """An approval action of this province's, applied or refused as the sink's writer does."""
        try:
            action = Action.model_validate_json(text)
        except ValidationError as exc:  # the writer keeps it as refused; here it changes nothing
            log.warning("period record for province %s is not an action (%s): ignored", code, exc.errors()[0]["msg"])
            return
        if action.province != code:
            log.warning("period action %s of province %s keyed %s: ignored", action.action_id, action.province, code)
            return
        why = period_step(state.setdefault("periods", {}), action, self.calendar, datetime.now(UTC))
        log.info("period %s province %s: %s %s", action.period, code, action.action, why or "applied")

    def _evaluate(self, code: str, now_ms: int, due: list[tuple[str, datetime]]) -> None:
        state = self.province(code)
        r, wards, periods = self.rules, state["wards"], state.setdefault("periods", {})
        judges: dict[str, Callable[[], tuple[list[str], dict[str, Any]]]] = {
            "silent": lambda: silent_wards(wards, r.silent, now_ms),
            "wrong_way": lambda: wrong_way_wards(wards, r.wrong_way, now_ms),
            "dead_letters": lambda: dead_letter_wards(state.get("letters", []), r.dead_letters, now_ms),
            "deadline": lambda: deadline_wards(wards, self.wards_of[code], periods, due, r.deadline),
            "after_approval": lambda: after_approval_wards(periods, r.after_approval),
        }
        for kind, judge in judges.items():
            rule = getattr(r, kind)  # each kind's rule is the rules file's section of its name
            wards_now, details = judge() if rule.enabled else ([], {})
            alert = state["alerts"].get(kind)
            new = step(
                alert, wards_now, details, kind=kind, province=code, severity=rule.severity,
                now_ms=now_ms, number=state["count"] + 1,
            )  # fmt: skip
            if new is not None:
                if alert is None or new["id"] != alert["id"]:
                    state["count"] += 1
                state["alerts"][kind] = new
                self.outbox.append(new)

    async def _send(self) -> None:
        """The batch's alert records, after the table writes that hold them; waits until the broker has them."""
        producer = aiokafka_producer(self.app)
        outbox, self.outbox = self.outbox, []
        delivered = [await producer.send(self.alerts_topic, orjson.dumps(a), key=a["id"].encode()) for a in outbox]
        for future in delivered:
            await future
        self.sent += len(delivered)
