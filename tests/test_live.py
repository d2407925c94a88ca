"""The live roll-up on its own: running totals stay equal to a plain re-sum of the snapshots."""

from __future__ import annotations

import random

from schemas.metrics import METRICS
from schemas.registry import registry
from streams.view import LiveTotals, live_body


def plain_sums(snapshots: dict[str, dict]) -> dict[str, dict[str, int]]:
    """Nation, urban and rural summed straight from the snapshots, the slow obvious way."""
    reg = registry()
    sums = {scope: [0] * len(METRICS) for scope in ("nation", "urban", "rural")}
    for code, snap in snapshots.items():
        loc = reg.localities[code]
        scopes = ["nation"] + ([loc.area] if loc.level == "ward" else [])
        for scope in scopes:
            sums[scope] = [a + b for a, b in zip(sums[scope], snap["figures"])]
    return {scope: dict(zip(METRICS, v)) for scope, v in sums.items()}


def test_running_totals_match_a_re_sum_after_every_kind_of_replacement() -> None:
    rng = random.Random(7)
    codes = rng.sample(sorted(registry().localities), 400)
    snapshots: dict[str, dict] = {}
    totals = LiveTotals()
    for _ in range(3_000):  # new localities, replaced snapshots, figures going down as well as up
        code = rng.choice(codes)
        new = {"figures": [rng.randint(0, 50) for _ in METRICS], "last_reported_ms": rng.randint(1, 10**12)}
        totals.replace(code, snapshots.get(code), new)
        snapshots[code] = new

    body = live_body(snapshots, totals, now_ms=10**12)
    expected = plain_sums(snapshots)
    assert {scope: body[scope] for scope in ("nation", "urban", "rural")} == expected
    assert body == live_body(snapshots, now_ms=10**12)  # the same as totals built from scratch
    province = registry().localities[codes[0]].province
    in_province = [s for c, s in snapshots.items() if registry().localities[c].province == province]
    assert body["provinces"][province] == dict(zip(METRICS, map(sum, zip(*(s["figures"] for s in in_province)))))
