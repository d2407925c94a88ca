"""`p06 bench`: every figure of issue 6 in one run, each beside its baseline from the same run.

Heavy imports live in bench.runner, so wiring this command costs the other `p06` commands nothing.
"""

from __future__ import annotations

import typer


def bench(
    quick: bool = typer.Option(False, "--quick", help="a small run for CI (about 2 minutes)"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON on stdout"),
    events: int | None = typer.Option(
        None, "--events", min=1000, help="events in the pre-filled topics (default 500,000; 20,000 with --quick)"
    ),
    seed: int = typer.Option(6, help="same seed, same events"),
    keep: bool = typer.Option(False, "--keep", help="keep the run's folder (logs, chDB) and topics"),
) -> None:
    """Measure the pipeline against its baselines on a real broker; write bench/results/latest.json."""
    from .runner import main

    main(quick, as_json, events, seed, keep)
