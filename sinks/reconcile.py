"""`p06 reconcile`: recount every figure from the raw archive and compare it with the rollups, the
latest state per entity (read separately from the archive, rolled up here), and the live worker's
counters. Every difference is listed by scope and metric.

An unreachable worker is a failure unless --no-live is given: an exit 0 must mean every source was
compared, never that one was silently left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from schemas.metrics import METRICS
from schemas.registry import registry

from . import figures
from .clickhouse import DATABASE
from .warehouse import Reader

STATE_METRICS = ("tasks_reported", "tasks_completed", "villages", "villages_without_electricity",
                 "villages_without_internet", "systems_assessed", "systems_failed", "open_findings")


@dataclass(frozen=True)
class Difference:
    source: str
    scope: str
    metric: str
    archive: int
    other: int
    basis: str = "archive recount"  # what `archive` was read from

    def __str__(self) -> str:
        return f"{self.source}: {self.scope} {self.metric}: {self.basis} {self.archive}, {self.source} {self.other}"


class LiveUnavailable(RuntimeError):
    pass


def compare(source: str, recount: dict[str, Any], other: dict[str, Any], metrics=METRICS, wards: bool = True,
            basis: str = "archive recount") -> list[Difference]:
    out = []
    scopes = [("nation", recount["nation"], other["nation"]), ("urban", recount["urban"], other["urban"]),
              ("rural", recount["rural"], other["rural"])]
    for kind in ("provinces", "wards") if wards else ("provinces",):
        for code in sorted(set(recount[kind]) | set(other[kind])):
            scopes.append((f"{kind[:-1]} {code}", recount[kind].get(code, figures.zero()), other[kind].get(code, figures.zero())))
    for scope, mine, theirs in scopes:
        for metric in metrics:
            if int(mine.get(metric, 0)) != int(theirs.get(metric, 0)):
                out.append(Difference(source, scope, metric, int(mine.get(metric, 0)), int(theirs.get(metric, 0)), basis))
    return out


def from_latest(reader: Reader) -> dict[str, Any]:
    """State metrics from each entity's latest state in the archive (argMax over (occurred_at, event_id),
    as schemas.metrics.version orders them), rolled up per entity here rather than summed in SQL."""
    state = ", ".join(f"argMax({m}, (occurred_at, event_id))" for m in STATE_METRICS)
    rows = reader.query(
        f"SELECT locality, entity, [{state}] AS contribution FROM {DATABASE}.archive FINAL"
        " WHERE entity != '' GROUP BY locality, entity"
    )
    reg = registry()
    out = figures.empty_scopes()
    for row in rows:
        place = reg.localities[row["locality"]]
        values = dict(zip(STATE_METRICS, row["contribution"]))
        targets = [out["nation"], out["provinces"].setdefault(place.province, figures.zero())]
        if place.level == "ward":
            targets += [out[place.area], out["wards"].setdefault(place.code, figures.zero())]
        for target in targets:
            for metric in STATE_METRICS:
                target[metric] += int(values[metric])
    return out


def from_live(worker_url: str, provinces: list[str]) -> dict[str, Any]:
    try:
        body = httpx.get(f"{worker_url}/api/live", timeout=10).json()
        out = {"nation": body["nation"], "urban": body["urban"], "rural": body["rural"],
               "provinces": body["provinces"], "wards": {}}
        for code in provinces:
            detail = httpx.get(f"{worker_url}/api/live/provinces/{code}", timeout=10).json()
            out["wards"].update({w: v["figures"] for w, v in detail["wards"].items()})
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise LiveUnavailable(f"no live worker answered at {worker_url}/api/live ({type(exc).__name__}: {exc})") from None
    return out


def reconcile(reader: Reader, worker_url: str | None, as_of: date | None = None) -> tuple[list[Difference], list[str]]:
    """All differences, and a line per source saying what was compared."""
    recount = figures.from_archive(reader, as_of)
    done = []
    diffs = compare("rollups", recount, figures.from_rollups(reader, as_of))
    done.append("rollups: every scope and metric")
    if as_of is None:
        diffs += compare("latest", recount, from_latest(reader), STATE_METRICS)
        done.append("latest state per entity: state metrics")
    if worker_url is not None:
        live = from_live(worker_url, sorted(recount["provinces"]))
        diffs += compare("live", recount, live)
        done.append(f"live counters at {worker_url}")
    return diffs, done
