"""The benchmark run: baselines first, then each pipeline stage, into one results document."""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from schemas.settings import settings
from stack import create_topics

from . import scoreboard
from .baselines import clickhouse_raw, faust_counter, kafka_raw, validation
from .cluster import Cluster, client_env, cluster, delete_topics, security_pair, three_nodes
from .data.event_source import encode, pack, source
from .data.expected import Expected, recount
from .stages import cluster as cluster_stage
from .stages import full_archive, latency, publish_cli, sink_drain, state_history, worker_drain
from .stages.env import StageEnv, StageMissing

T = TypeVar("T")
console = Console(
    stderr=True, width=None if Console(stderr=True).is_terminal else 150
)  # the table and progress go to stderr, so --json stdout stays clean

QUICK: dict[str, Any] = {
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
FULL: dict[str, Any] = {
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
    "cluster_drain": 100_000,  # the cluster stage's drains: its wall time stays a few minutes on two busy cores
}
LATENCY_RATE = 5_000


class BenchFailed(SystemExit):
    """Raised after the results are written: a stage failed, or a figure came back null."""


class Run:
    """Collects figures and notes; a stage that fails or is missing leaves its figures null, and the
    run then ends non-zero naming it (after the other stages ran and the results were written)."""

    def __init__(
        self, budget_s: float, stage_s: float, partial: bool = False, skipped: dict[str, str] | None = None
    ) -> None:
        self.deadline, self.stage_s = time.time() + budget_s, stage_s
        self.results: dict[str, Any] = {f.key: None for f in scoreboard.FIGURES}
        self.skipped = skipped or {}  # keys this kind of run does not measure, and why (--quick: the cluster)
        self.notes: dict[str, str] = dict(self.skipped)
        self.failed: list[str] = []  # "stage title: why"
        self.partial = partial  # --only: the figures of the steps that ran are required, not every figure
        self.measured: set[str] = set()  # keys a step set or tried to

    def stage(self, title: str, keys: list[str], fn: Callable[[], T]) -> T | None:
        self.measured.update(keys)
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
        missing = [
            k
            for k, v in self.results.items()
            if v is None and (not self.partial or k in self.measured) and k not in self.skipped
        ]
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
        self.measured.add(key)
        self.results[key] = round(value, digits) if value is not None else None


def _repeat(n: int, fn: Callable[[int], float]) -> float | None:
    return scoreboard.median([fn(i) for i in range(n)])


def main(quick: bool, as_json: bool, events: int | None, seed: int, keep: bool, only: list[str] | None = None) -> None:
    sizes = dict(QUICK if quick else FULL)
    if events:
        sizes["events"], sizes["publish"] = events, min(events, sizes["publish"])
        sizes["cluster_drain"] = min(events, sizes.get("cluster_drain", events))
    s = settings()
    skipped = dict.fromkeys(CLUSTER_KEYS + CLUSTER_RATIOS, NOT_QUICK) if quick and not only else {}
    run = Run(sizes["budget_s"], sizes["stage_s"], partial=bool(only), skipped=skipped)
    with cluster(s) as c:
        work = (s.data_dir / "bench" / c.run_tag).resolve()
        work.mkdir(parents=True, exist_ok=True)
        meta = _meta(c, sizes, seed, quick)
        if only:
            meta |= {"only": only, "command": f"{meta['command']} --only {','.join(only)}"}
        try:
            _measure(run, c, work, sizes, seed, s.topic_partitions, meta, steps(only, quick))
        finally:
            if not keep:
                delete_topics(c)
                shutil.rmtree(work, ignore_errors=True)
            else:
                console.print(f"run folder kept: {work}")
    scoreboard.derive(run.results)
    doc = {"meta": meta, "results": run.results, "targets": scoreboard.targets(run.results), "notes": run.notes}
    path = scoreboard.write(doc)
    scoreboard.show(doc, console)
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


@dataclass
class Work:
    """One run's inputs, shared by its stages: the events, their recount and packing, the topics."""

    c: Cluster
    folder: Path
    sizes: dict[str, Any]
    partitions: int
    events: list[dict[str, Any]]
    expected: Expected
    single: list[tuple[bytes, bytes]]  # one event per message, keyed by locality
    packed_msgs: list[tuple[bytes, bytes]]  # as the publisher packs them
    packed_events: int
    topics: dict[str, str]
    sink_run: sink_drain.SinkRun | None = None  # the sink drain's figures, which the warehouse stage notes

    @cached_property
    def lat_events(self) -> list[dict[str, Any]]:  # the latency and warehouse stages' steady 5,000 ev/s
        return source(LATENCY_RATE * (self.sizes["latency_s"] + latency.WARMUP_S), 1000 + len(self.events) % 997)[0]

    @property
    def n(self) -> int:  # events asked for (the simulator makes exactly that many)
        return self.sizes["events"]

    @property
    def reps(self) -> int:
        return self.sizes["repeat"]

    @property
    def per_message(self) -> float:
        return self.packed_events / len(self.packed_msgs)

    def stage(self, topic: str, app: str, on: Cluster | None = None) -> StageEnv:
        """A stage's configuration on the run's broker, or on another cluster (`on`: the cluster stage's)."""
        c = on or self.c
        env = client_env(c.settings) if on else {}  # the run's own: exported by cluster()
        return StageEnv(
            c.bootstrap, c.topic(topic), f"bench-{c.run_tag}-{app}", self.folder / app, self.partitions, kafka_env=env
        )


# What `--only STAGE` runs: the stage and the steps its ratios and topics need (raw produce fills the
# single and packed topics the bare Faust agent, the worker and the sink drain).
ONLY: dict[str, tuple[str, ...]] = {
    "publish": ("raw_produce", "validate", "publish"),
    "worker": ("raw_produce", "validate", "bare_faust", "worker"),
    "sink": ("raw_produce", "clickhouse", "sink"),
    "latency": ("latency",),
    "warehouse": ("warehouse",),
    "history": ("history",),
    "security": ("security",),
    "cluster": ("cluster",),
}
NOT_QUICK = "not in --quick: the cluster stage starts three brokers (p06 bench --only cluster)"

TOPICS = ("single", "packed", "publish", "latency", "latency_alone", "history", "wh_empty", "wh_full")


def _prepare(c: Cluster, folder: Path, sizes: dict[str, Any], seed: int, partitions: int, meta: dict[str, Any]) -> Work:
    """The run's events, recounted and packed, and its topics; what they are goes into meta."""
    n = sizes["events"]
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
        f"[green]✓[/green] {n:,} events from {origin}: {expected.valid_distinct:,} distinct valid, "
        f"{len(packed):,} packed messages"
    )
    names = (*TOPICS, *[f"scratch{i}" for i in range(1, sizes["repeat"])])
    topics = {name: c.topic(name) for name in names}
    create_topics(c.settings, list(topics.values()), partitions)
    packed_msgs = [(k.encode(), v) for k, v, _ in packed]
    return Work(c, folder, sizes, partitions, evs, expected, single, packed_msgs, packed_events, topics)


def _measure(
    run: Run,
    c: Cluster,
    folder: Path,
    sizes: dict[str, Any],
    seed: int,
    partitions: int,
    meta: dict[str, Any],
    chosen: list[Callable[[Run, Work], None]],
) -> None:
    w = _prepare(c, folder, sizes, seed, partitions, meta)
    for step in chosen:
        step(run, w)


def steps(only: list[str] | None, quick: bool = False) -> list[Callable[[Run, Work], None]]:
    """The steps of a run, in order: all of them (but the cluster's in --quick), or those of the stages
    named (with their baselines)."""
    wanted = (
        {name for stage in only for name in ONLY[stage]} if only else set(STEPS) - ({"cluster"} if quick else set())
    )
    return [fn for name, fn in STEPS.items() if name in wanted]


def _repeated(run: Run, w: Work, key: str, title: str, fn: Callable[[int], float]) -> None:
    """A baseline measured w.reps times: its median, as `key`."""
    run.set(key, run.stage(f"{title} ×{w.reps}", [key], lambda: _repeat(w.reps, fn)), 1)


def _scratch(w: Work, i: int, first: str) -> str:  # each repeat on a topic of its own
    return w.topics[first] if i == 0 else w.topics[f"scratch{i}"]


def _raw_produce(run: Run, w: Work) -> None:
    scratch = partial(_scratch, w)

    _repeated(
        run,
        w,
        "raw_produce_eps",
        "raw produce, packed as the publisher",
        lambda i: (
            w.per_message * kafka_raw.produce(w.c.settings, scratch(i, "packed"), w.packed_msgs, as_publisher=True)
        ),
    )
    _repeated(
        run,
        w,
        "raw_produce_single_eps",
        "raw produce, 1 event/msg",
        lambda i: kafka_raw.produce(w.c.settings, scratch(i, "single"), w.single),
    )


def _raw_consume(run: Run, w: Work) -> None:
    _repeated(
        run, w, "raw_consume_eps", "raw consume", lambda i: kafka_raw.consume(w.c.settings, w.topics["single"], w.n)
    )


def _validate_baseline(run: Run, w: Work) -> None:
    """Validation alone: no broker involved."""
    values = [v for _, v in w.packed_msgs]
    _repeated(run, w, "validate_eps", "validation alone, packed", lambda i: validation.run(values))


def _clickhouse_baselines(run: Run, w: Work) -> None:
    """Raw chDB inserts and chDB's own idle RSS: no broker involved."""
    rows = settings().sink_batch_rows
    _repeated(
        run,
        w,
        "raw_clickhouse_insert_rps",
        "raw chDB insert into the archive table",
        lambda i: clickhouse_raw.insert_archive(w.folder / "chdb-archive", w.events, rows),
    )
    idle = run.stage(
        "chDB open and migrated, idle (RSS)",
        ["chdb_idle_rss_mb"],
        lambda: clickhouse_raw.idle_rss_mb(w.folder / "chdb-idle"),
    )
    run.set("chdb_idle_rss_mb", idle, 1)
    _repeated(
        run,
        w,
        "raw_clickhouse_bare_rps",
        "raw chDB insert, bare 6 columns",
        lambda i: clickhouse_raw.insert(w.folder / "chdb-raw", w.events),
    )


def _faust_baselines(run: Run, w: Work) -> None:
    def count(key: str, topic: str, expected: int, packed: bool) -> faust_counter.FaustRun:
        app_id = f"bench-{w.c.run_tag}-{key}"
        return faust_counter.run(w.c.bootstrap, topic, expected, w.partitions, w.folder, app_id, packed=packed)

    for key, topic, expected, packed in (
        ("bare_faust_eps", w.topics["single"], w.n, False),
        ("bare_faust_packed_eps", w.topics["packed"], w.packed_events, True),
    ):
        bare = run.stage(f"bare Faust agent ({key})", [key], partial(count, key, topic, expected, packed))
        if bare:
            run.set(key, bare.drain_eps, 1)
            if not packed:
                run.set("bare_faust_startup_s", bare.startup_s)


SECURITY_WHATS = ("produce", "produce_single", "consume")


def _security_cost(run: Run, w: Work) -> None:
    """TLS + SCRAM against PLAINTEXT in the same run, on the same messages, on two fresh private brokers:
    one warm-up round on each, then rounds alternating which goes first; medians, secured ÷ plaintext."""
    with security_pair(w.c, w.folder) as (secured, plain):
        pair = {"tls_sasl": secured, "plaintext": plain}
        for cl in pair.values():
            create_topics(cl.settings, [cl.topic(name) for name in ("packed", "single", "publish")], w.partitions)
        rates: dict[str, list[float]] = {f"{label}_{what}_eps": [] for what in SECURITY_WHATS for label in pair}
        run.stage(
            f"TLS + SCRAM against PLAINTEXT, raw produce and consume ×{w.reps}",
            list(rates),
            lambda: _security_rounds(w, pair, rates),
        )
        for key, values in rates.items():
            run.set(key, scoreboard.median(values) if values else None, 1)
        for what in SECURITY_WHATS:
            secured_eps, plain_eps = run.results[f"tls_sasl_{what}_eps"], run.results[f"plaintext_{what}_eps"]
            run.set(f"tls_sasl_{what}_ratio", secured_eps / plain_eps if secured_eps and plain_eps else None)
        _security_publish(run, w, pair)


def _security_rounds(w: Work, pair: dict[str, Cluster], rates: dict[str, list[float]]) -> None:
    for cl in pair.values():  # warm-up: connections, the brokers' JIT, the single-event topic to consume
        kafka_raw.produce(cl.settings, cl.topic("packed"), w.packed_msgs, as_publisher=True)
        kafka_raw.produce(cl.settings, cl.topic("single"), w.single)
    for i in range(w.reps):
        for label, cl in pair.items() if i % 2 == 0 else reversed(pair.items()):
            rates[f"{label}_produce_eps"].append(
                w.per_message * kafka_raw.produce(cl.settings, cl.topic("packed"), w.packed_msgs, as_publisher=True)
            )
            rates[f"{label}_produce_single_eps"].append(kafka_raw.produce(cl.settings, cl.topic("single"), w.single))
            rates[f"{label}_consume_eps"].append(kafka_raw.consume(cl.settings, cl.topic("single"), len(w.single)))


def _security_publish(run: Run, w: Work, pair: dict[str, Cluster]) -> None:
    lines = w.events[: w.sizes["publish"]]

    def publish(cl: Cluster) -> publish_cli.PublishRun:
        name = cl.protocol.lower()
        env = StageEnv(
            cl.bootstrap,
            cl.topic("publish"),
            f"bench-{w.c.run_tag}-cost-{name}",
            w.folder / f"cost-{name}",
            w.partitions,
            kafka_env=client_env(cl.settings),
        )
        path = publish_cli.write_file(w.folder / "cost-publish.jsonl", lines)
        return publish_cli.run(env, path, len(lines), timeout_s=run.timeout())

    pub = {
        label: run.stage(
            f"p06 publish on {cl.protocol} ({len(lines):,} lines)",
            ["tls_sasl_publish_ratio"],
            partial(publish, cl),
        )
        for label, cl in pair.items()
    }
    if (secured := pub.get("tls_sasl")) and (plain := pub.get("plaintext")):
        run.set("tls_sasl_publish_ratio", secured.eps / plain.eps)
        run.notes["tls_sasl_publish_ratio"] = f"{secured.eps:,.0f} against {plain.eps:,.0f} ev/s"


def _publish_stage(run: Run, w: Work) -> None:
    lines = w.events[: w.sizes["publish"]]
    pub = run.stage(
        f"p06 publish ({len(lines):,} lines)",
        ["publish_eps"],
        lambda: publish_cli.run(
            w.stage("publish", "publish"),
            publish_cli.write_file(w.folder / "publish.jsonl", lines),
            len(lines),
            timeout_s=run.timeout(),
        ),
    )
    if pub:
        run.set("publish_eps", pub.eps, 1)
        run.notes["publish_eps"] = f"wall {pub.wall_eps:,.0f} ev/s incl. {pub.startup_s:.1f}s CLI start"


def _worker_stages(run: Run, w: Work) -> None:
    """The worker (one event a message, packed, two workers packed), each draining a full topic."""
    drains = {
        "worker_single_drain_eps": run.stage(
            "worker drain, 1 event/msg",
            ["worker_single_drain_eps"],
            lambda: worker_drain.run(w.stage("single", "w1s"), w.expected, w.n, timeout_s=run.timeout()),
        ),
        "worker_drain_eps": run.stage(
            "worker drain, packed",
            ["worker_drain_eps", "worker_rss_mb"],
            lambda: worker_drain.run(w.stage("packed", "w1p"), w.expected, w.packed_events, timeout_s=run.timeout()),
        ),
        "worker2_drain_eps": run.stage(
            "2 workers drain, packed",
            ["worker2_drain_eps"],
            lambda: worker_drain.run(
                w.stage("packed", "w2p"), w.expected, w.packed_events, workers=2, timeout_s=run.timeout()
            ),
        ),
    }
    _worker_figures(run, drains)


def _sink_stage(run: Run, w: Work) -> None:
    """The sink draining the packed topic into chDB."""
    sk = run.stage(
        "sink drain into chDB, packed",
        ["sink_drain_eps", "sink_rss_mb"],
        lambda: sink_drain.run(
            w.stage("packed", "sink"), w.expected.valid_distinct, w.packed_events, timeout_s=run.timeout()
        ),
    )
    if sk:
        run.set("sink_drain_eps", sk.drain_eps, 1)
        run.set("sink_rss_mb", sk.rss_mb, 1)
        bound = " (lower bound: all rows at the first poll)" if sk.exact_s - sk.startup_s <= sink_drain.POLL_S else ""
        run.notes["sink_drain_eps"] = f"startup {sk.startup_s:.1f}s, exact at {sk.exact_s:.1f}s{bound}"
    w.sink_run = sk


def _worker_figures(run: Run, drains: dict[str, worker_drain.DrainRun | None]) -> None:
    rss: list[float] = []
    for key, r in drains.items():
        if r:
            run.set(key, r.drain_eps, 1)
            rss.append(r.rss_mb)
            exact_at_first = r.exact_s - r.startup_s <= worker_drain.POLL_S
            bound = " (lower bound: exact at the first figure seen)" if exact_at_first else ""
            run.notes[key] = f"startup {r.startup_s:.1f}s, exact at {r.exact_s:.1f}s{bound}" + (
                "" if r.provinces_exact else "; provinces NOT exact"
            )
    if drains["worker_drain_eps"]:
        run.set("worker_startup_s", drains["worker_drain_eps"].startup_s)
    run.set("worker_rss_mb", max(rss) if rss else None, 1)


LATENCY_KEYS = ("p50_live_s", "p99_live_s", "p50_clickhouse_s", "p99_clickhouse_s")


def _latency_stages(run: Run, w: Work) -> None:
    # The worker alone first, so that nothing the other stages leave behind (a sink closing chDB) shares its CPU.
    alone = run.stage(
        f"latency at {LATENCY_RATE:,} ev/s, worker alone",
        ["p50_live_worker_alone_s", "p99_live_worker_alone_s"],
        lambda: latency.run(
            w.stage("latency_alone", "lat1"), w.lat_events, LATENCY_RATE, ready_s=min(60.0, run.timeout()), sink=False
        ),
    )
    if alone:
        run.set("p50_live_worker_alone_s", scoreboard.percentile(alone[0].live_s, 0.5))
        run.set("p99_live_worker_alone_s", scoreboard.percentile(alone[0].live_s, 0.99))
        if alone[0].notes:
            run.notes["p99_live_worker_alone_s"] = "; ".join(alone[0].notes)
    lat = run.stage(
        f"latency at {LATENCY_RATE:,} ev/s for {w.sizes['latency_s']}s, worker and sink",
        list(LATENCY_KEYS),
        lambda: latency.run(w.stage("latency", "lat"), w.lat_events, LATENCY_RATE, ready_s=min(60.0, run.timeout())),
    )
    if lat:
        got, _procs = lat
        run.set("p50_live_s", scoreboard.percentile(got.live_s, 0.5))
        run.set("p99_live_s", scoreboard.percentile(got.live_s, 0.99))
        run.set("p50_clickhouse_s", scoreboard.percentile(got.clickhouse_s, 0.5))
        run.set("p99_clickhouse_s", scoreboard.percentile(got.clickhouse_s, 0.99))
        achieved = f"achieved {got.rate_eps:,.0f} ev/s"
        run.notes["latency"] = f"{achieved}; " + "; ".join(got.notes) if got.notes else achieved
        for key in LATENCY_KEYS:
            if run.results[key] is None:
                run.notes.setdefault(key, "not measured: see latency note")


WAREHOUSE_KEYS = [
    "sink_batch_empty_s",
    "sink_batch_full_s",
    "sink_batch_cost_ratio",
    "p99_clickhouse_full_archive_s",
    "reconcile_full_archive_s",
]


def _warehouse_stage(run: Run, w: Work) -> None:
    wards = w.sizes["year_wards"]
    sample = "all" if wards is None else f"{wards:,}"
    wh = run.stage(
        f"sink at {LATENCY_RATE:,} ev/s on an empty archive and on a year of {sample} wards' daily reports",
        WAREHOUSE_KEYS,
        lambda: full_archive.run(
            w.stage("wh_empty", "whe"),
            w.stage("wh_full", "whf"),
            w.lat_events,
            LATENCY_RATE,
            wards,
            ready_s=min(180.0, run.timeout()),
        ),
    )
    if not wh:
        return
    run.set("sink_batch_empty_s", wh.empty.batch_s)
    run.set("sink_batch_full_s", wh.full.batch_s)
    run.set("sink_batch_cost_ratio", wh.cost_ratio)
    run.set("p99_clickhouse_full_archive_s", scoreboard.percentile(wh.full.clickhouse_s, 0.99))
    run.set("reconcile_full_archive_s", wh.reconcile_s, 1)
    run.set("sink_rss_mb", max(run.results["sink_rss_mb"] or 0, wh.empty.rss_mb, wh.full.rss_mb), 1)
    run.notes["sink_batch_cost_ratio"] = (
        f"{wh.empty.events_per_batch:,.0f} / {wh.full.events_per_batch:,.0f} events per batch; "
        f"year: {wh.year.events:,} events of {wh.year.wards:,} wards, loaded in {wh.year.load_s:.0f}s, "
        f"migrations 0005-0007 {wh.year.migrate_s:.0f}s"
    )
    run.notes["p99_clickhouse_full_archive_s"] = (
        f"p99 on the empty archive {scoreboard.percentile(wh.empty.clickhouse_s, 0.99):.2f}s; "
        + "; ".join(wh.full.notes)
    )
    run.notes["sink_rss_mb"] = (
        f"drain {w.sink_run.rss_mb if w.sink_run else '—'} MB, "
        f"steady on empty {wh.empty.rss_mb} MB, on the year {wh.full.rss_mb} MB"
    )


def _history_stage(run: Run, w: Work) -> None:
    years = state_history.year(
        seed=7,
        provinces=w.sizes["history_provinces"],
        wards_per_province=w.sizes["history_wards"],
        hourly_wards=w.sizes["history_hourly_wards"],
    )
    h = run.stage(
        f"a year of state ({len(years):,} events), first month vs last",
        ["history_cost_ratio", "state_record_max_kb", "history_worker_rss_mb"],
        lambda: state_history.run(w.stage("history", "hist"), years, timeout_s=max(60.0, run.timeout())),
    )
    if h:
        run.set("history_cost_ratio", h.cost_ratio)
        run.set("state_record_max_kb", h.record_max_kb, 1)
        run.set("history_worker_rss_mb", h.rss_mb, 1)
        run.notes["history_cost_ratio"] = (
            f"{h.first_month_us:.0f} → {h.last_month_us:.0f} µs/event; {h.localities} localities "
            f"reporting daily or hourly over 365 days, {h.events:,} events"
        )


PAIR_KEYS = ["one_broker_publish_eps", "cluster_publish_eps", "one_broker_worker_drain_eps", "cluster_worker_drain_eps"]
LOSS_KEYS = ["broker_loss_stall_s", "broker_loss_p99_live_s", "broker_loss_figures_off"]
CLUSTER_KEYS = PAIR_KEYS + LOSS_KEYS
CLUSTER_RATIOS = ["cluster_publish_ratio", "cluster_worker_drain_ratio"]


def _cluster_stage(run: Run, w: Work) -> None:
    """Issue 26 measured: the publish and the packed worker drain on three brokers (replication factor 3,
    min.insync.replicas 2, acks=all) beside the run's one broker, back to back on the same messages; then
    a steady stream while the broker leading most of its partitions is SIGKILLed."""
    with ExitStack() as stack:
        three = run.stage(
            "three-node cluster up (stack.cluster, replication factor 3, min.insync.replicas 2)",
            CLUSTER_KEYS,
            lambda: stack.enter_context(three_nodes(w.c, w.folder)),
        )
        if three is None:
            return
        for cl in (w.c, three):
            create_topics(cl.settings, [cl.topic(n) for n in ("cluster_packed", "cluster_publish")], w.partitions)
        create_topics(three.settings, [three.topic("cluster_loss")], w.partitions)
        _cluster_publish(run, w, three)
        _cluster_drain(run, w, three)
        _broker_loss(run, w, three)


def _cluster_publish(run: Run, w: Work, three: Cluster) -> None:
    lines = w.events[: w.sizes["publish"]]
    path = publish_cli.write_file(w.folder / "cluster-publish.jsonl", lines)
    pub = run.stage(
        f"p06 publish ({len(lines):,} lines), one broker then three",
        PAIR_KEYS[:2],
        lambda: [
            publish_cli.run(w.stage("cluster_publish", app, cl), path, len(lines), timeout_s=run.timeout())
            for cl, app in ((w.c, "c1-publish"), (three, "c3-publish"))
        ],
    )
    if pub:
        run.set("one_broker_publish_eps", pub[0].eps, 1)
        run.set("cluster_publish_eps", pub[1].eps, 1)
        run.notes["cluster_publish_eps"] = f"wall {pub[1].wall_s:.1f} s against {pub[0].wall_s:.1f} s on one broker"


def _cluster_drain(run: Run, w: Work, three: Cluster) -> None:
    events = w.events[: w.sizes["cluster_drain"]]  # the run's first events, packed as the publisher packs them
    expected, msgs = recount(events), [(k.encode(), v) for k, v, _ in pack(events)]

    def fill_and_drain(cl: Cluster, app: str) -> tuple[float, worker_drain.DrainRun]:
        produced = kafka_raw.produce(cl.settings, cl.topic("cluster_packed"), msgs, as_publisher=True)
        env = w.stage("cluster_packed", app, cl)
        rate = len(events) / len(msgs) * produced
        return rate, worker_drain.run(env, expected, len(events), timeout_s=run.timeout())

    drains = run.stage(
        f"worker drain, packed ({len(events):,} events), one broker then three",
        PAIR_KEYS[2:],
        lambda: [fill_and_drain(w.c, "c1-worker"), fill_and_drain(three, "c3-worker")],
    )
    if drains:
        (raw1, one), (raw3, on3) = drains
        run.set("one_broker_worker_drain_eps", one.drain_eps, 1)
        run.set("cluster_worker_drain_eps", on3.drain_eps, 1)
        run.notes["cluster_worker_drain_eps"] = (
            f"startup {on3.startup_s:.1f} s against {one.startup_s:.1f} s; raw produce of its messages "
            f"{raw3:,.0f} against {raw1:,.0f} ev/s" + ("" if on3.provinces_exact else "; provinces NOT exact")
        )


def _broker_loss(run: Run, w: Work, three: Cluster) -> None:
    events = source(cluster_stage.RATE * (cluster_stage.STREAM_S + latency.WARMUP_S), 2000 + w.n % 997)[0]
    assert three.folder is not None  # three_nodes() started it
    folder = three.folder
    loss = run.stage(
        f"{cluster_stage.RATE:,} ev/s, the leader of most partitions SIGKILLed for {cluster_stage.DOWN_S} s",
        LOSS_KEYS,
        lambda: cluster_stage.broker_loss(w.stage("cluster_loss", "c3-loss", three), folder, events),
    )
    if loss:
        run.set("broker_loss_stall_s", loss.stall_s)
        run.set("broker_loss_p99_live_s", scoreboard.percentile(loss.live_s, 0.99))
        run.set("broker_loss_figures_off", loss.figures_off, 0)
        due_p99 = scoreboard.percentile(loss.due_s, 0.99) or 0.0
        run.notes["broker_loss_stall_s"] = "; ".join(loss.notes)
        run.notes["broker_loss_p99_live_s"] = (
            f"achieved {loss.rate_eps:,.0f} ev/s; p99 from each tick's due time {due_p99:.2f} s; "
            f"longest gap before the kill {loss.calm_gap_s:.2f} s"
        )
        for line in loss.notes:
            console.print(f"  {line}")


# Each step of a full run, in its order: baselines first, on an idle machine; each compares the same
# work as the stage it is the baseline of (the packed messages the publisher sends, validated as the
# worker validates them, on the worker's Faust transport and settings, into the sink's own archive table).
STEPS: dict[str, Callable[[Run, Work], None]] = {
    "raw_produce": _raw_produce,
    "raw_consume": _raw_consume,
    "security": _security_cost,
    "validate": _validate_baseline,
    "clickhouse": _clickhouse_baselines,
    "bare_faust": _faust_baselines,
    "publish": _publish_stage,
    "worker": _worker_stages,
    "sink": _sink_stage,
    "latency": _latency_stages,
    "warehouse": _warehouse_stage,
    "history": _history_stage,
    "cluster": _cluster_stage,  # last: its three JVMs share the cores with nothing the other stages measure
}
