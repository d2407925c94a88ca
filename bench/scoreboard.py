"""The results: one JSON document (bench/results/latest.json + a timestamped copy) and a rich table."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    baseline: str | None = None  # another key of the same run
    at_least: float | None = None  # target on the ratio when there is a baseline, else on the value
    at_most: float | None = None
    ratio_key: str | None = None  # the name of value ÷ baseline in the results (issue 27: each ratio a key)


FIGURES: tuple[Figure, ...] = (
    Figure("raw_produce_eps", "raw kafka-python produce, packed as the publisher (lz4, idempotent)", "ev/s"),
    Figure("raw_produce_single_eps", "raw kafka-python produce, 1 event/msg", "ev/s"),
    Figure("raw_consume_eps", "raw aiokafka getmany + orjson", "ev/s"),
    Figure("validate_eps", "contract validation alone, packed (1 process, no Kafka)", "ev/s"),
    Figure("raw_clickhouse_insert_rps", "raw insert into the archive table, sink's batch size", "rows/s"),
    Figure("raw_clickhouse_bare_rps", "raw insert, bare 6 columns, 10k batches", "rows/s"),
    Figure("chdb_idle_rss_mb", "a process with chDB open and the schema applied, idle", "MB"),
    Figure("tls_sasl_produce_eps", "raw produce, packed as the publisher, TLS + SCRAM-SHA-512 broker", "ev/s"),
    Figure("plaintext_produce_eps", "raw produce, packed, PLAINTEXT broker (same messages)", "ev/s"),
    Figure("tls_sasl_produce_ratio", "raw produce, packed: TLS + SCRAM ÷ PLAINTEXT", "×"),
    Figure("tls_sasl_produce_single_eps", "raw produce, 1 event/msg, TLS + SCRAM-SHA-512 broker", "ev/s"),
    Figure("plaintext_produce_single_eps", "raw produce, 1 event/msg, PLAINTEXT broker (same messages)", "ev/s"),
    Figure("tls_sasl_produce_single_ratio", "raw produce, 1 event/msg: TLS + SCRAM ÷ PLAINTEXT", "×"),
    Figure("tls_sasl_consume_eps", "raw consume, TLS + SCRAM-SHA-512 broker", "ev/s"),
    Figure("plaintext_consume_eps", "raw consume, PLAINTEXT broker (same messages)", "ev/s"),
    Figure("tls_sasl_consume_ratio", "raw consume: TLS + SCRAM ÷ PLAINTEXT", "×"),
    Figure("tls_sasl_publish_ratio", "p06 publish: TLS + SCRAM ÷ PLAINTEXT (startup excluded)", "×"),
    Figure("bare_faust_eps", "bare Faust agent (worker's transport), 1 event/msg", "ev/s"),
    Figure("bare_faust_packed_eps", "bare Faust agent (worker's transport), packed", "ev/s"),
    Figure("bare_faust_startup_s", "bare Faust startup (start → first msg)", "s"),
    Figure("publish_floor_eps", "validation and raw produce one after the other, 1/(1/validate + 1/raw)", "ev/s"),
    Figure("worker_floor_eps", "validation and bare Faust packed one after the other, 1/(1/v + 1/f)", "ev/s"),
    Figure(
        "publish_eps", "p06 publish (startup excluded)", "ev/s", "publish_floor_eps", 0.8, ratio_key="publish_ratio"
    ),
    Figure(
        "worker_single_drain_eps",
        "worker drain, 1 event/msg",
        "ev/s",
        "bare_faust_eps",
        0.8,
        ratio_key="worker_single_ratio",
    ),
    Figure("worker_drain_eps", "worker drain, packed", "ev/s", "worker_floor_eps", 0.6, ratio_key="worker_ratio"),
    Figure("worker2_drain_eps", "2 workers drain, packed", "ev/s", "worker_drain_eps", 1.5, ratio_key="worker2_ratio"),
    Figure("worker_startup_s", "worker startup (start → first figure)", "s"),
    Figure(
        "sink_drain_eps",
        "sink drain into chDB, packed",
        "ev/s",
        "raw_clickhouse_insert_rps",
        0.4,
        ratio_key="sink_ratio",
    ),
    Figure("p50_live_s", "publish → /api/live p50, sink beside", "s"),
    Figure("p99_live_s", "publish → /api/live p99, sink beside", "s", at_most=0.4),
    Figure("p50_live_worker_alone_s", "publish → /api/live p50, no sink beside", "s"),
    Figure("p99_live_worker_alone_s", "publish → /api/live p99, no sink beside", "s", at_most=0.35),
    Figure("p50_clickhouse_s", "publish → ClickHouse p50", "s"),
    Figure("p99_clickhouse_s", "publish → ClickHouse p99", "s", at_most=2.0),
    Figure("sink_batch_empty_s", "sink write per batch at 5,000 ev/s, empty archive", "s"),
    Figure("sink_batch_full_s", "sink write per batch at 5,000 ev/s, a year's archive", "s"),
    Figure("sink_batch_cost_ratio", "sink write per batch, a year's archive ÷ empty", "×", at_most=1.5),
    Figure("p99_clickhouse_full_archive_s", "publish → ClickHouse p99, a year's archive", "s", at_most=2.0),
    Figure("reconcile_full_archive_s", "p06 reconcile --no-live on a year's archive", "s"),
    Figure("worker_rss_mb", "worker peak RSS", "MB", at_most=300),
    Figure("sink_rss_mb", "sink peak RSS (drain and steady stages)", "MB"),
    Figure("sink_own_rss_mb", "sink peak RSS less chDB idle (sink_rss_mb - chdb_idle_rss_mb)", "MB", at_most=250),
    Figure("history_cost_ratio", "worker µs/event, last month of a year ÷ first", "×", at_most=1.25),
    Figure("state_record_max_kb", "largest table changelog record after a year", "KB", at_most=64),
    Figure("history_worker_rss_mb", "worker peak RSS with a year of state", "MB", at_most=400),
    # Issue 26: three brokers (replication factor 3, min.insync.replicas 2) beside the run's one, back to back.
    Figure("one_broker_publish_eps", "p06 publish, the run's broker, beside the cluster's (same lines)", "ev/s"),
    Figure(
        "cluster_publish_eps",
        "p06 publish, 3 brokers, RF 3 (startup excluded)",
        "ev/s",
        "one_broker_publish_eps",
        ratio_key="cluster_publish_ratio",
    ),
    Figure("one_broker_worker_drain_eps", "worker drain, packed, the run's broker, beside the cluster's", "ev/s"),
    Figure(
        "cluster_worker_drain_eps",
        "worker drain, packed, 3 brokers, RF 3 (same messages)",
        "ev/s",
        "one_broker_worker_drain_eps",
        ratio_key="cluster_worker_drain_ratio",
    ),
    Figure("broker_loss_stall_s", "live stalled: leader of most partitions SIGKILLed at 2,000 ev/s", "s", at_most=20),
    Figure("broker_loss_p99_live_s", "publish → /api/live p99 over that minute", "s"),
    Figure("broker_loss_figures_off", "live metrics ≠ recount of what was sent, after the broker loss", "", at_most=0),
)


def _serial(a: float | None, b: float | None) -> float | None:
    """Two rates one after the other on the same events: 1/(1/a + 1/b)."""
    return 1 / (1 / a + 1 / b) if a and b else None


def derive(results: dict[str, Any]) -> None:
    """The floors and ratios computed from measured figures (after a run, or part of one), in place."""
    results["publish_floor_eps"] = _round(_serial(results.get("validate_eps"), results.get("raw_produce_eps")), 1)
    results["worker_floor_eps"] = _round(_serial(results.get("validate_eps"), results.get("bare_faust_packed_eps")), 1)
    sink, idle = results.get("sink_rss_mb"), results.get("chdb_idle_rss_mb")
    results["sink_own_rss_mb"] = round(sink - idle, 1) if sink is not None and idle is not None else None
    for f in FIGURES:
        if f.ratio_key:
            results[f.ratio_key] = _round(ratio(results, f), 3)


def _round(v: float | None, digits: int) -> float | None:
    return round(v, digits) if v is not None else None


def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of the run, under its ratio's key (or the figure's): value, target, met (None: not measured)."""
    return {
        f.ratio_key or f.key: {
            "value": results.get(f.ratio_key or f.key),
            "target": target_text(f),
            "met": verdict(results, f),
        }
        for f in FIGURES
        if f.at_least is not None or f.at_most is not None
    }


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ratio(results: dict[str, Any], f: Figure) -> float | None:
    value, base = results.get(f.key), results.get(f.baseline) if f.baseline else None
    return value / base if value is not None and base else None


def verdict(results: dict[str, Any], f: Figure) -> bool | None:
    subject = ratio(results, f) if f.baseline else results.get(f.key)
    if subject is None or (f.at_least is None and f.at_most is None):
        return None
    return (f.at_least is None or subject >= f.at_least) and (f.at_most is None or subject <= f.at_most)


def target_text(f: Figure) -> str:
    if f.at_least is not None:
        return f"≥ {f.at_least:g}×" if f.baseline else f"≥ {f.at_least:,.0f}"
    return f"≤ {f.at_most:g}" if f.at_most is not None else ""


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "—"
    if unit in ("s",):
        return f"{v:.3f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}"


def table(doc: dict[str, Any]) -> Table:
    res, notes = doc["results"], doc["notes"]
    t = Table(title=f"p06 bench — {doc['meta']['mode']}, {doc['meta']['events']:,} events, {doc['meta']['started_at']}")
    for col, just in (
        ("figure", "left"),
        ("value", "right"),
        ("baseline", "right"),
        ("ratio", "right"),
        ("target", "left"),
        ("", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for f in FIGURES:
        r, ok = ratio(res, f), verdict(res, f)
        mark = {True: "[green]met[/green]", False: "[red]missed[/red]", None: ""}[ok]
        note = notes.get(f.key, "")
        base = f"{_fmt(res.get(f.baseline))} ({f.baseline})" if f.baseline else ""
        value = _fmt(res.get(f.key), f.unit) + (f" {f.unit}" if res.get(f.key) is not None else "")
        t.add_row(
            f.label,
            value,
            base,
            f"{r:.2f}×" if r is not None else "",
            target_text(f),
            mark + (f" [dim]{note}[/dim]" if note else ""),
        )
    return t


def write(doc: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    # A quick run (CI, tests) or part of a run (--only) never overwrites the full run's figures that the README quotes.
    mode = doc["meta"]["mode"] + ("-only" if doc["meta"].get("only") else "")
    (RESULTS / f"{stamp}-{mode}.json").write_text(text)
    latest = RESULTS / ("latest.json" if mode == "full" else f"latest-{mode}.json")
    tmp = latest.with_suffix(".json.tmp")  # gitignored; a reader never sees half a file
    tmp.write_text(text)
    tmp.replace(latest)
    return latest


def show(doc: dict[str, Any], console: Console) -> None:
    console.print(table(doc))
    for key, note in doc["notes"].items():
        if key not in {f.key for f in FIGURES}:
            console.print(f"[dim]{key}: {note}[/dim]")
