"""The pipeline's own commands, as the benchmark starts them: `p06 publish`, `p06 worker`, `p06 sink`.

A stage whose command does not exist yet is reported as missing (null in the results, a note in the
table) rather than failing the run: the harness is ready before the pipeline is.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from auth.accounts import Accounts
from stack import free_port
from stack.processes import run_p06

# The bench's own accounts, the same in every stage's data folder: a national operator for the live API
# and the sink's named queries, a monitor for /metrics (HTTP Basic, as a p06 command sends them).
OPERATOR = ("bench", secrets.token_urlsafe(18))
MONITOR = ("bench-monitor", secrets.token_urlsafe(18))


def bench_accounts(data: Path) -> None:
    accounts = Accounts(data)
    for (name, password), role in ((OPERATOR, "national"), (MONITOR, "monitor")):
        if name not in accounts.all():
            accounts.add(name, role, password)


class StageMissing(RuntimeError):
    """The command is not wired into `p06` yet."""


@cache
def available(command: str) -> bool:
    done = run_p06(command, "--help", timeout=60)
    return done.returncode == 0


def require(command: str) -> None:
    if not available(command):
        raise StageMissing(f"`p06 {command}` is not available yet")


@lru_cache(maxsize=1)
def cli_startup_s() -> float:
    """Seconds for `p06 --help`: interpreter and imports, which a rate in events/s should not carry."""
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        run_p06("--help", timeout=60)
        runs.append(time.perf_counter() - start)
    return sorted(runs)[1]


@dataclass
class StageEnv:
    """The P06_* configuration of one pipeline run: its own topics, app id, folders and ports."""

    bootstrap: str
    topic: str
    app_id: str
    work: Path
    partitions: int
    ports: dict[str, int] = field(default_factory=dict)
    kafka_env: dict[str, str] = field(
        default_factory=dict
    )  # P06_KAFKA_* of another cluster than the run's (bench.cluster.client_env)

    def env(self, name: str = "") -> dict[str, str]:
        data = self.work / (name or self.app_id)
        data.mkdir(parents=True, exist_ok=True)
        bench_accounts(data)
        port = self.ports.setdefault(name, free_port())
        return {
            "P06_KAFKA_BOOTSTRAP": self.bootstrap,
            "P06_DATA_DIR": str(data),
            "P06_CLICKHOUSE_URL": f"chdb://{self.work / 'chdb'}",
            "P06_EVENTS_TOPIC": self.topic,
            "P06_DLQ_TOPIC": f"{self.topic}.dlq",
            "P06_APP_ID": self.app_id,
            "P06_TOPIC_PARTITIONS": str(self.partitions),
            "P06_WORKER_WEB_PORT": str(port),
            "P06_SINK_API_PORT": str(self.ports.setdefault(f"{name}.sink", free_port())),
            "P06_GATEWAY_PORT": str(self.ports.setdefault(f"{name}.gateway", free_port())),
            "P06_OPERATOR_USER": OPERATOR[0],
            "P06_OPERATOR_PASSWORD": OPERATOR[1],
            "P06_MONITOR_USER": MONITOR[0],
            "P06_MONITOR_PASSWORD": MONITOR[1],
            **self.kafka_env,
        }

    def web_port(self, name: str = "") -> int:
        return self.ports[name]
