"""The shape issue 23 gave the code, kept: each rule here failed on the code before it.

- schemas/ is the contract only: it imports no Kafka client, no stream framework, no password or session library.
- A private (a name starting with one underscore) is touched only by the module that defines it, and a
  third-party library's only in that library's adapter (stack/adapters/, or schemas/adapters/ for the
  registry's library), each touch with a test that goes red without it.
- No function of the product is longer than MAX_FUNCTION_LINES.
- No service writes Prometheus exposition text by hand: /metrics is rendered by prometheus_client.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRODUCT = ("schemas", "auth", "producers", "stack", "streams", "sinks", "bench")
MAX_FUNCTION_LINES = 60
NOT_CONTRACT = {"faust", "mode", "kafka", "aiokafka", "argon2", "itsdangerous", "starlette", "aiohttp", "uvicorn"}
# Documented names that merely start with an underscore: os._exit, namedtuple's methods.
PUBLIC_UNDERSCORED = {"_exit", "_replace", "_asdict", "_fields", "_make"}
FRAMEWORKS = {"faust", "mode", "kafka", "aiokafka"}  # whose classes we subclass, and whose privates we once overrode
THIRD_PARTY = {
    "faust", "mode", "kafka", "aiokafka", "clickhouse_connect", "chdb", "starlette", "aiohttp", "pydantic",
    "vietnam_provinces", "prometheus_client", "rocksdict",
}  # fmt: skip


def product_files() -> list[Path]:
    return sorted(p for package in PRODUCT for p in (REPO / package).rglob("*.py"))


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported_roots(tree: ast.Module) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted((REPO / "schemas").rglob("*.py")), ids=lambda p: p.name)
def test_the_contract_imports_no_infrastructure(path: Path) -> None:
    assert not imported_roots(parsed(path)) & NOT_CONTRACT
    assert "<html" not in path.read_text().lower()


def own_names(trees: list[ast.Module]) -> set[str]:
    """Every name our own code defines: functions, classes, its own attributes (self.x = ...), variables, arguments."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and is_own(node.value):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def is_own(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in {"self", "cls"}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in PUBLIC_UNDERSCORED


def framework_names(tree: ast.Module) -> set[str]:
    """Local names bound to a Kafka client or stream framework module, or to a class imported from one."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] in FRAMEWORKS}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] in FRAMEWORKS:
            names |= {a.asname or a.name for a in node.names}
    return names


def private_touches(tree: ast.Module, ours: set[str]) -> list[str]:
    """Privates imported from a third-party module, read or set on objects not our own, or overridden."""
    frameworks, touches = framework_names(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            private_module = any(is_private(part) for part in node.module.split("."))
            if node.module.split(".")[0] in THIRD_PARTY and (
                private_module or any(is_private(a.name) for a in node.names)
            ):
                touches.append(f"from {node.module} import ... (line {node.lineno})")
        elif isinstance(node, ast.Attribute) and is_private(node.attr) and not is_own(node.value):
            if isinstance(node.ctx, ast.Store) or node.attr not in ours:
                touches.append(f"{ast.unparse(node)} (line {node.lineno})")
        elif isinstance(node, ast.ClassDef) and any(root_name(b) in frameworks for b in node.bases):
            touches += [
                f"{node.name}.{item.name} overrides a private (line {item.lineno})"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and is_private(item.name)
            ]
    return touches


def root_name(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def test_privates_stay_in_their_module_and_third_party_ones_in_their_adapter() -> None:
    """A module touches only its own privates; a library's privates only in its adapter (stack/adapters/)."""
    found = {
        str(p.relative_to(REPO)): touches
        for p in product_files()
        if "adapters" not in p.parts and (touches := private_touches(tree := parsed(p), own_names([tree])))
    }
    assert not found


def long_functions(path: Path) -> list[str]:
    return [
        f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_no_product_function_is_longer_than_the_limit() -> None:
    assert [f for p in product_files() for f in long_functions(p)] == []


def test_no_hand_written_prometheus_text() -> None:
    hand_written = [
        str(p.relative_to(REPO)) for p in product_files() if "# TYPE " in p.read_text() or "# HELP " in p.read_text()
    ]
    assert hand_written == []
