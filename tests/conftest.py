"""Fixtures on the real components: one Apache Kafka broker per test session, a chDB folder per test.

When P06_KAFKA_BOOTSTRAP is set (CI starts a broker with `p06 stack up`), the tests use that cluster;
otherwise the session starts its own broker on a free port and removes it at the end.
Each test gets its own topic names and data folder, so tests never see each other's events.
"""
from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import pytest

from schemas.accounts import Accounts
from schemas.settings import Settings, load_settings, settings
from stack import broker as local_broker


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    existing = os.environ.get("P06_KAFKA_BOOTSTRAP")
    if existing:
        yield existing
        return
    data_dir = tmp_path_factory.mktemp("broker")
    broker = local_broker.up(data_dir, local_broker.free_port())
    yield broker.bootstrap
    local_broker.down(data_dir, purge=True)


def operator_accounts(data_dir: Path) -> dict[str, str]:
    """A national operator and a monitor account in the test's data folder, as P06_* credentials."""
    accounts, env = Accounts(data_dir), {}
    for kind, name, role in (("OPERATOR", "test-national", "national"), ("MONITOR", "test-monitor", "monitor")):
        password = secrets.token_urlsafe(16)
        accounts.add(name, role, password)
        env |= {f"P06_{kind}_USER": name, f"P06_{kind}_PASSWORD": password}
    return env


@pytest.fixture
def p06_settings(kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test: its own topics, consumer group, data dir and chDB folder.

    They are also exported as P06_* variables, so the commands and worker processes a test starts
    read the same configuration.
    """
    tag = uuid.uuid4().hex[:10]
    env = {
        "P06_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "P06_DATA_DIR": str(tmp_path / "p06"),
        "P06_CLICKHOUSE_URL": f"chdb://{tmp_path / 'chdb'}",
        "P06_EVENTS_TOPIC": f"t{tag}.events",
        "P06_DLQ_TOPIC": f"t{tag}.events.dlq",
        "P06_APP_ID": f"t{tag}-live",
        "P06_TOPIC_PARTITIONS": "4",
        "P06_WORKER_WEB_PORT": str(local_broker.free_port()),
        "P06_SINK_API_PORT": str(local_broker.free_port()),
        "P06_GATEWAY_PORT": str(local_broker.free_port()),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Accounts beside the data folder, not in it: a folder named p06 in a process's cwd would shadow `python -m p06`.
    monkeypatch.setenv("P06_ACCOUNTS_DIR", str(tmp_path / "accounts"))
    for name, value in operator_accounts(tmp_path / "accounts").items():
        monkeypatch.setenv(name, value)  # what `p06 live`, `p06 report`, the sink's audit... log in with
    settings.cache_clear()
    yield load_settings()
    settings.cache_clear()


@pytest.fixture
def chdb_client(tmp_path: Path):
    """A clickhouse-connect client on this test's own chDB folder."""
    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path / 'chdb'}")
    yield client
    client.close()
