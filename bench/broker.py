"""Which Kafka the benchmark runs on: P06_KAFKA_BOOTSTRAP if it answers, else a private broker."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kafka import KafkaAdminClient

from schemas.settings import Settings
from stack import broker as local_broker


@dataclass(frozen=True)
class Cluster:
    bootstrap: str
    private: bool
    run_tag: str  # unique per run: the shared dev broker is used by others at the same time

    def topic(self, name: str) -> str:
        return f"bench.{self.run_tag}.{name}"


def _answers(bootstrap: str) -> bool:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        admin.list_topics()
        admin.close()
        return True
    except Exception:
        return False


@contextmanager
def cluster(s: Settings) -> Iterator[Cluster]:
    tag = uuid.uuid4().hex[:8]
    if _answers(s.kafka_bootstrap):
        yield Cluster(s.kafka_bootstrap, False, tag)
        return
    data_dir = s.data_dir / "bench"
    broker = local_broker.up(data_dir, local_broker.free_port())
    try:
        yield Cluster(broker.bootstrap, True, tag)
    finally:
        local_broker.down(data_dir, purge=True)


def delete_topics(c: Cluster) -> None:
    """Drop this run's topics so the shared broker does not fill up with benchmark data."""
    admin = KafkaAdminClient(bootstrap_servers=c.bootstrap, request_timeout_ms=15000)
    try:
        mine = [t for t in admin.list_topics() if t.startswith(f"bench.{c.run_tag}.")]
        if mine:
            admin.delete_topics(mine)
    except Exception:  # cleanup is best effort; the run's figures are already written
        pass
    finally:
        admin.close()
