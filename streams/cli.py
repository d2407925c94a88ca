"""`p06 stack` (the local Kafka broker), `p06 worker` and `p06 live`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from schemas.metrics import METRICS
from schemas.registry import registry
from schemas.settings import settings

from . import local_broker

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


def worker(
    web_port: Optional[int] = typer.Option(None, help="P06_WORKER_WEB_PORT: port of the live API and dashboard"),
) -> None:
    """Run a Faust worker: count events into live figures, serve the live API and dashboard."""
    import faust

    from .topics import ensure_topics
    from .watchdog import restart_if_requested
    from .worker import create_app, snapshot_topic

    if web_port is not None:
        os.environ["P06_WORKER_WEB_PORT"] = str(web_port)
        settings.cache_clear()
    s = settings()
    ensure_topics(s, compacted=(snapshot_topic(s),))
    app, _ = create_app(s)
    console.print(f"live API and dashboard: http://127.0.0.1:{s.worker_web_port}/dashboard/")
    # -l info, not Faust's default: its spinner turns the root logger to DEBUG (stack-facts).
    try:
        faust.Worker(app, loglevel="info", quiet=True).execute_from_commandline()
    finally:
        restart_if_requested()


def live(
    fmt: str = typer.Option("json", "--format", help="json (the /api/live body) or table"),
    url: Optional[str] = typer.Option(None, help="a worker's base URL; default from P06_WORKER_WEB_PORT"),
) -> None:
    """Print the live national figures from a running worker."""
    import httpx

    base = url or f"http://127.0.0.1:{settings().worker_web_port}"
    try:
        body = httpx.get(f"{base}/api/live", timeout=10).raise_for_status().json()
    except httpx.HTTPError as exc:
        console.print(f"[red]error:[/red] no live figures from {base} ({exc}); is `p06 worker` running?")
        raise typer.Exit(1) from None
    if fmt == "json":
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Live figures as of {body['as_of']}")
    table.add_column("scope")
    for metric in METRICS:
        table.add_column(metric.replace("_", " "), justify="right")
    names = {code: loc.name for code, loc in registry().localities.items()}
    rows = [("Nation", body["nation"]), ("Urban", body["urban"]), ("Rural", body["rural"])]
    rows += [(names[code], figures) for code, figures in body["provinces"].items()]
    for label, figures in rows:
        table.add_row(label, *(f"{figures[m]:,}" for m in METRICS))
    console.print(table)


def up(
    rate: float = typer.Option(100.0, help="simulated events per second (0: no simulator)"),
) -> None:
    """Run the whole system on its defaults: broker, worker, sink and simulated localities."""
    import httpx

    from .topics import ensure_topics

    s = settings()
    if not local_broker.port_answers(s.kafka_port):
        stack_up()
    ensure_topics(s)
    logs = (s.data_dir / "logs").resolve()
    logs.mkdir(parents=True, exist_ok=True)
    commands = {"worker": ["worker"], "sink": ["sink"]}
    if rate:
        commands["simulate"] = ["simulate", "--rate", str(rate), "--resend-share", "0.05", "--reorder-share", "0.05"]
    children = {
        name: subprocess.Popen(
            [sys.executable, "-m", "p06", *args],
            stdout=open(logs / f"{name}.log", "ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        for name, args in commands.items()
    }
    base = f"http://127.0.0.1:{s.worker_web_port}"
    try:
        with console.status("waiting for the worker's live API"):
            while True:
                try:
                    httpx.get(f"{base}/api/live", timeout=2).raise_for_status()
                    break
                except httpx.HTTPError:
                    if children["worker"].poll() is not None:
                        raise typer.Exit(1) from None
                    time.sleep(0.5)
        console.print(f"dashboard: {base}/dashboard/")
        console.print(f"live API:  {base}/api/live   metrics: {base}/metrics")
        console.print(f"logs:      {logs}/   (Ctrl-C stops worker, sink and simulator; `p06 stack down` the broker)")
        while all(child.poll() is None for child in children.values()):
            time.sleep(1)
        dead = [name for name, child in children.items() if child.poll() is not None]
        console.print(f"[red]{', '.join(dead)} stopped; see {logs}[/red]")
    except KeyboardInterrupt:
        pass
    finally:
        for child in children.values():
            child.terminate()
        for child in children.values():
            child.wait(timeout=30)
