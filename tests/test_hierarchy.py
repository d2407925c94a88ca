"""The one roll-up of the hierarchy, against totals computed by hand from the registry's facts."""

from __future__ import annotations

import pytest

from schemas.hierarchy import NATION, roll_up, scopes_of, tiers
from schemas.metrics import METRICS
from schemas.registry import registry

# The registry's facts the hand totals rest on (checked first, so a changed registry fails here, plainly).
BA_DINH, SOC_SON = "00004", "00376"  # Hà Nội (01): Phường Ba Đình (urban), Xã Sóc Sơn (rural)
THU_DAU_MOT = "25747"  # Hồ Chí Minh city (79): Phường Thủ Dầu Một (urban)
HCMC = "79"  # the province itself, reporting for itself: a province-level unit, no area


def test_the_registry_facts_used_below() -> None:
    reg = registry()
    assert [(reg.localities[c].province, reg.localities[c].level, reg.localities[c].area) for c in
            (BA_DINH, SOC_SON, THU_DAU_MOT, HCMC)] == [
        ("01", "ward", "urban"),
        ("01", "ward", "rural"),
        ("79", "ward", "urban"),
        ("79", "province", None),
    ]  # fmt: skip


def test_a_ward_counts_in_nation_province_area_and_itself_a_province_unit_in_nation_and_province() -> None:
    assert scopes_of(SOC_SON) == (NATION, ("province", "01"), ("rural", "rural"), ("ward", SOC_SON))
    assert scopes_of(HCMC) == (NATION, ("province", "79"))
    with pytest.raises(KeyError):
        scopes_of("99999")  # not an official code


def test_roll_up_of_wards_of_two_provinces_and_a_province_unit() -> None:
    rows = [
        (BA_DINH, {"eid_activations": 3, "dossiers_received": 10}),
        (SOC_SON, {"eid_activations": 5}),
        (THU_DAU_MOT, {"eid_activations": 7, "dossiers_received": 1}),
        (HCMC, {"dossiers_received": 100}),
        (BA_DINH, {"dossiers_received": 2}),  # a second row of the same ward (another entity) adds up
    ]
    rolled = roll_up(rows)

    def f(eid: int, received: int) -> dict[str, int]:
        return {**dict.fromkeys(METRICS, 0), "eid_activations": eid, "dossiers_received": received}

    assert rolled == {
        NATION: f(3 + 5 + 7, 10 + 1 + 100 + 2),
        ("province", "01"): f(3 + 5, 10 + 2),
        ("urban", "urban"): f(3 + 7, 10 + 1 + 2),  # not the province's own 100
        ("ward", BA_DINH): f(3, 12),
        ("rural", "rural"): f(5, 0),
        ("ward", SOC_SON): f(5, 0),
        ("province", "79"): f(7, 1 + 100),
        ("ward", THU_DAU_MOT): f(7, 1),
    }
    assert list(rolled) == [  # first seen first
        NATION,
        ("province", "01"),
        ("urban", "urban"),
        ("ward", BA_DINH),
        ("rural", "rural"),
        ("ward", SOC_SON),
        ("province", "79"),
        ("ward", THU_DAU_MOT),
    ]
    assert list(rolled[NATION]) == list(METRICS)  # every metric, in the contract's order

    tree = tiers(rolled)
    assert list(tree) == ["nation", "urban", "rural", "provinces", "wards"]
    assert tree["nation"] == rolled[NATION] and tree["rural"] == f(5, 0)
    assert tree["provinces"] == {"01": f(8, 12), "79": f(7, 101)}
    assert tree["wards"] == {BA_DINH: f(3, 12), SOC_SON: f(5, 0), THU_DAU_MOT: f(7, 1)}


def test_only_the_metrics_asked_for_and_no_other() -> None:
    events = {NATION: {"events": 4}, ("province", "79"): {"events": 4}}
    assert roll_up([(HCMC, {"events": 4})], metrics=("events",)) == events
    with pytest.raises(KeyError):
        roll_up([(BA_DINH, {"not_a_metric": 1})])


def test_nothing_counted_is_zeros_for_nation_and_areas_and_no_province_or_ward() -> None:
    zero = dict.fromkeys(METRICS, 0)
    assert roll_up([]) == {}
    assert tiers({}) == {"nation": zero, "urban": zero, "rural": zero, "provinces": {}, "wards": {}}
