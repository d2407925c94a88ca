"""`p06 worker`, `p06 live` and `p06 up`."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from schemas.metrics import METRICS
from schemas.registry import registry
from schemas.settings import Settings, settings
from stack import broker as local_broker
from stack.cli import stack_up
from stack.processes import P06Process, stop_all

console = Console()


def worker(
    web_port: int | None = typer.Option(None, help="P06_WORKER_WEB_PORT: port of the live API and dashboard"),
) -> None:
    """Run a Faust worker: count events into live figures, serve the live API and dashboard."""
    from schemas.alerts import load_rules
    from schemas.names import alerts_feed_topic, alerts_topic
    from stack import ensure_topics
    from stack.topics import create_topics

    from .watchdog import Worker, restart_if_requested
    from .worker import create_app, snapshot_topic

    if web_port is not None:
        os.environ["P06_WORKER_WEB_PORT"] = str(web_port)
        settings.cache_clear()
    s = settings()
    load_rules(s.alert_rules, [p for p in s.alert_webhook_allow.split(",") if p])  # a wrong file stops the start
    ensure_topics(s, compacted=(snapshot_topic(s),))
    create_topics(s, [alerts_feed_topic(s.app_id), alerts_topic(s.app_id)], s.topic_partitions)
    app, _ = create_app(s)
    # The state is many small objects that live long: with Python's default thresholds the cycle
    # collector ran 43 full passes in a 26 s drain (10 s of it, py-spy). Collect rarely, and never
    # walk the objects of startup (imports, registry) again.
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    console.print(f"live API and dashboard: http://127.0.0.1:{s.worker_web_port}/dashboard/")
    # -l info, not Faust's default: its spinner turns the root logger to DEBUG (stack-facts).
    try:
        Worker(app, loglevel="info", quiet=True).execute_from_commandline()
    finally:
        restart_if_requested()


def admission() -> None:
    """Move each province's ingestion topic onto the events topic, that province's events only."""
    import logging

    from stack import ensure_ingestion_topics, ensure_topics

    from .admission import run_until_stopped

    s = settings()
    ensure_topics(s)
    ensure_ingestion_topics(s)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # its metadata refreshes would drown the stage's totals
    console.print(f"admission: {s.events_topic}.in.<province> -> {s.events_topic} (others -> {s.dlq_topic})")
    run_until_stopped(s)


def live(
    fmt: str = typer.Option("json", "--format", help="json (the /api/live body) or table"),
    url: str | None = typer.Option(None, help="a worker's base URL; default from P06_WORKER_WEB_PORT"),
) -> None:
    """Print the live national figures from a running worker."""
    import httpx

    from auth.accounts import client_credentials

    base = url or f"http://127.0.0.1:{settings().worker_web_port}"
    try:
        response = httpx.get(f"{base}/api/live", auth=client_credentials(settings()), timeout=10)
        if response.status_code in (401, 403):
            console.print(
                f"[red]error:[/red] {base} refused: {response.json().get('error')}; set P06_OPERATOR_USER and"
                " P06_OPERATOR_PASSWORD_FILE to an operator's account (`p06 users add`)"
            )
            raise typer.Exit(1)
        body = response.raise_for_status().json()
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
    rows = [("Nation", body["nation"]), ("Urban", body["urban"]), ("Rural", body["rural"])] if "nation" in body else []
    rows += [(names[code], figures) for code, figures in body["provinces"].items()]
    for label, figures in rows:
        table.add_row(label, *(f"{figures[m]:,}" for m in METRICS))
    console.print(table)


# How long `p06 up` lets its processes stop before it kills them (the worker's own deadline is 10 s).
STOP_GRACE_S = 15.0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def up(
    rate: float = typer.Option(100.0, help="simulated events per second (0: no simulator)"),
    duration: float | None = typer.Option(
        None, min=0, help="stop simulating after this many seconds; the worker and sink keep running"
    ),
) -> None:
    """Run the whole system on its defaults: broker, worker, admission, sink and simulated localities."""
    from auth.accounts import client_credentials, first_password_file

    s = settings()
    # Ctrl-C and SIGTERM both stop what up started, even if a shell started us with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    logs = _prepare_stack(s)
    auth = client_credentials(s)
    children = _start(_commands(rate, duration), logs)
    base = f"http://127.0.0.1:{s.worker_web_port}"
    try:
        with console.status("waiting for the worker's live API"):
            try:
                children["worker"].wait_until(lambda: _live_answers(base, auth), None, "live API")
            except RuntimeError:
                raise typer.Exit(1) from None
        password = first_password_file(s.accounts_folder, "admin")
        console.print(f"dashboard: {base}/dashboard/   (log in as admin, password in {password})", soft_wrap=True)
        console.print(
            f"live API:  {base}/api/live   metrics: {base}/metrics (the monitor account)   `p06 users` manages accounts"
        )
        console.print(
            f"logs:      {logs}/   (Ctrl-C stops worker, admission, sink and simulator; `p06 stack down` the broker)"
        )
        _watch(children, logs)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(children)


def _prepare_stack(s: Settings) -> Path:
    """The broker (started if nothing answers), the topics, the first accounts; the logs folder."""
    from auth.accounts import ensure_first_accounts
    from stack import ensure_ingestion_topics, ensure_topics

    if not local_broker.port_answers(s.kafka_port):
        stack_up(plaintext=False, brokers=1)  # or the cluster its data folder holds
    ensure_topics(s)
    ensure_ingestion_topics(s)
    logs = (s.data_dir / "logs").resolve()
    logs.mkdir(parents=True, exist_ok=True)
    for made in ensure_first_accounts(s.accounts_folder):  # a fresh folder: an admin and a monitor to log in with
        console.print(
            f"made account {made.name.removesuffix('-password')}: its password is in {made.resolve()} (owner-only)",
            soft_wrap=True,
        )
    return logs


def _commands(rate: float, duration: float | None) -> dict[str, list[str]]:
    commands = {"worker": ["worker"], "admission": ["admission"], "sink": ["sink"]}
    if rate:
        simulate = ["simulate", "--rate", str(rate), "--resend-share", "0.05", "--reorder-share", "0.05"]
        simulate += ["--correction-share", "0.05"]  # corrections as events (issue 24), some void
        commands["simulate"] = [*simulate, "--as-provinces"]
        commands["simulate"] += ["--duration", str(duration)] if duration is not None else []
    return commands


def _start(commands: dict[str, list[str]], logs: Path) -> dict[str, P06Process]:
    # In up's own process group, so that a terminal's Ctrl-C reaches them as it reaches up.
    return {
        name: P06Process(args, logs / f"{name}.log", own_group=False, measure_rss=False)
        for name, args in commands.items()
    }


def _live_answers(base: str, auth: tuple[str, str] | None) -> bool:
    """Whether the live API answers; a refusal of up's own credentials ends up (typer.Exit)."""
    import httpx

    try:
        response = httpx.get(f"{base}/api/live", auth=auth, timeout=2)
    except httpx.HTTPError:
        return False
    if response.status_code in (401, 403):
        console.print(
            f"[red]the live API refused {'no credentials' if auth is None else auth[0]}:[/red] set"
            " P06_OPERATOR_USER and P06_OPERATOR_PASSWORD_FILE to a national operator's account"
        )
        raise typer.Exit(1)
    return response.is_success


def _watch(children: dict[str, P06Process], logs: Path) -> None:
    """Until a process fails; a simulator that finished its --duration is not a failure."""
    finished = False
    while True:
        codes = {name: child.returncode for name, child in children.items()}
        failed = [name for name, code in codes.items() if code is not None and not (name == "simulate" and code == 0)]
        if failed:
            console.print(f"[red]{', '.join(failed)} stopped; see {logs}[/red]")
            return
        if not finished and codes.get("simulate") == 0:
            finished = True
            console.print("simulator finished; worker and sink keep running (Ctrl-C stops them)")
        time.sleep(1)


def _stop(children: dict[str, P06Process]) -> None:
    """SIGTERM to each process (Ctrl-C sent them SIGINT already), then SIGKILL after STOP_GRACE_S.

    A worker or sink whose broker is already gone can spend its shutdown waiting for Kafka; both are
    safe to kill (the worker resumes from its checkpoint, the sink's writes are deduplicated).
    """
    for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not leave orphans behind
        signal.signal(signum, signal.SIG_IGN)
    for name in stop_all(children, STOP_GRACE_S):
        console.print(f"{name} did not stop within {STOP_GRACE_S:.0f} s of SIGTERM: killed")
