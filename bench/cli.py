"""`p06 bench`: every figure of issue 6 in one run, each beside its baseline from the same run.

Heavy imports live in bench.runner, so wiring this command costs the other `p06` commands nothing.
"""

from __future__ import annotations

import typer

STAGES = ("publish", "worker", "sink", "latency", "warehouse", "history", "security", "cluster")  # runner.ONLY's keys


def _stages(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in STAGES]
    if unknown or not names:
        raise typer.BadParameter(f"{', '.join(unknown) or 'nothing'}: the stages are {', '.join(STAGES)}")
    return names


def bench(
    quick: bool = typer.Option(
        False, "--quick", help="a small run for CI (about 2 minutes; without the cluster stage)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON on stdout"),
    events: int | None = typer.Option(
        None, "--events", min=1000, help="events in the pre-filled topics (default 500,000; 20,000 with --quick)"
    ),
    seed: int = typer.Option(6, help="same seed, same events"),
    keep: bool = typer.Option(False, "--keep", help="keep the run's folder (logs, chDB) and topics"),
    only: str | None = typer.Option(
        None,
        "--only",
        help=f"run only these stages (comma-separated: {', '.join(STAGES)}) with the baselines their ratios "
        "need; results go to bench/results/latest-full-only.json (or latest-quick-only.json)",
    ),
) -> None:
    """Measure the pipeline against its baselines on a real broker; write bench/results/latest.json."""
    from .runner import main

    main(quick, as_json, events, seed, keep, _stages(only))
