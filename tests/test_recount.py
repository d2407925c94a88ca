"""The independent recount stays independent: wherever it lives, it reads none of the pipeline's code."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import sinks.checks.recount as recount

ALLOWED = {
    "schemas.registry",  # the hierarchy
    "schemas.adapters.vietnam_provinces",  # the official 2024 -> 2025 tables
    "vietnam_provinces",
}


def test_the_recount_imports_only_the_registry_the_map_tables_and_the_standard_library() -> None:
    tree = ast.parse(Path(recount.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    outside = {
        m
        for m in imported
        if m.split(".")[0] not in sys.stdlib_module_names
        and m != "__future__"
        and not any(m == a or m.startswith(f"{a}.") for a in ALLOWED)
    }
    assert not outside, f"the recount must not read the pipeline's code: {sorted(outside)}"
