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

from schemas.hierarchy import roll_up, tiers
from schemas.metrics import METRICS
from sinks.warehouse import figures
from sinks.warehouse.queries import STATE_METRICS
from sinks.warehouse.reader import Reader


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


def compare(
    source: str,
    recount: dict[str, Any],
    other: dict[str, Any],
    metrics=METRICS,
    wards: bool = True,
    basis: str = "archive recount",
) -> list[Difference]:
    out = []
    scopes = [
        ("nation", recount["nation"], other["nation"]),
        ("urban", recount["urban"], other["urban"]),
        ("rural", recount["rural"], other["rural"]),
    ]
    for kind in ("provinces", "wards") if wards else ("provinces",):
        for code in sorted(set(recount[kind]) | set(other[kind])):
            scopes.append(
                (f"{kind[:-1]} {code}", recount[kind].get(code, figures.zero()), other[kind].get(code, figures.zero()))
            )
    for scope, mine, theirs in scopes:
        for metric in metrics:
            if int(mine.get(metric, 0)) != int(theirs.get(metric, 0)):
                out.append(
                    Difference(source, scope, metric, int(mine.get(metric, 0)), int(theirs.get(metric, 0)), basis)
                )
    return out


def from_latest(reader: Reader) -> dict[str, Any]:
    """State metrics from each entity's latest state in the archive (argMax over (occurred_at, event_id),
    as schemas.metrics.version orders them), rolled up per entity here rather than summed in SQL."""
    rows = reader.named("latest_states")
    return tiers(roll_up((row["locality"], dict(zip(STATE_METRICS, row["contribution"]))) for row in rows))


def from_live(worker_url: str, provinces: list[str], auth: tuple[str, str] | None = None) -> dict[str, Any]:
    """The live figures of every scope; auth: a national operator's (name, password)."""
    try:
        with httpx.Client(auth=auth, timeout=10) as client:
            body = _answer(client.get(f"{worker_url}/api/live"))
            out = {
                "nation": body["nation"],
                "urban": body["urban"],
                "rural": body["rural"],
                "provinces": body["provinces"],
                "wards": {},
            }
            for code in provinces:
                detail = _answer(client.get(f"{worker_url}/api/live/provinces/{code}"))
                out["wards"].update({w: v["figures"] for w, v in detail["wards"].items()})
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise LiveUnavailable(
            f"no live worker answered at {worker_url}/api/live ({type(exc).__name__}: {exc})"
        ) from None
    return out


def _answer(response: httpx.Response) -> dict[str, Any]:
    if response.status_code in (401, 403):
        raise LiveUnavailable(
            f"the live API refused the credentials ({response.status_code}: {response.text[:200]});"
            " set P06_OPERATOR_USER and P06_OPERATOR_PASSWORD_FILE to a national operator's account"
        )
    return response.raise_for_status().json()


def reconcile(
    reader: Reader, worker_url: str | None, as_of: date | None = None, auth: tuple[str, str] | None = None
) -> tuple[list[Difference], list[str]]:
    """All differences, and a line per source saying what was compared."""
    recount = figures.from_archive(reader, as_of)
    done = []
    diffs = compare("rollups", recount, figures.from_rollups(reader, as_of))
    done.append("rollups: every scope and metric")
    if as_of is None:
        diffs += compare("latest", recount, from_latest(reader), STATE_METRICS)
        done.append("latest state per entity: state metrics")
    if worker_url is not None:
        live = from_live(worker_url, sorted(recount["provinces"]), auth)
        diffs += compare("live", recount, live)
        done.append(f"live counters at {worker_url}")
    return diffs, done
