"""schemas.adapters.vietnam_provinces, shown to be needed: the library publishes the 2024 -> 2025 conversion
only in private modules. If a release makes it public, the first test goes red: use that and drop the adapter.
The others hold the shape the map code reads (schemas.maps, sinks.checks.recount), on real codes."""

from __future__ import annotations

import pkgutil

import vietnam_provinces

from schemas.adapters.vietnam_provinces import province_table, ward_table


def test_the_library_publishes_no_conversion_table() -> None:
    public = [m.name for m in pkgutil.walk_packages(vietnam_provinces.__path__, "vietnam_provinces.")]
    public = [name for name in public if not any(part.startswith("_") for part in name.split("."))]
    assert not [name for name in public if "conversion" in name]
    # Public names only: once our adapter has run, the private submodules are attributes of the package too.
    exported = [name for name in dir(vietnam_provinces) if not name.startswith("_")]
    assert not [name for name in exported if "OLD_TO_NEW" in name or "conversion" in name.lower()]


def test_a_split_ward_lists_every_ward_it_went_to() -> None:
    # Phường Ngọc Hà (2024, 00016) was split between 00004 Phường Ba Đình and 00008 Phường Ngọc Hà.
    entry = ward_table()[16]
    assert entry.old_ward.province_code == 1 and entry.old_ward.is_partly_merged
    assert sorted(w.code for w in entry.new_wards) == [4, 8]
    assert {w.province_code for w in entry.new_wards} == {1}


def test_every_old_province_passed_into_a_2025_province() -> None:
    table = province_table()
    assert len(table) == 63  # the 63 provinces of 2024
    new = {p.code for entry in table.values() for p in entry.new_provinces}
    assert len(new) == 34
