"""Which Kafka the benchmark runs on: P06_KAFKA_BOOTSTRAP if it answers, else a private broker.

The benchmark connects as p06-admin (it makes and drops its own topics; P06_KAFKA_USERNAME overrides):
`cluster()` exports the P06_KAFKA_* variables its stages' processes inherit. `security_pair()` starts
two fresh private brokers, one secured and one PLAINTEXT, so the cost of TLS + SASL is measured in the
same run, on the same messages, on brokers alike in all but their listener. `three_nodes()` starts a
private three-node cluster as `p06 stack up --brokers 3` does (stack.cluster), for the cluster stage.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.settings import Settings, load_settings
from stack import broker as local_broker
from stack import cluster as stack_cluster
from stack.clients import admin_client, principal_for


@dataclass(frozen=True)
class Cluster:
    bootstrap: str
    private: bool
    run_tag: str  # unique per run: the shared dev broker is used by others at the same time
    settings: Settings  # how the benchmark's own clients connect (stack.clients, role "bench")
    folder: Path | None = None  # a private cluster's data folder (stack.cluster: its nodes' drills)

    def topic(self, name: str) -> str:
        return f"bench.{self.run_tag}.{name}"

    @property
    def protocol(self) -> str:
        return self.settings.kafka_security_protocol


def _answers(s: Settings) -> bool:
    try:
        with admin_client(s, "bench", timeout_ms=5000) as admin:
            admin.list_topics()
        return True
    except Exception:
        return False


def client_env(s: Settings) -> dict[str, str]:
    """What a stage's process needs to connect as the benchmark's principal (never the password)."""
    env = {"P06_KAFKA_BOOTSTRAP": s.kafka_bootstrap, "P06_KAFKA_SECURITY_PROTOCOL": s.kafka_security_protocol}
    if s.kafka_security_protocol != "PLAINTEXT":
        env |= {"P06_KAFKA_SECRETS_DIR": str(s.kafka_secrets), "P06_KAFKA_USERNAME": principal_for(s, "bench")}
    return env


def settings_for(bootstrap: str, kafka_env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Client settings for the run's cluster, from the variables cluster() exported, or for another
    cluster from its client_env(); overrides (events_topic=...) on top."""
    return load_settings(
        **{
            "kafka_bootstrap": bootstrap,
            **{k.removeprefix("P06_").lower(): v for k, v in (kafka_env or {}).items()},
            **overrides,
        }
    )


def _client_settings(bootstrap: str, secrets_dir: Path, secured: bool) -> Settings:
    """How the benchmark connects to a broker or cluster it started: its bootstrap, protocol and secrets."""
    return load_settings().model_copy(
        update={
            "kafka_bootstrap": bootstrap,
            "kafka_security_protocol": "SASL_SSL" if secured else "PLAINTEXT",
            "kafka_secrets_dir": secrets_dir.resolve(),
            "kafka_username": "",
            "kafka_password": None,
            "kafka_password_file": None,
            "kafka_ssl_cafile": None,
        }
    )


def _private(data_dir: Path, secured: bool) -> tuple[local_broker.BrokerStatus, Settings]:
    broker = local_broker.up(data_dir, local_broker.free_port(), secured=secured)
    return broker, _client_settings(broker.bootstrap, broker.folder / "secrets", secured)


@contextmanager
def cluster(s: Settings) -> Iterator[Cluster]:
    tag = uuid.uuid4().hex[:8]
    saved = {
        k: os.environ.get(k)
        for k in ("P06_KAFKA_BOOTSTRAP", "P06_KAFKA_SECURITY_PROTOCOL", "P06_KAFKA_SECRETS_DIR", "P06_KAFKA_USERNAME")
    }
    data_dir = s.data_dir / "bench"
    private = False
    try:
        if _answers(s):
            c = Cluster(s.kafka_bootstrap, False, tag, s)
        else:
            private = True
            broker, bench_settings = _private(data_dir, s.kafka_security_protocol != "PLAINTEXT")
            c = Cluster(broker.bootstrap, True, tag, bench_settings)
        os.environ.update(client_env(c.settings))
        yield c
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if private:
            local_broker.down(data_dir, purge=True)


@contextmanager
def security_pair(c: Cluster, work: Path) -> Iterator[tuple[Cluster, Cluster]]:
    """Two fresh private brokers, (TLS + SCRAM, PLAINTEXT), stopped and deleted afterwards."""
    folders = (work / "broker-secured", work / "broker-plaintext")
    try:
        secured = _private(folders[0], True)[1]
        plain = _private(folders[1], False)[1]
        yield (
            Cluster(secured.kafka_bootstrap, True, c.run_tag, secured),
            Cluster(plain.kafka_bootstrap, True, c.run_tag, plain),
        )
    finally:
        for folder in folders:
            local_broker.down(folder, purge=True)


@contextmanager
def three_nodes(c: Cluster, work: Path, nodes: int = 3) -> Iterator[Cluster]:
    """A private cluster as `p06 stack up --brokers 3` starts it (stack.cluster: each node broker and
    controller, topics made on it get replication factor 3 and min.insync.replicas 2, each JVM's heap
    stack.cluster.HEAP), secured as the run's broker is; stopped and deleted afterwards."""
    folder = (work / "cluster").resolve()
    secured = c.protocol != "PLAINTEXT"
    try:
        stack_cluster.up(folder, stack_cluster.free_ports(nodes), nodes, secured=secured)
        bootstrap = stack_cluster.bootstrap(folder)
        settings = _client_settings(bootstrap, stack_cluster.folder_of(folder) / "secrets", secured)
        yield Cluster(bootstrap, True, c.run_tag, settings, folder)
    finally:
        if stack_cluster.is_cluster(folder):  # it may have failed before planning its nodes
            stack_cluster.down(folder, purge=True)


def delete_topics(c: Cluster) -> None:
    """Drop this run's topics so the shared broker does not fill up with benchmark data."""
    try:
        with admin_client(c.settings, "bench") as admin:
            mine = [t for t in admin.list_topics() if t.startswith(f"bench.{c.run_tag}.")]
            if mine:
                admin.delete_topics(mine)
    except Exception:  # cleanup is best effort; the run's figures are already written
        pass
