"""Fixtures on the real components: one Apache Kafka broker per test session, a chDB folder per test.

When P06_KAFKA_BOOTSTRAP is set (CI starts a broker with `p06 stack up`), the tests use that cluster,
with the secrets of P06_KAFKA_SECRETS_DIR (default: P06_DATA_DIR's); otherwise the session starts its
own secured broker on a free port and removes it at the end. Each test gets its own topic names and
data folder, so tests never see each other's events, and the project's ACL table (stack.acl) is
granted for its topic names: each process of a test connects as its role's principal.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import clickhouse_connect
import pytest

from auth.accounts import Accounts
from schemas.settings import Settings, load_settings, settings
from stack import broker as local_broker
from stack.provision import grant_acls as grant_project_acls


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    secrets_dir: Path
    protocol: str  # SASL_SSL, or PLAINTEXT when P06_KAFKA_SECURITY_PROTOCOL says so


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    existing = os.environ.get("P06_KAFKA_BOOTSTRAP")
    if existing:
        s = settings()
        yield Broker(existing, s.kafka_secrets, s.kafka_security_protocol)
        return
    data_dir = tmp_path_factory.mktemp("broker")
    broker = local_broker.up(data_dir, local_broker.free_port())
    yield Broker(broker.bootstrap, (broker.folder / "secrets").resolve(), "SASL_SSL")
    local_broker.down(data_dir, purge=True)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: Broker) -> str:
    return kafka_broker.bootstrap


def grant_acls(s: Settings) -> None:
    """The project's ACL table for this test's topic names, granted as p06-admin."""
    if s.kafka_security_protocol == "PLAINTEXT":
        return
    grant_project_acls(s)


def operator_accounts(data_dir: Path) -> dict[str, str]:
    """A national operator and a monitor account in the test's data folder, as P06_* credentials."""
    accounts, env = Accounts(data_dir), {}
    for kind, name, role in (("OPERATOR", "test-national", "national"), ("MONITOR", "test-monitor", "monitor")):
        password = secrets.token_urlsafe(16)
        accounts.add(name, role, password)
        env |= {f"P06_{kind}_USER": name, f"P06_{kind}_PASSWORD": password}
    return env


@pytest.fixture
def p06_settings(kafka_broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test: its own topics, consumer group, data dir and chDB folder.

    They are also exported as P06_* variables, so the commands and worker processes a test starts
    read the same configuration.
    """
    tag = uuid.uuid4().hex[:10]
    env = {
        "P06_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
        "P06_KAFKA_SECURITY_PROTOCOL": kafka_broker.protocol,
        "P06_KAFKA_SECRETS_DIR": str(kafka_broker.secrets_dir),
        "P06_DATA_DIR": str(tmp_path / "p06"),
        "P06_CLICKHOUSE_URL": f"chdb://{tmp_path / 'chdb'}",
        "P06_EVENTS_TOPIC": f"t{tag}.events",
        "P06_DLQ_TOPIC": f"t{tag}.events.dlq",
        "P06_APP_ID": f"t{tag}-live",
        "P06_TOPIC_PARTITIONS": "4",
        "P06_WORKER_WEB_PORT": str(local_broker.free_port()),
        "P06_SINK_API_PORT": str(local_broker.free_port()),
        "P06_GATEWAY_PORT": str(local_broker.free_port()),
        "P06_ADMISSION_METRICS_PORT": str(local_broker.free_port()),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("P06_KAFKA_USERNAME", "P06_KAFKA_PASSWORD", "P06_KAFKA_PASSWORD_FILE", "P06_KAFKA_SSL_CAFILE"):
        monkeypatch.delenv(name, raising=False)  # each process connects as its own role's principal
    # Accounts beside the data folder, not in it: a folder named p06 in a process's cwd would shadow `python -m p06`.
    monkeypatch.setenv("P06_ACCOUNTS_DIR", str(tmp_path / "accounts"))
    for name, value in operator_accounts(tmp_path / "accounts").items():
        monkeypatch.setenv(name, value)  # what `p06 live`, `p06 report`, the sink's audit... log in with
    settings.cache_clear()
    s = load_settings()
    grant_acls(s)
    yield s
    settings.cache_clear()


@pytest.fixture
def chdb_client(tmp_path: Path):
    """A clickhouse-connect client on this test's own chDB folder."""
    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path / 'chdb'}")
    yield client
    client.close()
