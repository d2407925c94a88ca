"""The roll-up of the hierarchy: which totals a locality's figures count in, and those totals summed.

A scope is (kind, code), named as the warehouse's rollup tables name them: ("nation", "VN"),
("province", "01"), ("urban", "urban"), ("rural", "rural"), ("ward", "00004"). A ward counts in the
nation, its province, its area and itself; a province-level locality (a province reporting for
itself) counts in the nation and its province only, never in urban or rural.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Literal

from .metrics import METRICS
from .registry import registry

Kind = Literal["nation", "province", "urban", "rural", "ward"]
Scope = tuple[Kind, str]
Figures = dict[str, int]

NATION: Scope = ("nation", "VN")


@cache
def scopes_of(code: str) -> tuple[Scope, ...]:
    """The scopes locality `code` counts in, nation first; KeyError when it is not in the registry."""
    place = registry().localities[code]
    scopes: tuple[Scope, ...] = (NATION, ("province", place.province))
    if place.level == "ward" and place.area is not None:  # every ward has one (registry)
        scopes += ((place.area, place.area), ("ward", code))
    return scopes


def roll_up(
    figures_by_locality: Iterable[tuple[str, Mapping[str, int]]], metrics: Iterable[str] = METRICS
) -> dict[Scope, Figures]:
    """Each scope's sum of the localities' figures, for the scopes some locality counts in (first seen
    first). A locality may come more than once (one row per entity): its figures add up. Every total
    starts with each of `metrics` at zero; a figure named outside them is a KeyError, not a new metric."""
    metrics = tuple(metrics)
    out: dict[Scope, Figures] = {}
    for code, figures in figures_by_locality:
        for scope in scopes_of(code):
            total = out.get(scope)
            if total is None:
                total = out[scope] = dict.fromkeys(metrics, 0)
            for metric, value in figures.items():
                total[metric] += int(value)
    return out


def tiers(rolled: Mapping[Scope, Figures], metrics: Iterable[str] = METRICS) -> dict[str, Any]:
    """A roll-up as {"nation", "urban", "rural", "provinces": {code: ...}, "wards": {code: ...}}: the
    shape the reports and checks compare; nation, urban and rural are zeros when nothing counted there."""
    metrics = tuple(metrics)
    return {
        "nation": rolled.get(NATION, dict.fromkeys(metrics, 0)),
        "urban": rolled.get(("urban", "urban"), dict.fromkeys(metrics, 0)),
        "rural": rolled.get(("rural", "rural"), dict.fromkeys(metrics, 0)),
        "provinces": {code: f for (kind, code), f in rolled.items() if kind == "province"},
        "wards": {code: f for (kind, code), f in rolled.items() if kind == "ward"},
    }
