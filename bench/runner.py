"""The benchmark run: baselines first, then each pipeline stage, into one results document."""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from schemas.settings import settings
from stack import create_topics

from . import (
    bare_faust,
    clickhouse_raw,
    history,
    kafka_raw,
    latency,
    publish,
    report,
    sink,
    validate,
    warehouse,
    worker,
)
from .broker import Cluster, client_env, cluster, delete_topics, security_pair
from .events import encode, pack, source
from .expected import recount
from .stages import StageEnv, StageMissing

T = TypeVar("T")
console = Console(
    stderr=True, width=None if Console(stderr=True).is_terminal else 150
)  # the table and progress go to stderr, so --json stdout stays clean

QUICK = {
    "events": 20_000,
    "publish": 20_000,
    "latency_s": 10,
    "repeat": 3,
    "budget_s": 150,
    "stage_s": 40,
    "history_provinces": 1,
    "history_wards": 6,
    "history_hourly_wards": 1,
    "year_wards": 300,
}
FULL = {
    "events": 500_000,
    "publish": 200_000,
    "latency_s": 60,
    "repeat": 3,
    "budget_s": 3600,
    "stage_s": 900,
    "history_provinces": 3,
    "history_wards": 30,
    "history_hourly_wards": 2,
    "year_wards": None,
}
LATENCY_RATE = 5_000


class BenchFailed(SystemExit):
    """Raised after the results are written: a stage failed, or a figure came back null."""


class Run:
    """Collects figures and notes; a stage that fails or is missing leaves its figures null, and the
    run then ends non-zero naming it (after the other stages ran and the results were written)."""

    def __init__(self, budget_s: float, stage_s: float) -> None:
        self.deadline, self.stage_s = time.time() + budget_s, stage_s
        self.results: dict[str, Any] = {f.key: None for f in report.FIGURES}
        self.notes: dict[str, str] = {}
        self.failed: list[str] = []  # "stage title: why"

    def stage(self, title: str, keys: list[str], fn: Callable[[], T]) -> T | None:
        with console.status(title):
            start = time.time()
            try:
                out = fn()
            except StageMissing as exc:
                note = f"not measured: {exc}"
            except Exception as exc:  # a broken stage must not hide the other figures
                note = f"failed: {str(exc).splitlines()[0][:70] if str(exc) else type(exc).__name__}"
                self.notes[f"{keys[0]}.error"] = traceback.format_exc(limit=3)[-1500:]
            else:
                console.print(f"[green]✓[/green] {title} ({time.time() - start:.1f}s)")
                return out
        console.print(f"[red]✗[/red] {title}: {note}")
        self.failed.append(f"{title}: {note}")
        for k in keys:
            self.notes[k] = note
        return None

    def check(self) -> None:
        """Raise BenchFailed naming every failed stage and every figure left null."""
        missing = [k for k, v in self.results.items() if v is None]
        if self.failed or missing:
            lines = [f"  stage {f}" for f in self.failed] + (
                [f"  no figure for: {', '.join(missing)}"] if missing else []
            )
            console.print("[red]p06 bench failed:[/red]\n" + "\n".join(lines))
            raise BenchFailed(1)

    def timeout(self) -> float:
        """A stage's time limit: its cap, or what is left of the run's budget (--quick stays short)."""
        return max(15.0, min(self.stage_s, self.deadline - time.time()))

    def set(self, key: str, value: float | None, digits: int = 3) -> None:
        self.results[key] = round(value, digits) if value is not None else None


def _repeat(n: int, fn: Callable[[int], float]) -> float | None:
    return report.median([fn(i) for i in range(n)])


def main(quick: bool, as_json: bool, events: int | None, seed: int, keep: bool) -> None:
    sizes = dict(QUICK if quick else FULL)
    if events:
        sizes["events"], sizes["publish"] = events, min(events, sizes["publish"])
    s = settings()
    run = Run(sizes["budget_s"], sizes["stage_s"])
    with cluster(s) as c:
        work = (s.data_dir / "bench" / c.run_tag).resolve()
        work.mkdir(parents=True, exist_ok=True)
        meta = _meta(c, sizes, seed, quick)
        try:
            _measure(run, c, work, sizes, seed, s.topic_partitions, meta)
        finally:
            if not keep:
                delete_topics(c)
                shutil.rmtree(work, ignore_errors=True)
            else:
                console.print(f"run folder kept: {work}")
    doc = {"meta": meta, "results": run.results, "notes": run.notes}
    path = report.write(doc)
    report.show(doc, console)
    console.print(f"wrote {path}")
    if as_json:
        print(json.dumps(doc, indent=2))
    run.check()


def _meta(c: Cluster, sizes: dict[str, int], seed: int, quick: bool) -> dict[str, Any]:
    return {
        "mode": "quick" if quick else "full",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": sizes["events"],
        "publish_lines": sizes["publish"],
        "latency_rate_eps": LATENCY_RATE,
        "latency_duration_s": sizes["latency_s"],
        "repeat": sizes["repeat"],
        "seed": seed,
        "bootstrap": c.bootstrap,
        "private_broker": c.private,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "command": "p06 bench" + (" --quick" if quick else ""),
    }


def _measure(
    run: Run, c: Cluster, work: Path, sizes: dict[str, int], seed: int, partitions: int, meta: dict[str, Any]
) -> None:
    s = settings()
    n, reps = sizes["events"], sizes["repeat"]
    with console.status(f"generating {n:,} events and recounting them"):
        evs, origin = source(n, seed)
        expected = recount(evs)
        values = encode(evs)
        single = [(e["locality"].encode(), v) for e, v in zip(evs, values)]
        packed = pack(evs)
    packed_events = sum(k for *_, k in packed)
    meta.update(
        source=origin,
        valid_distinct=expected.valid_distinct,
        invalid=expected.invalid,
        packed_messages=len(packed),
        packed_events=packed_events,
        mean_event_bytes=round(sum(map(len, values)) / n),
    )
    console.print(
        f"[green]✓[/green] {n:,} events from {origin}: {expected.valid_distinct:,} distinct valid, {len(packed):,} packed messages"
    )
    t = {
        name: c.topic(name)
        for name in (
            "single",
            "packed",
            "publish",
            "latency",
            "latency_alone",
            "history",
            "wh_empty",
            "wh_full",
            *[f"scratch{i}" for i in range(1, reps)],
        )
    }
    create_topics(c.settings, list(t.values()), partitions)

    # Baselines first, on an idle machine. Each compares the same work as the stage it is the
    # baseline of: the packed messages the publisher sends, validated as the worker validates them,
    # on the worker's Faust transport and settings, into the sink's own archive table.
    packed_msgs = [(k.encode(), v) for k, v, _ in packed]
    per_message = packed_events / len(packed)
    produce = lambda i: (
        per_message
        * kafka_raw.produce(c.settings, t["packed"] if i == 0 else t[f"scratch{i}"], packed_msgs, as_publisher=True)
    )  # noqa: E731
    run.set(
        "raw_produce_eps",
        run.stage(f"raw produce, packed as the publisher ×{reps}", ["raw_produce_eps"], lambda: _repeat(reps, produce)),
        1,
    )
    single_produce = lambda i: kafka_raw.produce(c.settings, t["single"] if i == 0 else t[f"scratch{i}"], single)  # noqa: E731
    run.set(
        "raw_produce_single_eps",
        run.stage(
            f"raw produce, 1 event/msg ×{reps}", ["raw_produce_single_eps"], lambda: _repeat(reps, single_produce)
        ),
        1,
    )
    consume = lambda i: kafka_raw.consume(c.settings, t["single"], n)  # noqa: E731
    run.set(
        "raw_consume_eps", run.stage(f"raw consume ×{reps}", ["raw_consume_eps"], lambda: _repeat(reps, consume)), 1
    )
    _security_cost(run, c, work, reps, partitions, packed_msgs, per_message, single, evs[: sizes["publish"]])
    judge = lambda i: validate.run([v for _, v in packed_msgs])  # noqa: E731
    run.set(
        "validate_eps",
        run.stage(f"validation alone, packed ×{reps}", ["validate_eps"], lambda: _repeat(reps, judge)),
        1,
    )
    archive = lambda i: clickhouse_raw.insert_archive(work / "chdb-archive", evs, s.sink_batch_rows)  # noqa: E731
    run.set(
        "raw_clickhouse_insert_rps",
        run.stage(
            f"raw chDB insert into the archive table ×{reps}",
            ["raw_clickhouse_insert_rps"],
            lambda: _repeat(reps, archive),
        ),
        1,
    )
    idle = run.stage(
        "chDB open and migrated, idle (RSS)",
        ["chdb_idle_rss_mb"],
        lambda: clickhouse_raw.idle_rss_mb(work / "chdb-idle"),
    )
    run.set("chdb_idle_rss_mb", idle, 1)
    insert = lambda i: clickhouse_raw.insert(work / "chdb-raw", evs)  # noqa: E731
    run.set(
        "raw_clickhouse_bare_rps",
        run.stage(
            f"raw chDB insert, bare 6 columns ×{reps}", ["raw_clickhouse_bare_rps"], lambda: _repeat(reps, insert)
        ),
        1,
    )
    for key, topic, count, packed_mode in (
        ("bare_faust_eps", t["single"], n, False),
        ("bare_faust_packed_eps", t["packed"], packed_events, True),
    ):
        bare = run.stage(
            f"bare Faust agent ({key})",
            [key],
            lambda: bare_faust.run(
                c.bootstrap, topic, count, partitions, work, f"bench-{c.run_tag}-{key}", packed=packed_mode
            ),
        )
        if bare:
            run.set(key, bare.drain_eps, 1)
            if not packed_mode:
                run.set("bare_faust_startup_s", bare.startup_s)

    _pipeline(run, c, work, sizes, evs, expected, t, partitions, n, packed_events)


def _security_cost(
    run: Run,
    c: Cluster,
    work: Path,
    reps: int,
    partitions: int,
    packed_msgs: list,
    per_message: float,
    single: list,
    lines: list[dict[str, Any]],
) -> None:
    """TLS + SCRAM against PLAINTEXT in the same run, on the same messages, on two fresh private brokers:
    one warm-up round on each, then rounds alternating which goes first; medians, secured ÷ plaintext."""
    with security_pair(c, work) as (secured, plain):
        pair = {"tls_sasl": secured, "plaintext": plain}
        for cl in pair.values():
            create_topics(cl.settings, [cl.topic(name) for name in ("packed", "single", "publish")], partitions)
        rates: dict[str, list[float]] = {
            f"{label}_{what}_eps": [] for what in ("produce", "produce_single", "consume") for label in pair
        }

        def measure() -> None:
            for label, cl in pair.items():  # warm-up: connections, the brokers' JIT, the single-event topic to consume
                kafka_raw.produce(cl.settings, cl.topic("packed"), packed_msgs, as_publisher=True)
                kafka_raw.produce(cl.settings, cl.topic("single"), single)
            for i in range(reps):
                for label, cl in pair.items() if i % 2 == 0 else reversed(pair.items()):
                    rates[f"{label}_produce_eps"].append(
                        per_message * kafka_raw.produce(cl.settings, cl.topic("packed"), packed_msgs, as_publisher=True)
                    )
                    rates[f"{label}_produce_single_eps"].append(
                        kafka_raw.produce(cl.settings, cl.topic("single"), single)
                    )
                    rates[f"{label}_consume_eps"].append(
                        kafka_raw.consume(cl.settings, cl.topic("single"), len(single))
                    )

        run.stage(f"TLS + SCRAM against PLAINTEXT, raw produce and consume ×{reps}", list(rates), measure)
        for key, values in rates.items():
            run.set(key, report.median(values) if values else None, 1)
        for what in ("produce", "produce_single", "consume"):
            secured_eps, plain_eps = run.results[f"tls_sasl_{what}_eps"], run.results[f"plaintext_{what}_eps"]
            run.set(f"tls_sasl_{what}_ratio", secured_eps / plain_eps if secured_eps and plain_eps else None)
        pub = {
            label: run.stage(
                f"p06 publish on {cl.protocol} ({len(lines):,} lines)",
                ["tls_sasl_publish_ratio"],
                lambda cl=cl: publish.run(
                    StageEnv(
                        cl.bootstrap,
                        cl.topic("publish"),
                        f"bench-{c.run_tag}-cost-{cl.protocol.lower()}",
                        work / f"cost-{cl.protocol.lower()}",
                        partitions,
                        kafka_env=client_env(cl.settings),
                    ),
                    publish.write_file(work / "cost-publish.jsonl", lines),
                    len(lines),
                    timeout_s=run.timeout(),
                ),
            )
            for label, cl in pair.items()
        }
        if pub.get("tls_sasl") and pub.get("plaintext"):
            run.set("tls_sasl_publish_ratio", pub["tls_sasl"].eps / pub["plaintext"].eps)
            run.notes["tls_sasl_publish_ratio"] = f"{pub['tls_sasl'].eps:,.0f} against {pub['plaintext'].eps:,.0f} ev/s"


def _pipeline(
    run: Run,
    c: Cluster,
    work: Path,
    sizes: dict[str, int],
    evs: list[dict[str, Any]],
    expected: Any,
    t: dict[str, str],
    partitions: int,
    n: int,
    packed_events: int,
) -> None:
    def stage(topic: str, app: str) -> StageEnv:
        return StageEnv(c.bootstrap, topic, f"bench-{c.run_tag}-{app}", work / app, partitions)

    lines = evs[: sizes["publish"]]
    pub = run.stage(
        f"p06 publish ({len(lines):,} lines)",
        ["publish_eps"],
        lambda: publish.run(
            stage(t["publish"], "publish"),
            publish.write_file(work / "publish.jsonl", lines),
            len(lines),
            timeout_s=run.timeout(),
        ),
    )
    if pub:
        run.set("publish_eps", pub.eps, 1)
        run.notes["publish_eps"] = f"wall {pub.wall_eps:,.0f} ev/s incl. {pub.startup_s:.1f}s CLI start"

    rss: list[float] = []
    one = run.stage(
        "worker drain, 1 event/msg",
        ["worker_single_drain_eps"],
        lambda: worker.run(stage(t["single"], "w1s"), expected, n, timeout_s=run.timeout()),
    )
    packed1 = run.stage(
        "worker drain, packed",
        ["worker_drain_eps", "worker_rss_mb"],
        lambda: worker.run(stage(t["packed"], "w1p"), expected, packed_events, timeout_s=run.timeout()),
    )
    packed2 = run.stage(
        "2 workers drain, packed",
        ["worker2_drain_eps"],
        lambda: worker.run(stage(t["packed"], "w2p"), expected, packed_events, workers=2, timeout_s=run.timeout()),
    )
    for key, r in (("worker_single_drain_eps", one), ("worker_drain_eps", packed1), ("worker2_drain_eps", packed2)):
        if r:
            run.set(key, r.drain_eps, 1)
            rss.append(r.rss_mb)
            bound = " (lower bound: exact at the first figure seen)" if r.exact_s - r.startup_s <= worker.POLL_S else ""
            run.notes[key] = f"startup {r.startup_s:.1f}s, exact at {r.exact_s:.1f}s{bound}" + (
                "" if r.provinces_exact else "; provinces NOT exact"
            )
    if packed1:
        run.set("worker_startup_s", packed1.startup_s)
    run.set("worker_rss_mb", max(rss) if rss else None, 1)

    sk = run.stage(
        "sink drain into chDB, packed",
        ["sink_drain_eps", "sink_rss_mb"],
        lambda: sink.run(stage(t["packed"], "sink"), expected.valid_distinct, packed_events, timeout_s=run.timeout()),
    )
    if sk:
        run.set("sink_drain_eps", sk.drain_eps, 1)
        run.set("sink_rss_mb", sk.rss_mb, 1)
        bound = " (lower bound: all rows at the first poll)" if sk.exact_s - sk.startup_s <= sink.POLL_S else ""
        run.notes["sink_drain_eps"] = f"startup {sk.startup_s:.1f}s, exact at {sk.exact_s:.1f}s{bound}"

    lat_events, _ = source(LATENCY_RATE * (sizes["latency_s"] + latency.WARMUP_S), 1000 + len(evs) % 997)
    # The worker alone first, so that nothing the other stages leave behind (a sink closing chDB) shares its CPU.
    alone = run.stage(
        f"latency at {LATENCY_RATE:,} ev/s, worker alone",
        ["p50_live_worker_alone_s", "p99_live_worker_alone_s"],
        lambda: latency.run(
            stage(t["latency_alone"], "lat1"), lat_events, LATENCY_RATE, ready_s=min(60.0, run.timeout()), sink=False
        ),
    )
    if alone:
        run.set("p50_live_worker_alone_s", report.percentile(alone[0].live_s, 0.5))
        run.set("p99_live_worker_alone_s", report.percentile(alone[0].live_s, 0.99))
        if alone[0].notes:
            run.notes["p99_live_worker_alone_s"] = "; ".join(alone[0].notes)
    lat = run.stage(
        f"latency at {LATENCY_RATE:,} ev/s for {sizes['latency_s']}s, worker and sink",
        ["p50_live_s", "p99_live_s", "p50_clickhouse_s", "p99_clickhouse_s"],
        lambda: latency.run(stage(t["latency"], "lat"), lat_events, LATENCY_RATE, ready_s=min(60.0, run.timeout())),
    )
    if lat:
        got, procs = lat
        run.set("p50_live_s", report.percentile(got.live_s, 0.5))
        run.set("p99_live_s", report.percentile(got.live_s, 0.99))
        run.set("p50_clickhouse_s", report.percentile(got.clickhouse_s, 0.5))
        run.set("p99_clickhouse_s", report.percentile(got.clickhouse_s, 0.99))
        run.notes["latency"] = (
            f"achieved {got.rate_eps:,.0f} ev/s; " + "; ".join(got.notes)
            if got.notes
            else f"achieved {got.rate_eps:,.0f} ev/s"
        )
        for key in ("p50_live_s", "p99_live_s", "p50_clickhouse_s", "p99_clickhouse_s"):
            if run.results[key] is None:
                run.notes.setdefault(key, "not measured: see latency note")

    wards = sizes["year_wards"]
    keys = [
        "sink_batch_empty_s",
        "sink_batch_full_s",
        "sink_batch_cost_ratio",
        "p99_clickhouse_full_archive_s",
        "reconcile_full_archive_s",
    ]
    wh = run.stage(
        f"sink at {LATENCY_RATE:,} ev/s on an empty archive and on a year of {'all' if wards is None else f'{wards:,}'} wards' daily reports",
        keys,
        lambda: warehouse.run(
            stage(t["wh_empty"], "whe"),
            stage(t["wh_full"], "whf"),
            lat_events,
            LATENCY_RATE,
            wards,
            ready_s=min(180.0, run.timeout()),
        ),
    )
    if wh:
        run.set("sink_batch_empty_s", wh.empty.batch_s)
        run.set("sink_batch_full_s", wh.full.batch_s)
        run.set("sink_batch_cost_ratio", wh.cost_ratio)
        run.set("p99_clickhouse_full_archive_s", report.percentile(wh.full.clickhouse_s, 0.99))
        run.set("reconcile_full_archive_s", wh.reconcile_s, 1)
        run.set("sink_rss_mb", max(run.results["sink_rss_mb"] or 0, wh.empty.rss_mb, wh.full.rss_mb), 1)
        run.notes["sink_batch_cost_ratio"] = (
            f"{wh.empty.events_per_batch:,.0f} / {wh.full.events_per_batch:,.0f} events per batch; "
            f"year: {wh.year.events:,} events of {wh.year.wards:,} wards, loaded in {wh.year.load_s:.0f}s, migrations 0005-0007 {wh.year.migrate_s:.0f}s"
        )
        run.notes["p99_clickhouse_full_archive_s"] = (
            f"p99 on the empty archive {report.percentile(wh.empty.clickhouse_s, 0.99):.2f}s; "
            + "; ".join(wh.full.notes)
        )
        run.notes["sink_rss_mb"] = (
            f"drain {sk.rss_mb if sk else '—'} MB, steady on empty {wh.empty.rss_mb} MB, on the year {wh.full.rss_mb} MB"
        )

    years = history.year(
        seed=7,
        provinces=sizes["history_provinces"],
        wards_per_province=sizes["history_wards"],
        hourly_wards=sizes["history_hourly_wards"],
    )
    keys = ["history_cost_ratio", "state_record_max_kb", "history_worker_rss_mb"]
    h = run.stage(
        f"a year of state ({len(years):,} events), first month vs last",
        keys,
        lambda: history.run(stage(t["history"], "hist"), years, timeout_s=max(60.0, run.timeout())),
    )
    if h:
        run.set("history_cost_ratio", h.cost_ratio)
        run.set("state_record_max_kb", h.record_max_kb, 1)
        run.set("history_worker_rss_mb", h.rss_mb, 1)
        run.notes["history_cost_ratio"] = (
            f"{h.first_month_us:.0f} → {h.last_month_us:.0f} µs/event; {h.localities} localities "
            f"reporting daily or hourly over 365 days, {h.events:,} events"
        )
