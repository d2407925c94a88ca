"""`p06 bench --quick --json` on the real broker: the document has every key, and the baselines are
real positive rates. No timing assertions: machines are noisy; the figures are judged in the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest

REQUIRED = (
    "raw_produce_eps",
    "raw_consume_eps",
    "publish_eps",
    "bare_faust_eps",
    "worker_single_drain_eps",
    "worker_drain_eps",
    "worker2_drain_eps",
    "sink_drain_eps",
    "p50_live_s",
    "p99_live_s",
    "p50_clickhouse_s",
    "p99_clickhouse_s",
    "worker_rss_mb",
    "sink_rss_mb",
    "history_cost_ratio",
    "state_record_max_kb",
    "history_worker_rss_mb",
    "sink_batch_cost_ratio",
    "p99_clickhouse_full_archive_s",
    "reconcile_full_archive_s",
    "tls_sasl_produce_ratio",
    "tls_sasl_produce_single_ratio",
    "tls_sasl_consume_ratio",
    "tls_sasl_publish_ratio",  # secured ÷ PLAINTEXT
)
BASELINES = (
    "raw_produce_eps",
    "raw_produce_single_eps",
    "raw_consume_eps",
    "validate_eps",
    "bare_faust_eps",
    "bare_faust_packed_eps",
    "raw_clickhouse_insert_rps",
    "raw_clickhouse_bare_rps",
    "chdb_idle_rss_mb",
)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_bench_quick_json(kafka_broker, tmp_path) -> None:
    env = {
        **os.environ,
        "P06_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
        "P06_DATA_DIR": str(tmp_path / "p06"),
        "P06_KAFKA_SECURITY_PROTOCOL": kafka_broker.protocol,
        "P06_KAFKA_SECRETS_DIR": str(kafka_broker.secrets_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "p06", "bench", "--quick", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]  # a failed stage or a null figure exits 1, naming it
    doc = json.loads(done.stdout)
    results, notes = doc["results"], doc["notes"]
    for key in (*REQUIRED, *BASELINES):
        assert results.get(key) is not None and results[key] > 0, (key, results.get(key), notes.get(key))
    assert doc["meta"]["events"] == 20_000 and doc["meta"]["valid_distinct"] > 0


def test_a_failed_stage_fails_the_run_and_is_named() -> None:
    from bench.runner import BenchFailed, Run

    run = Run(budget_s=60, stage_s=60)
    for key in run.results:
        run.set(key, 1.0)
    run.check()  # every figure there, no failure: passes
    assert run.stage("worker drain, packed", ["worker_drain_eps"], lambda: 1 / 0) is None
    run.results["worker_drain_eps"] = None
    with pytest.raises(BenchFailed):
        run.check()
    assert run.failed == ["worker drain, packed: failed: division by zero"]


def test_floors_and_ratios_are_keys_with_their_targets() -> None:
    from bench.scoreboard import derive, targets

    results = {
        "validate_eps": 100_000.0,
        "raw_produce_eps": 300_000.0,
        "publish_eps": 60_000.0,
        "sink_rss_mb": 640.0,
        "chdb_idle_rss_mb": 390.0,
        "worker_drain_eps": None,
    }
    derive(results)
    assert results["publish_floor_eps"] == 75_000.0  # 1/(1/100k + 1/300k)
    assert results["publish_ratio"] == 0.8 and results["sink_own_rss_mb"] == 250.0
    assert results["worker_floor_eps"] is None and results["worker_ratio"] is None
    got = targets(results)
    assert got["publish_ratio"] == {"value": 0.8, "target": "≥ 0.8×", "met": True}
    assert got["sink_own_rss_mb"]["met"] is True and got["worker_ratio"]["met"] is None
    assert {"worker_single_ratio", "worker2_ratio", "sink_ratio", "p99_live_worker_alone_s"} <= set(got)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_bench_only_one_stage_runs_it_with_its_baselines(kafka_broker, tmp_path) -> None:
    env = {
        **os.environ,
        "P06_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
        "P06_DATA_DIR": str(tmp_path / "p06"),
        "P06_KAFKA_SECURITY_PROTOCOL": kafka_broker.protocol,
        "P06_KAFKA_SECRETS_DIR": str(kafka_broker.secrets_dir),
    }
    cmd = [sys.executable, "-m", "p06", "bench", "--quick", "--json", "--only", "publish"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]  # the figures of the other stages are not missing
    doc = json.loads(done.stdout)
    results = doc["results"]
    for key in ("raw_produce_eps", "validate_eps", "publish_eps", "publish_floor_eps", "publish_ratio"):
        assert results[key] is not None and results[key] > 0, (key, doc["notes"].get(key))
    assert results["worker_drain_eps"] is None and results["sink_drain_eps"] is None
    assert doc["targets"]["publish_ratio"]["met"] in (True, False)
    assert doc["meta"]["only"] == ["publish"] and doc["meta"]["command"].endswith("--only publish")
    bad = subprocess.run([*cmd[:-1], "publish,nothing"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "nothing" in bad.stderr


def test_the_cluster_stage_runs_in_a_full_run_and_alone_but_not_in_quick() -> None:
    from bench.cli import STAGES
    from bench.runner import CLUSTER_KEYS, CLUSTER_RATIOS, NOT_QUICK, ONLY, BenchFailed, Run, _cluster_stage, steps

    assert set(STAGES) == set(ONLY)
    assert _cluster_stage in steps(None) and steps(None)[-1] is _cluster_stage
    assert _cluster_stage not in steps(None, quick=True) and len(steps(None, quick=True)) == len(steps(None)) - 1
    assert steps(["cluster"], quick=True) == [_cluster_stage]
    run = Run(budget_s=60, stage_s=60, skipped=dict.fromkeys(CLUSTER_KEYS + CLUSTER_RATIOS, NOT_QUICK))
    for key in run.results:
        run.set(key, None if key in CLUSTER_KEYS else 1.0)
    run.check()  # a quick run's cluster figures are null, and say why, without failing it
    assert run.notes["broker_loss_stall_s"] == NOT_QUICK
    run.skipped.clear()
    with pytest.raises(BenchFailed):
        run.check()  # a full run without them fails, naming them


def test_the_broker_loss_stall_is_the_longest_gap_between_advances_around_the_kill(tmp_path) -> None:
    from bench.stages.cluster import calm_gap, stall, worker_log

    # The live figure advances every 0.1 s, stops 0.9 s after the kill at t=10 for 9.6 s, then catches up.
    times = [t / 10 for t in range(0, 110)] + [20.5 + t / 10 for t in range(0, 50)]
    samples = [(t, i) for i, t in enumerate(times)]
    start, length = stall(samples, since=10.0, until=24.0, ended_at=40.0, final=len(times) - 1)
    assert (round(start, 1), round(length, 1)) == (10.9, 9.6)
    assert round(calm_gap(samples, 0.0, 10.0), 1) == 0.1
    # A figure that never reached the last tick's total stopped until the end of the stage.
    stopped = samples[:110]
    assert stall(stopped, 10.0, 24.0, 40.0, final=len(times) - 1) == (stopped[-1][0], 40.0 - stopped[-1][0])
    log = tmp_path / "worker.log"
    log.write_text(
        "[2026-12-03 13:33:10,835] [15414] [WARNING] Timer commit is overlapping (interval=1.0 runtime=1.19)\n"
        "[2026-12-03 13:33:29,162] [15414] [ERROR] Failed fetch messages from 1: KafkaConnectionError: closed\n"
        "[2026-12-03 13:33:29,200] [15414] [ERROR] Unable connect to node with id 1: [Errno 111] Connect call\n"
        "[2026-12-03 13:33:37,731] [15414] [ERROR] Failed fetch messages from 1: NodeNotReadyError: not ready\n"
        "[2026-12-03 13:33:38,000] [15414] [INFO] Discovered coordinator 3 for group g\n"
    )
    kill = datetime(2026, 12, 3, 13, 33, 29).timestamp()  # local time, as the worker writes it
    assert worker_log(log, kill, kill + 20) == [
        "worker: its fetches from the lost node failing +0.2..+8.7 s (3 lines)",
        "worker: its group rejoining (coordinator, join, sync) +9.0..+9.0 s (1 lines)",
    ]
