"""`p06 stack`: start, inspect and stop the local Kafka broker."""
from __future__ import annotations

import typer
from rich.console import Console

from schemas.settings import settings

from . import broker as local_broker

stack_app = typer.Typer(help="A local Apache Kafka broker (KRaft, single node) for development and tests.")
console = Console()


@stack_app.command("up")
def stack_up() -> None:
    """Start the broker on the port of P06_KAFKA_BOOTSTRAP (harmless when it already runs)."""
    s = settings()
    try:
        with console.status(f"starting Kafka {local_broker.kafka_version()} on 127.0.0.1:{s.kafka_port}"):
            broker = local_broker.up(s.data_dir, s.kafka_port)
    except local_broker.StackError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(broker.describe())
    console.print(f"log: {broker.folder / 'kafka.log'}")


@stack_app.command("status")
def stack_status() -> None:
    """Say whether the broker is up, with its port and PID (exit 1 when down)."""
    broker = local_broker.status(settings().data_dir)
    console.print(broker.describe())
    raise typer.Exit(0 if broker.running else 1)


@stack_app.command("down")
def stack_down(purge: bool = typer.Option(False, "--purge", help="also delete the broker's data")) -> None:
    """Stop the broker by its PID; its data stays unless --purge."""
    s = settings()
    was_up = local_broker.down(s.data_dir, purge=purge)
    console.print("Kafka stopped" if was_up else "Kafka was not running", end="")
    console.print(" and its data deleted" if purge else "")
