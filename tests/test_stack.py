"""`p06 stack` on a private data folder and port: up, status and down, twice, and a broker left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from stack import broker as local_broker
from stack.processes import run_p06

REPO = Path(__file__).resolve().parent.parent


def stack(data_dir: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "P06_DATA_DIR": str(data_dir), "P06_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}
    return run_p06("stack", *args, cwd=REPO, env=env, timeout=180)


def test_up_status_down_twice_then_a_left_behind_broker_is_reused_or_replaced(tmp_path: Path) -> None:
    port = local_broker.free_port()
    for _ in range(2):
        up = stack(tmp_path, port, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"is up at 127.0.0.1:{port}" in up.stdout
        status = stack(tmp_path, port, "status")
        assert status.returncode == 0 and "is up" in status.stdout
        # One broker: the topics' replication fits it, and status says that it is reduced.
        assert "replication factor 1, min.insync.replicas 1" in status.stdout.replace("\n", " ")
        assert "reduced for 1 broker" in status.stdout.replace("\n", " ")
        down = stack(tmp_path, port, "down")
        assert down.returncode == 0 and "Kafka stopped" in down.stdout
        assert stack(tmp_path, port, "status").returncode == 1

    # A broker still running from an earlier run is found by its PID file, not started twice.
    stack(tmp_path, port, "up")
    first = local_broker.status(tmp_path).pid
    again = stack(tmp_path, port, "up")
    assert again.returncode == 0 and local_broker.status(tmp_path).pid == first
    assert (
        sum("kafka.Kafka" in local_broker._cmdline(p) and str(tmp_path) in local_broker._cmdline(p) for p in _pids())
        == 1
    )

    # A broker that died (SIGKILL) leaves a stale PID file: status says down, up starts a new one.
    os.kill(first, signal.SIGKILL)
    _wait_gone(first)
    assert stack(tmp_path, port, "status").returncode == 1
    restarted = stack(tmp_path, port, "up")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert local_broker.status(tmp_path).pid not in (None, first)
    assert stack(tmp_path, port, "down", "--purge").returncode == 0
    assert not (tmp_path / "kafka").exists()


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _wait_gone(pid: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while local_broker.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def test_cluster_ids_never_look_like_an_option() -> None:
    # One urlsafe-base64 id in 64 starts with "-", and kafka-storage format then rejects "-t <id>".
    ids = [local_broker.cluster_id() for _ in range(5000)]
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids) and all(len(i) == 22 for i in ids)
