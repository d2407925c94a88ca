"""The official 2024 -> 2025 conversion tables of vietnam_provinces, which the library keeps in private
modules (`_ward_conversion_2025`, `_province_conversion_2025`) and exposes no public lookup for.

Each table maps an old code (int) to an entry whose `new_wards` / `new_provinces` list the 2025 units it
passed into; a ward entry's `old_ward.is_partly_merged` says the old ward was split. Imported on first call:
the tables are large and most processes never need them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def ward_table() -> Mapping[int, Any]:
    """Old (2024) ward code -> its conversion entry (`old_ward`, `new_wards`)."""
    from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

    return OLD_TO_NEW


def province_table() -> Mapping[int, Any]:
    """Old (2024) province code -> its conversion entry (`old_province`, `new_provinces`)."""
    from vietnam_provinces._province_conversion_2025 import OLD_TO_NEW

    return OLD_TO_NEW
