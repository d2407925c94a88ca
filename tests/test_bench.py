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
