"""`p06 stack`: start, inspect and stop the local Kafka broker, and manage its SCRAM users."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from kafka.errors import KafkaError
from rich.console import Console

from schemas.settings import Settings, settings
from stack.clients import ROLE_PRINCIPALS, ca_path, password_path

from . import broker as local_broker
from . import cluster, principals, secrets
from .provision import provision
from .topics import replication

stack_app = typer.Typer(help="A local Apache Kafka broker (KRaft, single node) for development and tests.")
users_app = typer.Typer(help="SCRAM users of the local broker: list, add, revoke.")
node_app = typer.Typer(help="One node of a local cluster (`p06 stack up --brokers 3`): stop, kill, start, for drills.")
stack_app.add_typer(users_app, name="users")
stack_app.add_typer(node_app, name="node")
console = Console()


def _client_help(s: Settings, broker: local_broker.BrokerStatus) -> None:
    """What a client needs to connect (never a password: only where each one is kept)."""
    if local_broker.protocol(s.data_dir) == "PLAINTEXT":
        console.print(f"clients: bootstrap {broker.bootstrap}, security protocol PLAINTEXT (no authentication)")
        return
    secrets_dir = (broker.folder / "secrets").resolve()
    console.print(f"clients: bootstrap {broker.bootstrap}, security protocol SASL_SSL, mechanism SCRAM-SHA-512")
    console.print(f"  CA certificate: {ca_path(secrets_dir)}")
    console.print(f"  passwords (one file per principal, 0600): {password_path(secrets_dir, 'NAME')}")
    console.print(
        f"  principals: {', '.join(dict.fromkeys(ROLE_PRINCIPALS.values()))}, p06-province-PP (one per province)"
    )
    console.print(
        "  p06 commands find them there by themselves; another data dir: P06_KAFKA_SECRETS_DIR=" + str(secrets_dir)
    )


@stack_app.command("up")
def stack_up(
    plaintext: bool = typer.Option(
        False,
        "--plaintext",
        help="an open PLAINTEXT listener, no TLS, SASL or ACLs (benchmark comparison only);"
        " also when P06_KAFKA_SECURITY_PROTOCOL=PLAINTEXT",
    ),
    brokers: int = typer.Option(
        1,
        "--brokers",
        min=1,
        max=9,
        help="nodes, each broker and controller; more than one: a cluster on P06_KAFKA_BOOTSTRAP's port and the next",
    ),
) -> None:
    """Start the broker on the port of P06_KAFKA_BOOTSTRAP (harmless when it already runs), with the
    pipeline's topics and ACLs ready, as `p06 stack init` leaves a cluster.

    Secured by default: TLS + SASL/SCRAM-SHA-512 on the client listener, ACLs enforced, certificates
    and one password per principal made on first start under DATA_DIR/kafka/secrets."""
    s = settings()
    secured = not plaintext and s.kafka_security_protocol != "PLAINTEXT"
    if cluster.is_cluster(s.data_dir):  # a folder holds one broker or one cluster: start what it holds
        _cluster_up(s, len(cluster.nodes(s.data_dir)) if brokers == 1 else brokers, secured)
        return
    if brokers > 1:
        _cluster_up(s, brokers, secured)
        return
    try:
        with console.status(f"starting Kafka {local_broker.kafka_version()} on 127.0.0.1:{s.kafka_port}"):
            broker = local_broker.up(s.data_dir, s.kafka_port, secured=secured)
            # The README's next command publishes before any worker started: its topic must exist.
            provision(local_broker.local_settings(s.data_dir, base=s), wait_s=60)
    except (local_broker.StackError, RuntimeError, KafkaError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(broker.describe())
    console.print(f"topics ready: {s.events_topic}, {s.dlq_topic} and one ingestion topic per province")
    _client_help(s, broker)
    console.print(f"log: {broker.folder / 'kafka.log'}")


def _cluster_up(s: Settings, brokers: int, secured: bool) -> None:
    try:
        with console.status(f"starting a {brokers}-node Kafka {local_broker.kafka_version()} cluster"):
            cluster.up(s.data_dir, s.kafka_port, brokers, secured=secured)
            provision(local_broker.local_settings(s.data_dir, base=s), wait_s=60)
    except (local_broker.StackError, RuntimeError, KafkaError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    _print_cluster(s)
    console.print(f"topics ready: {s.events_topic}, {s.dlq_topic} and one ingestion topic per province")
    _client_help(s, _cluster_as_broker(s))
    console.print(f"logs: {cluster.folder_of(s.data_dir)}/node-N/kafka.log")


def _cluster_as_broker(s: Settings) -> local_broker.BrokerStatus:
    """The cluster in the shape the clients' help takes: its folder and its bootstrap."""
    first = cluster.nodes(s.data_dir)[0]
    return local_broker.BrokerStatus(True, first.port, first.pid, cluster.folder_of(s.data_dir))


def _print_cluster(s: Settings) -> bool:
    """Nodes, roles, the active controller, partition leaders per node, the topics' replication;
    whether any node runs."""
    nodes = cluster.nodes(s.data_dir)
    up = [n for n in nodes if n.running]
    local = local_broker.local_settings(s.data_dir, base=s)
    leaders: dict[int, int] = {}
    if up:
        try:
            leaders = cluster.leaders_per_node(local)
        except (KafkaError, RuntimeError) as exc:
            console.print(f"[yellow]partition leaders unknown:[/yellow] {exc}")
    controller = cluster.active_controller(s.data_dir)
    console.print(
        f"Kafka {local_broker.kafka_version()} cluster: {len(up)} of {len(nodes)} nodes up, bootstrap"
        f" {cluster.bootstrap(s.data_dir)}; active controller: {f'node {controller}' if controller else 'none'}"
    )
    for n in nodes:
        state = f"up (pid {n.pid})" if n.running else "down"
        role = "broker, controller" + (" (active)" if n.node_id == controller else "")
        console.print(
            f"  node {n.node_id}: 127.0.0.1:{n.port} (controller port {n.controller_port}) {state}; {role};"
            f" {leaders.get(n.node_id, 0)} partition leaders; log {n.folder / 'kafka.log'}"
        )
    if up:
        try:
            console.print(replication(local, wait_s=0).describe())
            console.print(f"under-replicated partitions: {cluster.under_replicated(local)}")
        except (KafkaError, RuntimeError) as exc:
            console.print(f"[yellow]topic replication unknown:[/yellow] {exc}")
    return bool(up)


@stack_app.command("status")
def stack_status() -> None:
    """Say whether the broker is up, with its port and PID, and how clients connect (exit 1 when down);
    for a cluster: its nodes, their roles, the active controller and partition leaders per node."""
    s = settings()
    if cluster.is_cluster(s.data_dir):
        running = _print_cluster(s)
        raise typer.Exit(0 if running else 1)
    broker = local_broker.status(s.data_dir)
    console.print(broker.describe())
    if broker.running:
        _client_help(s, broker)
        try:
            console.print(replication(local_broker.local_settings(s.data_dir, base=s), wait_s=0).describe())
        except (KafkaError, RuntimeError) as exc:
            console.print(f"[yellow]topic replication unknown:[/yellow] {exc}")
    raise typer.Exit(0 if broker.running else 1)


@stack_app.command("down")
def stack_down(purge: bool = typer.Option(False, "--purge", help="also delete the broker's data and secrets")) -> None:
    """Stop the broker by its PID; its data stays unless --purge."""
    s = settings()
    if cluster.is_cluster(s.data_dir):
        was_up = cluster.down(s.data_dir, purge=purge)
    else:
        was_up = local_broker.down(s.data_dir, purge=purge)
    console.print("Kafka stopped" if was_up else "Kafka was not running", end="")
    console.print(" and its data deleted" if purge else "")


def _running_secured(s: Settings) -> local_broker.BrokerStatus:
    broker = local_broker.status(s.data_dir)
    if not broker.running:
        console.print("[red]error:[/red] the broker is down: start it with `p06 stack up`")
        raise typer.Exit(1)
    if local_broker.protocol(s.data_dir) == "PLAINTEXT":
        console.print("[red]error:[/red] the broker runs PLAINTEXT (no users): restart it with `p06 stack up`")
        raise typer.Exit(1)
    return broker


@stack_app.command("certs")
def stack_certs(
    ca_out: Path | None = typer.Option(
        None, "--ca-out", help="also copy the CA certificate (public) into this folder, for the clients"
    ),
) -> None:
    """Make a CA and the broker's TLS certificate in P06_KAFKA_SECRETS_DIR unless there (compose's kafka-certs job)."""
    s = settings()
    keystore = secrets.broker_keystore(secrets.private_dir(s.kafka_secrets))
    console.print(f"broker keystore (PEM, key + chain): {keystore}")
    if ca_out:
        ca_out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ca_path(s.kafka_secrets), ca_out / "ca.pem")
        console.print(f"CA certificate: {ca_out / 'ca.pem'}")


@stack_app.command("init")
def stack_init() -> None:
    """On a running secured cluster, as P06_KAFKA_USERNAME (a super user): create every principal's SCRAM
    user (password from its file in P06_KAFKA_SECRETS_DIR/users, random when missing), the ACL table and
    the topics. Compose's kafka-init job; `p06 stack up` does the same for the local broker."""
    s = settings()
    made = provision(s)  # waits for the cluster
    console.print(f"{len(made)} SCRAM users created, ACLs granted for {s.events_topic} (app {s.app_id}), topics ready")


@users_app.command("list")
def users_list() -> None:
    """The SCRAM users the broker knows."""
    s = settings()
    broker = _running_secured(s)
    for name in principals.list_users(local_broker.local_settings(s.data_dir)):
        console.print(f"{name}  {password_path(broker.folder / 'secrets', name)}")


@users_app.command("add")
def users_add(name: str = typer.Argument(..., help="user name, e.g. p06-province-01")) -> None:
    """Create a user with a new random password (written to its 0600 file, never printed)."""
    s = settings()
    broker = _running_secured(s)
    try:
        file = principals.add(local_broker.local_settings(s.data_dir), broker.folder / "secrets", name)
    except (ValueError, RuntimeError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"user {name} added; password in {file}")
    console.print("its ACLs: the project's table grants the known principals (stack/acl.py); others get none")


@users_app.command("revoke")
def users_revoke(name: str = typer.Argument(..., help="user name")) -> None:
    """Delete a user's ACLs, SCRAM credential and password file: the next request of a connection it holds,
    and its next connection, are refused."""
    s = settings()
    broker = _running_secured(s)
    try:
        principals.revoke(local_broker.local_settings(s.data_dir), broker.folder / "secrets", name)
    except (ValueError, RuntimeError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(
        f"user {name} revoked (its open connections' next request and new connections refused;"
        f" `p06 stack users add {name}` makes it anew)"
    )


def _node_command(node_id: int, action: str) -> None:
    s = settings()
    if not cluster.is_cluster(s.data_dir):
        console.print("[red]error:[/red] no cluster here: start one with `p06 stack up --brokers 3`")
        raise typer.Exit(1)
    try:
        if action == "start":
            node = cluster.start(s.data_dir, node_id)
            console.print(f"node {node_id} is up at 127.0.0.1:{node.port} (pid {node.pid})")
            return
        was_up = cluster.stop(s.data_dir, node_id, kill=action == "kill")
    except local_broker.StackError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    done = "killed (SIGKILL)" if action == "kill" else "stopped"
    console.print(f"node {node_id} {done}" if was_up else f"node {node_id} was not running")


@node_app.command("stop")
def node_stop(node_id: int = typer.Argument(..., help="node number, 1 to N")) -> None:
    """Stop node N cleanly (SIGTERM: it hands its leaderships over first), as an upgrade does."""
    _node_command(node_id, "stop")


@node_app.command("kill")
def node_kill(node_id: int = typer.Argument(..., help="node number, 1 to N")) -> None:
    """SIGKILL node N, as a crash would."""
    _node_command(node_id, "kill")


@node_app.command("start")
def node_start(node_id: int = typer.Argument(..., help="node number, 1 to N")) -> None:
    """Start node N again and wait until it answers."""
    _node_command(node_id, "start")
