"""`p06`: one command line. Each package owns its commands; this module only wires them."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from auth import cli as users_cli
from bench import cli as bench_cli
from producers import cli as producers_cli
from schemas import cli as schema_cli
from schemas.settings import SettingsError, settings
from sinks import cli as sinks_cli
from sinks.periods import cli as periods_cli
from stack import cli as stack_cli
from streams import cli as streams_cli
from streams.alerts import cli as alerts_cli

app = typer.Typer(
    help="Project 06 live national reporting: publish, count, archive and report locality status.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    data_dir: Path | None = typer.Option(None, help="P06_DATA_DIR: folder for local state"),
    kafka_bootstrap: str | None = typer.Option(None, help="P06_KAFKA_BOOTSTRAP: host:port of Kafka"),
    clickhouse_url: str | None = typer.Option(None, help="P06_CLICKHOUSE_URL: chdb:///DIR or http://HOST:PORT"),
) -> None:
    # Flags become the environment, so that every module and child process reads one configuration.
    for name, value in {
        "DATA_DIR": data_dir,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CLICKHOUSE_URL": clickhouse_url,
    }.items():
        if value is not None:
            os.environ[f"P06_{name}"] = str(value)
    settings.cache_clear()
    settings()  # a wrong value stops here, naming the variable


app.add_typer(schema_cli.app, name="schema")
app.add_typer(users_cli.app, name="users")
app.add_typer(schema_cli.registry_app, name="registry")
app.add_typer(stack_cli.stack_app, name="stack")
app.command("publish")(producers_cli.publish)
app.command("simulate")(producers_cli.simulate)
app.add_typer(producers_cli.gateway_app, name="gateway")
app.command("worker")(streams_cli.worker)
app.command("admission")(streams_cli.admission)
app.command("live")(streams_cli.live)
app.add_typer(alerts_cli.alerts_app, name="alerts")
app.command("up")(streams_cli.up)
app.command("sink")(sinks_cli.sink)
app.add_typer(sinks_cli.report_app, name="report")
app.add_typer(periods_cli.period_app, name="period")
app.command("history")(sinks_cli.history)
app.command("reconcile")(sinks_cli.reconcile)
app.add_typer(sinks_cli.warehouse_app, name="warehouse")
app.command("bench")(bench_cli.bench)


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
