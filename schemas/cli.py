"""`p06 schema`: the contract for senders in other languages."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from .events import json_schemas

app = typer.Typer(help="The event contract.", no_args_is_help=True)


@app.command("export")
def export(folder: Path = typer.Argument(..., help="Where to write one JSON Schema per event type")) -> None:
    """Write a JSON Schema per event type (task.status.json, ...), generated from the models."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (folder / f"{name}.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        Console().print(f"wrote {folder / (name + '.json')}")
