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


def test_freshness_matches_a_walk_of_the_wards_after_replacements_both_ways() -> None:
    rng, now_ms, day_ms = random.Random(11), 10**12, 86_400_000
    reg = registry()
    codes = rng.sample(sorted(reg.localities), 600) + reg.provinces[:5]
    snapshots: dict[str, dict] = {}
    totals = LiveTotals()
    for _ in range(4_000):  # a report's time moves back as well as forward (a restored snapshot)
        code = rng.choice(codes)
        new = {"figures": [0] * len(METRICS), "last_reported_ms": now_ms - rng.randint(0, 2 * day_ms)}
        totals.replace(code, snapshots.get(code), new)
        snapshots[code] = new

    freshness = live_body(snapshots, totals, now_ms=now_ms)["freshness"]["provinces"]
    for province, wards in reg.wards_by_province.items():
        times = [snapshots[w]["last_reported_ms"] for w in wards if w in snapshots]
        newest = max(times + [snapshots.get(province, {}).get("last_reported_ms", 0)])
        assert freshness[province]["wards_reported_last_day"] == sum(t >= now_ms - day_ms for t in times)
        assert freshness[province]["newest_event_age_s"] == (round((now_ms - newest) / 1000, 3) if newest else None)
