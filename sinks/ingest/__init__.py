"""Ingest: the sink that reads the events topic into the warehouse (`p06 sink`).

Modules: checkpoint (the exactness protocol, step by step), batch (records -> rows of the events at home),
stats (its counters), sink (the consumer loop that runs the protocol).
"""

from sinks.ingest.batch import Batch
from sinks.ingest.checkpoint import Checkpoint
from sinks.ingest.sink import Sink, run
from sinks.ingest.stats import Stats

__all__ = ["Batch", "Checkpoint", "Sink", "Stats", "run"]
