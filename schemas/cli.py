"""`p06 schema` (the contract for senders in other languages) and `p06 registry` (the two maps)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from .events import json_schemas

app = typer.Typer(help="The event contract.", no_args_is_help=True)
registry_app = typer.Typer(
    help="The locality registry on the 2025 map and the 2024 one, and how they convert.", no_args_is_help=True
)


@app.command("export")
def export(folder: Path = typer.Argument(..., help="Where to write one JSON Schema per event type")) -> None:
    """Write a JSON Schema per event type (task.status.json, ...), generated from the models."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (folder / f"{name}.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        Console().print(f"wrote {folder / (name + '.json')}")


class MapOption(str, Enum):
    current = "2025"
    old = "2024"


def _unit(ref: dict) -> str:
    return f"{ref['code']} {ref['name']}"


def as_text(unit: dict) -> str:
    """What `registry show` prints: the unit, its parent, and its history across the reform."""
    area = f", {unit['area']}" if unit.get("area") else ""
    parent = unit["parent"]
    within = f" (district), in {_unit(parent['province'])}" if "province" in parent else ""
    lines = [f"{_unit(unit)}: {unit['level']}{area}, {unit['map']} map", f"  parent: {_unit(parent)}{within}"]
    if unit["map"] == "2024":
        became = ", ".join(_unit(b) for b in unit["became"]) or "nothing in the official conversion table"
        lines.append(f"  became (2025 map): {became}")
        if unit["counted_as"]:
            lines.append(f"  events sent with map 2024 and this code count under {unit['counted_as']}")
        else:
            why = (
                "split between several units"
                if len(unit["became"]) > 1
                else "only partly merged"
                if unit["became"]
                else "not in the table"
            )
            lines.append(f"  events sent with map 2024 and this code are refused ({why}): send the 2025 code")
    else:
        parts = (
            ", ".join(f"{_unit(c)} ({'whole' if c['whole'] else 'part'})" for c in unit["came_from"])
            or "no 2024 unit in the table"
        )
        lines.append(f"  came from (2024 map): {parts}")
        olds = unit["old_provinces"]
        where = f"lies in 2024 province {olds[0]}" if len(olds) == 1 else f"straddles 2024 provinces {', '.join(olds)}"
        lines.append(f"  on the 2024 map it {where}")
    return "\n".join(lines) + "\n"


@registry_app.command("show")
def show(
    code: str = typer.Argument(..., help="a province (2 digits) or ward (5 digits) code"),
    map_: MapOption = typer.Option(
        MapOption.current, "--map", help="the map CODE is from: 2025 (today) or 2024 (before 1 July 2025)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of text"),
) -> None:
    """A unit, its parent, and what it became (2024 code) or came from (2025 code)."""
    from .maps import describe

    try:
        unit = describe(code, map_.value)  # type: ignore[arg-type]
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(unit, ensure_ascii=False, indent=2) + "\n" if as_json else as_text(unit), nl=False)
