"""The worker's own figures for /metrics: what it read, applied, refused and how far behind it is."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import faust
from faust.types import TP

if TYPE_CHECKING:
    from .worker import Processor


@dataclass
class Stats:
    """Counters for /metrics; process-local, reset on restart like any Prometheus counter."""

    messages: int = 0
    events: int = 0
    events_changed: int = 0
    dlq: int = 0
    conflicts: int = 0
    rerouted: int = 0
    stale: int = 0
    batches: int = 0
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    started: float = field(default_factory=time.time)


def prometheus_text(app: faust.App, processor: Processor) -> str:
    s = processor.stats
    lines = [
        "# HELP p06_messages_total Kafka messages read from the events topic.",
        "# TYPE p06_messages_total counter",
        f"p06_messages_total {s.messages}",
        "# HELP p06_events_processed_total Valid events folded into locality state (resends included).",
        "# TYPE p06_events_processed_total counter",
        f"p06_events_processed_total {s.events}",
        "# HELP p06_events_changed_total Events seen for the first time (not a resend, not a conflicting copy).",
        "# TYPE p06_events_changed_total counter",
        f"p06_events_changed_total {s.events_changed}",
        "# HELP p06_dlq_total Invalid messages or batch elements sent to the dead-letter topic.",
        "# TYPE p06_dlq_total counter",
        f"p06_dlq_total {s.dlq}",
        "# HELP p06_conflicting_copies_total Copies of a counted event with other content, sent to the dead-letter topic (the first copy counts).",
        "# TYPE p06_conflicting_copies_total counter",
        f"p06_conflicting_copies_total {s.conflicts}",
        "# HELP p06_rerouted_total Events keyed under another locality, sent back under their own key.",
        "# TYPE p06_rerouted_total counter",
        f"p06_rerouted_total {s.rerouted}",
        "# HELP p06_stale_messages_total Messages fetched before a rebalance, left to be fetched again.",
        "# TYPE p06_stale_messages_total counter",
        f"p06_stale_messages_total {s.stale}",
        "# HELP p06_position_gaps_total Times records past the position kept with the state arrived, or did not, and the worker read from its position again.",
        "# TYPE p06_position_gaps_total counter",
        f"p06_position_gaps_total {processor.positions.gaps}",
        "# HELP p06_assigned_partitions Partitions of the events topic this worker owns now.",
        "# TYPE p06_assigned_partitions gauge",
        f"p06_assigned_partitions {sum(tp.topic == processor.events_topic.get_topic_name() for tp in app.consumer.assignment())}",
        "# HELP p06_consumer_lag Messages not yet processed, per partition.",
        "# TYPE p06_consumer_lag gauge",
    ]
    for (topic, partition), offset in sorted(s.positions.items()):
        try:
            highwater = app.consumer.highwater(TP(topic, partition))
        except Exception:  # partition revoked since: no lag to report
            continue
        if highwater is not None:
            lines.append(
                f'p06_consumer_lag{{topic="{topic}",partition="{partition}"}} {max(0, highwater - offset - 1)}'
            )
    lines += [
        "# HELP p06_processing_latency_seconds Kafka timestamp to processed, over the last 10,000 messages.",
        "# TYPE p06_processing_latency_seconds summary",
    ]
    if s.latencies_s:
        ordered = sorted(s.latencies_s)
        for q in (0.5, 0.99):
            lines.append(f'p06_processing_latency_seconds{{quantile="{q}"}} {ordered[int(q * (len(ordered) - 1))]:.4f}')
        lines.append(f"p06_processing_latency_seconds_sum {sum(ordered):.4f}")
        lines.append(f"p06_processing_latency_seconds_count {len(ordered)}")
    lines.append(f"p06_up_since_seconds {time.time() - s.started:.0f}")
    return "\n".join(lines) + "\n"
