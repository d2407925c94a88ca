"""The local development stack: one real Apache Kafka broker and the pipeline's topics.

`stack.broker` runs a single-node KRaft broker from the jars pinned in pom.xml (`p06 stack up`,
`status`, `down`, in `stack.cli`), `stack.cluster` a cluster of such nodes (`p06 stack up --brokers 3`,
`p06 stack node stop|kill|start N`), secured by default: TLS + SCRAM (`stack.secrets` makes the CA,
certificate and passwords, `stack.principals` the SCRAM users) and ACLs (`stack.acl`). `stack.topics`
creates the topics every service needs; `stack.provision` readies a cluster for the pipeline (topics,
users, ACLs: `p06 stack up` and `p06 stack init`). `stack.clients` builds every Kafka client's options
and the one admin client (`admin_client`); `stack.files` is the one owner-only file writer.
`stack.processes` is the one way p06 runs its own commands as child processes (`p06 up`, the
benchmark, the tests). The package depends only on `schemas` (never on `streams`), so that the sink,
the benchmark and the tests can start a broker and make topics without importing the Faust worker.
"""

from .broker import BrokerStatus, StackError, down, free_port, kafka_version, port_answers, status, up
from .clients import admin_client
from .files import write_private
from .processes import P06Process, run_p06, stop_all
from .provision import provision
from .topics import create_topics, ensure_ingestion_topics, ensure_topics

__all__ = [
    "BrokerStatus",
    "P06Process",
    "StackError",
    "admin_client",
    "create_topics",
    "down",
    "ensure_ingestion_topics",
    "ensure_topics",
    "free_port",
    "kafka_version",
    "port_answers",
    "provision",
    "run_p06",
    "status",
    "stop_all",
    "up",
    "write_private",
]
