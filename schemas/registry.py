"""The organisation-unit hierarchy: nation > 34 provinces > 3,321 wards, from `vietnam-provinces`.

Province codes are 2 digits ("01"), ward codes 5 digits ("00070"), as the official registry writes them.
A ward is urban when it is a phường, rural when it is a xã or a đặc khu.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from vietnam_provinces import Province, VietNamDivisionType, Ward

Level = Literal["province", "ward"]
Area = Literal["urban", "rural"]


@dataclass(frozen=True, slots=True)
class Locality:
    code: str
    name: str
    level: Level
    province: str  # a province's own code for a province
    area: Area | None  # None for a province


@dataclass(frozen=True)
class Registry:
    localities: dict[str, Locality]
    wards_by_province: dict[str, tuple[str, ...]]

    @property
    def provinces(self) -> list[str]:
        return sorted(self.wards_by_province)

    def get(self, code: str) -> Locality | None:
        return self.localities.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self.localities


@lru_cache(maxsize=1)
def registry() -> Registry:
    localities: dict[str, Locality] = {}
    wards: dict[str, list[str]] = {}
    for p in Province.iter_all():
        code = f"{p.code.value:02d}"
        localities[code] = Locality(code, p.name, "province", code, None)
        wards[code] = []
    for w in Ward.iter_all():
        code, province = f"{w.code.value:05d}", f"{w.province_code.value:02d}"
        area: Area = "urban" if w.division_type == VietNamDivisionType.PHUONG else "rural"
        localities[code] = Locality(code, w.name, "ward", province, area)
        wards[province].append(code)
    return Registry(localities, {p: tuple(sorted(c)) for p, c in wards.items()})
