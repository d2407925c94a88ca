"""`p06 stack up --brokers N`: a KRaft cluster of N nodes on 127.0.0.1, each broker and controller.

Secured as the single broker is (stack.broker: TLS, SCRAM, ACLs), with the same secrets folder,
DATA_DIR/kafka/secrets: one CA and certificate (its names hold 127.0.0.1), one password per principal.
Node N lives in DATA_DIR/kafka/node-N (its server.properties, data, kafka.log and PID) and listens for
clients on P06_KAFKA_BOOTSTRAP's port + N - 1; its controller port is picked once and kept in
DATA_DIR/kafka/cluster.json, since every node's voter list names it. The nodes share two cores: each
JVM gets a small heap (HEAP) and fewer threads.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings
from stack.clients import admin_client, all_principals

from . import broker, principals, secrets

HEAP = ("-Xms128m", "-Xmx512m")
STOP_TIMEOUT_S = 30
# Three JVMs starting on two busy cores: a node rejoining a loaded cluster took over 90 s once (drills).
START_TIMEOUT_S = 240


@dataclass(frozen=True)
class NodeStatus:
    node_id: int
    port: int
    controller_port: int
    pid: int | None
    folder: Path

    @property
    def running(self) -> bool:
        return self.pid is not None


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (node N listens on port + N - 1)."""
    while True:
        first = broker.free_port()
        try:
            for port in range(first, first + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue


def folder_of(data_dir: Path) -> Path:
    return (data_dir / "kafka").resolve()


def layout_file(data_dir: Path) -> Path:
    return folder_of(data_dir) / "cluster.json"


def is_cluster(data_dir: Path) -> bool:
    return layout_file(data_dir).exists()


def _layout(data_dir: Path) -> dict:
    return json.loads(layout_file(data_dir).read_text())


def nodes(data_dir: Path) -> list[NodeStatus]:
    """Every node of the cluster, with its PID while it runs."""
    found = []
    for node in _layout(data_dir)["nodes"]:
        folder = folder_of(data_dir) / f"node-{node['id']}"
        pid_file = folder / "broker.pid"
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        alive = pid is not None and broker.pid_running_kafka(pid)
        found.append(NodeStatus(node["id"], node["port"], node["controller_port"], pid if alive else None, folder))
    return found


def bootstrap(data_dir: Path) -> str:
    return ",".join(f"127.0.0.1:{n['port']}" for n in _layout(data_dir)["nodes"])


def _plan(data_dir: Path, port: int, count: int, secured: bool) -> dict:
    """The cluster's layout, made once: ports, controller ports, cluster id; kept after."""
    if is_cluster(data_dir):
        layout = _layout(data_dir)
        if len(layout["nodes"]) != count:
            raise broker.StackError(
                f"the cluster in {folder_of(data_dir)} has {len(layout['nodes'])} nodes, not {count}: "
                "use that count, or `p06 stack down --purge` first"
            )
        return layout
    if (folder_of(data_dir) / "data").exists():
        raise broker.StackError(
            f"{folder_of(data_dir)} holds a single broker's data:"
            " `p06 stack down --purge` before starting a cluster there"
        )
    layout = {
        "cluster_id": broker.cluster_id(),
        "secured": secured,
        "nodes": [{"id": i, "port": port + i - 1, "controller_port": broker.free_port()} for i in range(1, count + 1)],
    }
    folder_of(data_dir).mkdir(parents=True, exist_ok=True)
    layout_file(data_dir).write_text(json.dumps(layout, indent=1))
    return layout


def up(data_dir: Path, port: int, count: int = 3, secured: bool = True) -> list[NodeStatus]:
    """Start every node that is not running, then wait until each answers; the users on first start."""
    layout = _plan(data_dir, port, count, secured)
    folder = folder_of(data_dir)
    secrets.private_dir(folder / "secrets")
    (folder / "bootstrap").write_text(bootstrap(data_dir))
    (folder / "broker.protocol").write_text("SASL_SSL" if layout["secured"] else "PLAINTEXT")
    started = {n.node_id: start_node(data_dir, n.node_id) for n in nodes(data_dir) if not n.running}
    for node_id, proc in started.items():
        node = nodes(data_dir)[node_id - 1]
        broker.wait_until_ready(proc, node.port, node.folder, node_settings(data_dir, node), START_TIMEOUT_S)
    if layout["secured"]:
        principals.ensure_users(broker.local_settings(data_dir), folder / "secrets", all_principals())
    return nodes(data_dir)


def node_settings(data_dir: Path, node: NodeStatus) -> Settings:
    """Settings that reach this node alone."""
    return broker.local_settings(data_dir).model_copy(update={"kafka_bootstrap": f"127.0.0.1:{node.port}"})


def start_node(data_dir: Path, node_id: int) -> subprocess.Popen:
    """Write node N's config (formatting its storage on first start) and launch its JVM; no wait."""
    layout = _layout(data_dir)
    spec = layout["nodes"][node_id - 1]
    folder, secrets_dir = folder_of(data_dir) / f"node-{node_id}", folder_of(data_dir) / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    java, mvn = broker.require_tools()
    cp = broker.classpath(folder_of(data_dir), mvn)
    voters = ",".join(f"{n['id']}@127.0.0.1:{n['controller_port']}" for n in layout["nodes"])
    node = broker.Node(node_id, voters, replicas=min(3, len(layout["nodes"])))
    props = broker.write_config(folder, spec["port"], spec["controller_port"], layout["secured"], node, secrets_dir)
    if not (folder / "data" / "meta.properties").exists():
        broker.format_storage(java, cp, props, secrets_dir, layout["secured"], layout["cluster_id"])
    return broker.launch(java, cp, folder, props, HEAP)


def start(data_dir: Path, node_id: int) -> NodeStatus:
    """Start node N again and wait until it answers."""
    node = _node(data_dir, node_id)
    if node.running:
        return node
    proc = start_node(data_dir, node_id)
    broker.wait_until_ready(proc, node.port, node.folder, node_settings(data_dir, node), START_TIMEOUT_S)
    return _node(data_dir, node_id)


def _node(data_dir: Path, node_id: int) -> NodeStatus:
    found = [n for n in nodes(data_dir) if n.node_id == node_id]
    if not found:
        raise broker.StackError(f"no node {node_id}: the cluster has nodes {[n.node_id for n in nodes(data_dir)]}")
    return found[0]


def stop(data_dir: Path, node_id: int, kill: bool = False, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Node N stopped cleanly (SIGTERM: it hands its leaderships over first), or SIGKILLed as a crash
    would; True if it was running."""
    node = _node(data_dir, node_id)
    if node.pid is None:
        return False
    os.killpg(node.pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while broker.pid_alive(node.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if broker.pid_alive(node.pid):
        os.killpg(node.pid, signal.SIGKILL)
    return True


def down(data_dir: Path, purge: bool = False) -> bool:
    """Every node stopped (all at once); with purge, the cluster's folder deleted. True if one was up."""
    running = [n.pid for n in nodes(data_dir) if n.pid is not None]
    for pid in running:
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for pid in running:
        while broker.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if broker.pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
    if purge:
        import shutil

        shutil.rmtree(folder_of(data_dir), ignore_errors=True)
    return bool(running)


def active_controller(data_dir: Path) -> int | None:
    """The quorum's leader as the running nodes last recorded it (each node's quorum-state file:
    the highest epoch wins), or None while no running node knows one (an election in progress)."""
    best: tuple[int, int] | None = None
    running = {n.node_id for n in nodes(data_dir) if n.running}
    for n in nodes(data_dir):
        file = n.folder / "data" / "__cluster_metadata-0" / "quorum-state"
        if n.node_id not in running or not file.exists():
            continue
        try:
            state = json.loads(file.read_text())
        except (OSError, ValueError):
            continue
        leader, epoch = state.get("leaderId", -1), state.get("leaderEpoch", -1)
        if leader in running and (best is None or epoch > best[1]):
            best = (leader, epoch)
    return best[0] if best else None


def leaders_per_node(settings: Settings) -> dict[int, int]:
    """How many partition leaderships each broker holds, over every topic (internal ones too)."""
    counts: dict[int, int] = {}
    with admin_client(settings, timeout_ms=10_000) as admin:
        for topic in admin.describe_topics():
            for partition in topic["partitions"]:
                if partition["leader_id"] >= 0:
                    counts[partition["leader_id"]] = counts.get(partition["leader_id"], 0) + 1
    return counts


def leaders_of(settings: Settings, topic: str) -> dict[int, int]:
    """How many of this topic's partitions each broker leads."""
    counts: dict[int, int] = {}
    with admin_client(settings, timeout_ms=10_000) as admin:
        for partition in admin.describe_topics([topic])[0]["partitions"]:
            if partition["leader_id"] >= 0:
                counts[partition["leader_id"]] = counts.get(partition["leader_id"], 0) + 1
    return counts


def under_replicated(settings: Settings) -> int:
    """Partitions, over every topic, whose in-sync replicas are fewer than their replicas."""
    with admin_client(settings, timeout_ms=10_000) as admin:
        return sum(
            len(p["isr_nodes"]) < len(p["replica_nodes"]) for t in admin.describe_topics() for p in t["partitions"]
        )


def wait_in_sync(settings: Settings, timeout_s: float = 120) -> None:
    """Until no partition is under-replicated: what a rolling restart waits for before the next node."""
    deadline = time.monotonic() + timeout_s
    behind = -1
    while time.monotonic() < deadline:
        try:
            behind = under_replicated(settings)
        except Exception:  # a node that just came back may not answer yet: ask again
            behind = -1
        if behind == 0:
            return
        time.sleep(1)
    raise broker.StackError(f"{behind} partitions still under-replicated after {timeout_s:.0f}s")
