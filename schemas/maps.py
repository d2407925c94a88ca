"""The two maps: the current one (2025: 34 provinces, 3,321 wards) and the one before the reform of
1 July 2025 (2024: 63 provinces, ~10,000 wards), with the official old -> new conversion.

Both come from `vietnam-provinces` (its `legacy` package and its 2025 conversion tables). An old unit
that passed whole into one new unit is counted there; an old unit split between several new ones
(or only partly merged, `is_partly_merged`) cannot be placed exactly and is refused, naming where its
parts went. Codes are written as the registry writes them: 2 digits for a province, 5 for a ward.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NoReturn

from .registry import Level, registry

MapName = Literal["2025", "2024"]
CURRENT: MapName = "2025"
OLD: MapName = "2024"
MAPS: tuple[MapName, ...] = (CURRENT, OLD)


@dataclass(frozen=True, slots=True)
class OldUnit:
    """A province or ward of the 2024 map and what became of it."""

    code: str
    name: str
    level: Level
    province: str  # its 2024 province (its own code for a province)
    became: tuple[str, ...]  # the 2025 codes its territory went to; empty when the table has no entry
    partly: bool  # the official table marks it partly merged: only part of it went to `became`

    @property
    def whole(self) -> str | None:
        """The one 2025 unit it passed into whole, None when it cannot be placed exactly."""
        return self.became[0] if len(self.became) == 1 and not self.partly else None


@dataclass(frozen=True)
class OldMap:
    units: dict[str, OldUnit]
    wards_by_province: dict[str, tuple[str, ...]]
    came_from: dict[str, tuple[str, ...]]  # 2025 code -> the 2024 codes of its level it was made of (whole or part)

    @property
    def provinces(self) -> list[str]:
        return sorted(self.wards_by_province)

    def get(self, code: str) -> OldUnit | None:
        return self.units.get(code)

    def old_provinces_of(self, code: str) -> tuple[str, ...]:
        """The 2024 provinces a 2025 unit's territory comes from (one: it lies within that old province)."""
        place = registry().localities[code]
        if place.level == "province":
            return self.came_from.get(code, ())
        sources = {self.units[c].province for c in self.came_from.get(code, ()) if c in self.units}
        # A ward the table gives no source for lies where its province came from, if that is one place.
        return tuple(sorted(sources)) if sources else self.came_from.get(place.province, ())


@lru_cache(maxsize=1)
def old_map() -> OldMap:
    """Built once, on first use: the legacy tables are large and most processes never need them."""
    from vietnam_provinces import legacy

    from schemas.adapters.vietnam_provinces import province_table, ward_table

    PROVINCES, WARDS = province_table(), ward_table()

    units: dict[str, OldUnit] = {}
    wards: dict[str, list[str]] = defaultdict(list)
    came_from: dict[str, list[str]] = defaultdict(list)
    for w in legacy.Ward.iter_all():
        code, province = f"{w.code.value:05d}", f"{w.province_code.value:02d}"
        entry = WARDS.get(w.code.value)
        became = tuple(f"{n.code:05d}" for n in entry.new_wards) if entry else ()
        units[code] = OldUnit(code, w.name, "ward", province, became, bool(entry and entry.old_ward.is_partly_merged))
        wards[province].append(code)
        for new in became:
            came_from[new].append(code)
    current = registry().localities
    for p in legacy.Province.iter_all():
        code = f"{p.code.value:02d}"
        # Where its wards went, each placed in its province by the legacy registry (ward -> district ->
        # province). The library's province table, generated from the ward table's own province column,
        # also lists 80 for Tiền Giang (82) because that column puts one ward of Long An (27691) there.
        became = tuple(sorted({current[n].province for w in wards[code] for n in units[w].became}))
        if not became and (entry := PROVINCES.get(p.code.value)):
            became = tuple(f"{n.code:02d}" for n in entry.new_provinces)
        units[code] = OldUnit(code, p.name, "province", code, became, False)
        wards.setdefault(code, [])
        for new in became:
            came_from[new].append(code)
    return OldMap(
        units, {p: tuple(sorted(c)) for p, c in wards.items()}, {k: tuple(sorted(v)) for k, v in came_from.items()}
    )


def _named(codes: tuple[str, ...]) -> str:
    names = registry().localities
    return ", ".join(f"{c} {names[c].name}" if c in names else c for c in codes)


def to_current(code: str) -> str:
    """The 2025 code under which the events of a 2024 unit count; ValueError saying why when there is none."""
    unit = old_map().get(code)
    if unit is None:
        raise ValueError(f"locality: {code!r} is not a province or ward code of the 2024 map")
    if unit.whole is not None:
        return unit.whole
    if not unit.became:
        raise ValueError(
            f"locality: {code!r} ({unit.name}, 2024 map) has no entry in the official conversion"
            " table; send the code of the 2025 unit it is now part of, with map '2025'"
        )
    how = "was split between" if len(unit.became) > 1 else "went only in part to"
    return _refuse(code, unit, how)


def _refuse(code: str, unit: OldUnit, how: str) -> NoReturn:
    kind = "provinces" if unit.level == "province" else "wards"
    raise ValueError(
        f"locality: {code!r} ({unit.name}, 2024 map) {how} 2025 {kind} {_named(unit.became)}"
        f" and cannot be counted exactly; send the 2025 code of the {unit.level} the report is about, with map '2025'"
    )


def _ref(code: str, name: str, **more: object) -> dict[str, object]:
    return {"code": code, "name": name, **more}


def _district(ward: str) -> dict[str, object]:
    """The 2024 map had districts between province and ward: an old ward's parent, in its province."""
    from vietnam_provinces import legacy

    district = legacy.District.from_code(legacy.Ward.from_code(legacy.WardCode(int(ward))).district_code)
    province = old_map().units[f"{district.province_code.value:02d}"]
    return _ref(
        f"{district.code.value:03d}", district.name, level="district", province=_ref(province.code, province.name)
    )


def describe(code: str, map_name: MapName = CURRENT) -> dict[str, object]:
    """A unit of either map, its parent, and what it became (2024) or came from (2025); ValueError if unknown."""
    reg, old = registry(), old_map()
    if map_name == OLD:
        unit = old.get(code)
        if unit is None:
            raise ValueError(
                f"{code!r} is not a province or ward code of the 2024 map; without --map 2024, the 2025 map is searched"
            )
        parent = _ref("VN", "Việt Nam") if unit.level == "province" else _district(code)
        became = [_ref(c, reg.localities[c].name) for c in unit.became if c in reg.localities]
        counted = unit.whole
        return {
            "map": OLD,
            "code": code,
            "name": unit.name,
            "level": unit.level,
            "parent": parent,
            "became": became,
            "partly": unit.partly,
            "counted_as": counted,
        }
    place = reg.get(code)
    if place is None:
        raise ValueError(
            f"{code!r} is not a province or ward code of the 2025 map; --map 2024 searches the map before 1 July 2025"
        )
    parent = (
        _ref("VN", "Việt Nam")
        if place.level == "province"
        else _ref(place.province, reg.localities[place.province].name)
    )
    sources = [old.units[c] for c in old.came_from.get(code, ()) if c in old.units]
    came_from = [_ref(u.code, u.name, whole=u.whole == code) for u in sources]
    return {
        "map": CURRENT,
        "code": code,
        "name": place.name,
        "level": place.level,
        "area": place.area,
        "parent": parent,
        "came_from": came_from,
        "old_provinces": list(old.old_provinces_of(code)),
    }
