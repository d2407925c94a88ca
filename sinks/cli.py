"""`p06 sink`, `p06 report`, `p06 history`, `p06 reconcile`: the warehouse side of p06."""
from __future__ import annotations

import logging

import typer

from schemas.settings import settings

report_app = typer.Typer(help="Official figures from ClickHouse: national or one province, at a date.", no_args_is_help=True)


def sink() -> None:
    """Archive every valid event in ClickHouse and keep the rollups; commits offsets only after a durable write."""
    from . import sink as sink_module

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sink_module.run(settings())
