"""`p06 bench --quick --json` on the real broker: the document has every key, and the baselines are
real positive rates. No timing assertions: machines are noisy; the figures are judged in the table."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REQUIRED = (
    "raw_produce_eps", "raw_consume_eps", "publish_eps", "bare_faust_eps", "worker_single_drain_eps",
    "worker_drain_eps", "worker2_drain_eps", "sink_drain_eps", "p50_live_s", "p99_live_s",
    "p50_clickhouse_s", "p99_clickhouse_s", "worker_rss_mb", "sink_rss_mb",
)
BASELINES = ("raw_produce_eps", "raw_consume_eps", "bare_faust_eps", "raw_clickhouse_insert_rps")


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_bench_quick_json(kafka_bootstrap: str, tmp_path) -> None:
    env = {**os.environ, "P06_KAFKA_BOOTSTRAP": kafka_bootstrap, "P06_DATA_DIR": str(tmp_path / "p06")}
    done = subprocess.run([sys.executable, "-m", "p06", "bench", "--quick", "--json"], env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout)
    results, notes = doc["results"], doc["notes"]
    for key in REQUIRED:
        assert key in results
        # A stage not built yet is null with a note saying why, never silently missing.
        assert results[key] is None and key in notes or results[key] > 0, (key, results[key], notes.get(key))
    for key in BASELINES:
        assert results[key] is not None and results[key] > 0, (key, notes.get(key))
    assert doc["meta"]["events"] == 20_000 and doc["meta"]["valid_distinct"] > 0
