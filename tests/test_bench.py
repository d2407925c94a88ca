"""`p06 bench --quick --json` on the real broker: the document has every key, and the baselines are
real positive rates. No timing assertions: machines are noisy; the figures are judged in the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
