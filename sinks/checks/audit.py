"""The sink's own reconciliation, on a schedule: an operator sees a disagreement within minutes.

Two checks, each a comparison with something computed independently of the rollups:
- recent (every P06_RECONCILE_RECENT_S, 60 s): each day bucket of the last P06_RECONCILE_RECENT_DAYS
  (days of the country's calendar, P06_TIMEZONE) in rollup_day against a recount of those days from the
  archive (flows summed per day; a state entity's change in a day is its value at the day's end minus
  at the day before's), and the rollup totals against the live worker's counters;
- full (every P06_RECONCILE_FULL_S, daily): what `p06 reconcile` compares (every figure recounted from
  the whole archive against the rollups, the latest state per entity and the live worker).

Warehouse reads run under the store's lock, so no sink write falls between the two sides. The live
worker counts on its own schedule: a difference with it counts only if it is still there after
LIVE_RETRIES reads LIVE_RETRY_S apart, and only while this sink has no lag. An unreachable worker is
reported as such, not as agreement.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from auth.accounts import client_credentials
from schemas.calendar import Calendar
from schemas.hierarchy import scopes_of
from schemas.metrics import METRICS
from schemas.registry import registry
from schemas.settings import Settings
from schemas.times import clickhouse_param
from sinks.checks.reconcile import Difference, LiveUnavailable, compare, from_live, reconcile
from sinks.warehouse import figures
from sinks.warehouse.archive import FROM_MONTH, STATES, current_states, flow_reports, reports
from sinks.warehouse.clickhouse import DATABASE, open_client
from sinks.warehouse.reader import ClientReader
from sinks.warehouse.store import Store

log = logging.getLogger("p06.sink")
LIVE_RETRIES, LIVE_RETRY_S = 3, 5.0
SHOWN_DIFFERENCES = 20  # listed on /health; the count is always whole
LOOKBACK_DAYS = 35  # where the recent check looks first for an entity's version before its days

Bucket = tuple[str, str, str]  # (scope, code, day)


@dataclass
class CheckResult:
    at: str = ""
    seconds: float = 0.0
    differences: dict[str, int] = field(default_factory=dict)  # per source: rollups, latest, live
    live: str = "not compared"  # agree | differ | unreachable | sink behind
    error: str = ""
    shown: list[str] = field(default_factory=list)
    deferred: int = 0  # recent buckets a write changed during the check: compared in the next run

    @property
    def total(self) -> int:
        return sum(self.differences.values())


def recent_buckets_from_archive(reader: ClientReader, first_day: date, cal: Calendar) -> dict[Bucket, dict[str, int]]:
    """Each scope's change per day of the country's calendar from first_day on, recounted from the raw archive:
    reports in their originals' days (a report's events all occur from its original's instant on)."""
    since = {"since": clickhouse_param(cal.start_of(first_day)), "tz": cal.name}
    sums = ", ".join(f"sum({m}) AS {m}" for m in METRICS)
    metrics = ", ".join(METRICS)
    since_month = FROM_MONTH + " AND occurred_at >= {since:DateTime64(6, 'UTC')}"
    flows = reader.query(
        f"SELECT locality, toString(toDate(at, {{tz:String}})) AS day, {sums}"
        f" FROM ({flow_reports(since_month)})"
        " WHERE at >= {since:DateTime64(6, 'UTC')} GROUP BY locality, day",
        since,
    )
    during = reader.query(
        f"SELECT locality, entity, toString(toDate(at, {{tz:String}})) AS day, void, {metrics}"
        f" FROM ({reports(STATES + ' AND ' + since_month)}) WHERE at >= {{since:DateTime64(6, 'UTC')}}"
        " ORDER BY locality, entity, at, original_id",
        since,
    )
    before = _values_before(reader, {(r["locality"], r["entity"]) for r in during}, since)

    per_locality: dict[tuple[str, str], dict[str, int]] = defaultdict(figures.zero)
    for row in flows:
        _add(per_locality[(row["locality"], row["day"])], row, 1)
    start = {(r["locality"], r["entity"]): r for r in before}
    for (locality, entity), rows in groupby(during, key=lambda r: (r["locality"], r["entity"])):
        previous: dict[str, Any] = start.get((locality, entity), figures.zero())
        for day, day_rows in groupby(rows, key=lambda r: r["day"]):
            counted = [r for r in day_rows if not r["void"]]  # a void report: the value before it stays
            if counted:
                _add(per_locality[(locality, day)], counted[-1], 1)  # the value at the day's end
                _add(per_locality[(locality, day)], previous, -1)
                previous = counted[-1]
    return _by_scope(per_locality)


def _values_before(
    reader: ClientReader, touched_pairs: set[tuple[str, str]], since: dict[str, str]
) -> list[dict[str, Any]]:
    """Each touched entity's value at `since`: its current report among those placed in the LOOKBACK_DAYS
    before it (an entity reporting daily has one there), then among the whole history of the localities
    still missing (their key prefix), so the recount never reads the whole archive for entities that
    report often."""
    if not touched_pairs:
        return []
    since_at = "{since:DateTime64(6, 'UTC')}"
    lookback = f"{since_at} - toIntervalDay({LOOKBACK_DAYS})"
    touched = "(locality, entity) IN {pairs:Array(Tuple(String, String))}"
    recent = f"_partition_id >= toString(toYYYYMM({lookback})) AND occurred_at >= {lookback} AND {touched}"
    window = reader.query(
        f"SELECT locality, entity, {', '.join(METRICS)}"
        f" FROM ({current_states(recent, f'at < {since_at} AND at >= {lookback}')})",
        {**since, "pairs": sorted(touched_pairs)},
    )
    missing = sorted(touched_pairs - {(r["locality"], r["entity"]) for r in window})
    if not missing:
        return window
    reg = registry()
    places = [(reg.localities[loc].province, loc) for loc in sorted({loc for loc, _ in missing})]
    in_places = f"(province, locality) IN {{places:Array(Tuple(String, String))}} AND {touched}"
    older = reader.query(
        f"SELECT locality, entity, {', '.join(METRICS)} FROM ({current_states(in_places, f'at < {since_at}')})",
        {**since, "places": places, "pairs": missing},
    )
    return window + older


def _add(target: dict[str, int], row: dict[str, Any], sign: int) -> None:
    for m in METRICS:
        target[m] += sign * int(row[m])


def _by_scope(per_locality: dict[tuple[str, str], dict[str, int]]) -> dict[Bucket, dict[str, int]]:
    out: dict[Bucket, dict[str, int]] = defaultdict(figures.zero)
    for (locality, day), values in per_locality.items():
        for scope, code in scopes_of(locality):  # the hierarchy's roll-up, per day
            _add(out[(scope, code, day)], values, 1)
    return dict(out)


def recent_buckets_from_rollups(reader: ClientReader, first_day: date) -> dict[Bucket, dict[str, int]]:
    sums = ", ".join(f"sum({m}) AS {m}" for m in METRICS)
    rows = reader.query(
        f"SELECT scope, code, toString(day) AS bucket, {sums} FROM {DATABASE}.rollup_day FINAL"
        " WHERE day >= {first:Date} AND scope != 'province_self' GROUP BY scope, code, bucket",
        {"first": first_day.isoformat()},
    )
    return {(r["scope"], r["code"], r["bucket"]): {m: int(r[m]) for m in METRICS} for r in rows}


def compare_buckets(recount: dict[Bucket, dict[str, int]], rollups: dict[Bucket, dict[str, int]]) -> list[Difference]:
    out = []
    for scope, code, day in sorted(set(recount) | set(rollups)):
        mine, theirs = recount.get((scope, code, day), {}), rollups.get((scope, code, day), {})
        for m in METRICS:
            if mine.get(m, 0) != theirs.get(m, 0):
                out.append(Difference("rollups", f"{scope} {code} on {day}", m, mine.get(m, 0), theirs.get(m, 0)))
    return out


def _per_check(
    family: type[GaugeMetricFamily] | type[CounterMetricFamily], name: str, text: str, values: dict[str, float]
) -> GaugeMetricFamily | CounterMetricFamily:
    """One metric labelled by check (recent, full), a sample per check that has run."""
    metric = family(name, text, labels=["check"])
    for check, value in sorted(values.items()):
        metric.add_metric([check], value)
    return metric


class Audit:
    """Runs the two checks on their schedules and keeps the latest result of each."""

    def __init__(self, settings: Settings, store: Store, lag: Callable[[], int | None]) -> None:
        self.settings, self.store, self.lag = settings, store, lag
        self.results: dict[str, CheckResult] = {}
        self.runs: dict[str, int] = {"recent": 0, "full": 0}
        self.halt = threading.Event()  # set when the sink stops: a check in its thread gives up waiting
        self._side: ClientReader | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Each check first after its own interval, then on it, until stop. The full check holds the
        sink's writes while it reads the whole archive (25 s on a year of national reporting), so a
        restart does not bring it forward."""
        s = self.settings
        started = time.monotonic()
        due = {"recent": started + s.reconcile_recent_s, "full": started + s.reconcile_full_s}
        try:
            while not stop.is_set():
                check = min(due, key=lambda name: due[name])
                try:
                    await asyncio.wait_for(stop.wait(), max(0.0, due[check] - time.monotonic()))
                    return
                except TimeoutError:
                    pass
                await asyncio.to_thread(self.check, check)
                due[check] = time.monotonic() + (s.reconcile_full_s if check == "full" else s.reconcile_recent_s)
        finally:
            self.halt.set()

    def close(self) -> None:
        if self._side is not None:
            self._side.client.close()
            self._side = None

    def check(self, kind: str) -> CheckResult:
        started = time.monotonic()
        result = CheckResult(at=datetime.now(UTC).isoformat(timespec="seconds"))
        try:
            diffs = self._recent(result) if kind == "recent" else self._full(result)
        except Exception as exc:  # ClickHouse down: the store logs it; the verdict says it
            result.error = f"{type(exc).__name__}: {str(exc)[:300]}"
            diffs = []
            self.close()  # opened again at the next check
        result.seconds = round(time.monotonic() - started, 3)
        for diff in diffs:
            result.differences[diff.source] = result.differences.get(diff.source, 0) + 1
        result.shown = [str(d) for d in diffs[:SHOWN_DIFFERENCES]]
        if diffs:
            log.warning("reconciliation (%s) found %d difference(s), e.g. %s", kind, len(diffs), result.shown[0])
        self.results[kind] = result
        self.runs[kind] += 1
        return result

    def _recent(self, result: CheckResult) -> list[Difference]:
        """The recount reads the archive without holding the sink's writes (3 s on a year of national
        reporting with two recent days): the rollups are read under the write lock before and after it, and a bucket is
        compared only when no write changed it in between, so both sides saw the same events."""
        cal = Calendar(self.settings.timezone)
        first_day = cal.today() - timedelta(days=self.settings.reconcile_recent_days - 1)
        before = self.store.read_between_writes(lambda r: recent_buckets_from_rollups(r, first_day))
        recount = recent_buckets_from_archive(self._side_reader(), first_day, cal)
        after = self.store.read_between_writes(lambda r: recent_buckets_from_rollups(r, first_day))
        steady = {b for b in set(before) | set(after) | set(recount) if before.get(b) == after.get(b)}
        result.deferred = len(set(before) | set(after) | set(recount)) - len(steady)
        result.differences["rollups"] = 0
        return compare_buckets(
            {b: v for b, v in recount.items() if b in steady}, {b: v for b, v in after.items() if b in steady}
        ) + self._live(result)

    def _side_reader(self) -> ClientReader:
        """A client of its own (chDB serves several in one process), for reads that need not wait for writes."""
        if self._side is None:
            client = open_client(self.settings)
            client.set_client_setting("max_threads", "1")  # one core at most: the sink's writes keep the other
            self._side = ClientReader(client)
        return self._side

    def _full(self, result: CheckResult) -> list[Difference]:
        diffs, _ = self.store.read_between_writes(lambda r: reconcile(r, None))
        result.differences.update(rollups=0, latest=0)
        return diffs + self._live(result)

    def _live(self, result: CheckResult) -> list[Difference]:
        """The live worker against the rollups (just checked against the archive), read again while they disagree."""
        diffs: list[Difference] = []
        for attempt in range(LIVE_RETRIES):
            if self.lag() != 0:
                result.live = "sink behind"
                return []
            ours = self.store.read_between_writes(figures.from_rollups)
            try:
                diffs = compare(
                    "live",
                    ours,
                    from_live(self.settings.live_url, sorted(ours["provinces"]), client_credentials(self.settings)),
                    basis="rollups",
                )
            except LiveUnavailable:
                result.live = "unreachable"
                return []
            if not diffs:
                break
            if attempt < LIVE_RETRIES - 1 and self.halt.wait(LIVE_RETRY_S):
                return []
        result.live = "differ" if diffs else "agree"
        result.differences["live"] = 0  # counted with the others in check()
        return diffs

    def verdict(self) -> str:
        if not self.results:
            return "pending"
        if any(r.error for r in self.results.values()):
            return "error"
        return "differ" if any(r.total for r in self.results.values()) else "agree"

    def health(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict(),
            "differences": sum(r.total for r in self.results.values()),
            "checks": {kind: {**asdict(r), "runs": self.runs[kind]} for kind, r in self.results.items()},
        }

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """The verdict as Prometheus metrics: a prometheus_client collector, registered by the sink's /metrics."""
        results = sorted(self.results.items())
        yield GaugeMetricFamily(
            "p06_reconcile_agree",
            "1 when the last run of every check found no difference and no error",
            value=int(self.verdict() == "agree"),
        )
        differences = GaugeMetricFamily(
            "p06_reconcile_differences",
            "differences found by the last run of a check, per source",
            labels=["check", "source"],
        )
        for kind, r in results:
            for source, n in sorted(r.differences.items()):
                differences.add_metric([kind, source], n)
        yield differences
        yield _per_check(
            GaugeMetricFamily,
            "p06_reconcile_errors",
            "1 when the last run of a check could not read the warehouse",
            {k: int(bool(r.error)) for k, r in results},
        )
        yield _per_check(
            GaugeMetricFamily,
            "p06_reconcile_live_compared",
            "1 when the last run of a check compared the live worker",
            {k: int(r.live in ("agree", "differ")) for k, r in results},
        )
        yield _per_check(CounterMetricFamily, "p06_reconcile_runs_total", "runs of each check", dict(self.runs))
        yield _per_check(
            GaugeMetricFamily,
            "p06_reconcile_duration_seconds",
            "how long the last run of a check took",
            {k: r.seconds for k, r in results},
        )
