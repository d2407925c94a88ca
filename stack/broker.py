"""`p06 stack`: one real Apache Kafka broker (KRaft, single node) on 127.0.0.1, run from Maven's jars.

The version is pinned in the repo's pom.xml; Maven fetches the jars into its cache. Everything the
broker writes (data, its log, its PID, its secrets) lives under DATA_DIR/kafka, so `down --purge`
removes it all. Its client listener is SASL_SSL (SCRAM-SHA-512) with the StandardAuthorizer, unless
started PLAINTEXT for the benchmark's comparison (docs/security.md).
"""

from __future__ import annotations

import base64
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from schemas.names import MAX_VALUE_BYTES
from schemas.settings import Settings
from stack.clients import ADMIN, admin_client, all_principals, ca_path

from . import principals, secrets

REPO = Path(__file__).resolve().parent.parent
CONTROLLER_USER = "p06-controller"  # the controller listener's own PLAIN user (super user)
POM = REPO / "pom.xml"
START_TIMEOUT_S = 90


class StackError(RuntimeError):
    """Something the operator must fix; the message says what."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    port: int | None
    pid: int | None
    folder: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def describe(self) -> str:
        if not self.running:
            return f"Kafka is down (data in {self.folder})"
        return f"Kafka {kafka_version()} is up at {self.bootstrap} (pid {self.pid}, data {self.folder})"


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    return match.group(1) if match else "?"


_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port free now, outside the kernel's ephemeral range.

    A port from bind(0) comes from the ephemeral range, which outgoing connections (Kafka clients)
    also draw from: one of them can take it before our server binds it. Ports below that range are
    never used for outgoing connections, so a port picked there stays free until someone listens.
    """
    low = _ephemeral_low()
    candidates = list(range(max(1024, low - 12_000), low)) if low > 2048 else []
    random.shuffle(candidates)
    for port in candidates:
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); it is not a running broker.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def status(data_dir: Path) -> BrokerStatus:
    folder = data_dir / "kafka"
    pid_file, port_file = folder / "broker.pid", folder / "broker.port"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    port = int(port_file.read_text()) if port_file.exists() else None
    running = pid is not None and pid_running_kafka(pid)
    return BrokerStatus(running, port, pid if running else None, folder)


def pid_running_kafka(pid: int) -> bool:
    """Whether this PID is alive and a Kafka JVM (not a PID the system has since given another program)."""
    return pid_alive(pid) and "kafka.Kafka" in _cmdline(pid)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def require_tools() -> tuple[str, str]:
    java, mvn = shutil.which("java"), shutil.which("mvn")
    if not java:
        raise StackError(
            "Java 17+ is needed to run Kafka: install it (Debian: apt-get install openjdk-17-jre-headless)"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    major = re.search(r'version "(\d+)', out)
    if not major or int(major.group(1)) < 17:
        raise StackError(f"Java 17+ is needed to run Kafka, found: {out.splitlines()[0] if out else '?'}")
    if not mvn:
        raise StackError("Maven is needed to fetch the Kafka jars: install it (Debian: apt-get install maven)")
    return java, mvn


def classpath(folder: Path, mvn: str) -> str:
    """The broker's classpath, resolved by Maven from pom.xml (fetching the jars on first use)."""
    cp_file = folder / "classpath.txt"
    if cp_file.exists() and cp_file.stat().st_mtime >= POM.stat().st_mtime:
        cp = cp_file.read_text().strip()
        if all(Path(jar).exists() for jar in cp.split(os.pathsep)):
            return cp
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:build-classpath", f"-Dmdep.outputFile={cp_file}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise StackError(f"Maven could not fetch the Kafka jars (is Maven Central reachable?):\n{tail}")
    return cp_file.read_text().strip()


@dataclass(frozen=True)
class Node:
    """One KRaft node's place in its quorum: its id and the controller voters ("1@127.0.0.1:PORT,...")."""

    node_id: int
    voters: str
    replicas: int = 1  # the internal topics' replication factor: the cluster's size, up to three


def write_config(
    folder: Path,
    port: int,
    controller_port: int,
    secured: bool,
    node: Node | None = None,
    secrets_dir: Path | None = None,
) -> Path:
    """server.properties (0600: it holds the broker's own passwords) and log4j2.properties."""
    node = node or Node(1, f"1@127.0.0.1:{controller_port}")
    props = folder / "server.properties"
    listener = "SASL_SSL" if secured else "PLAINTEXT"
    min_isr = 2 if node.replicas >= 3 else 1
    lines = [
        "process.roles=broker,controller",
        f"node.id={node.node_id}",
        f"controller.quorum.voters={node.voters}",
        f"listeners={listener}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners={listener}://127.0.0.1:{port}",
        f"inter.broker.listener.name={listener}",
        "controller.listener.names=CONTROLLER",
        f"log.dirs={folder / 'data'}",
        "num.partitions=8",
        f"default.replication.factor={node.replicas}",
        f"min.insync.replicas={min_isr}",
        "unclean.leader.election.enable=false",  # an out-of-sync replica never leads: it would lose acked records
        f"offsets.topic.replication.factor={node.replicas}",
        "offsets.topic.num.partitions=8",
        f"transaction.state.log.replication.factor={node.replicas}",
        f"transaction.state.log.min.isr={min_isr}",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=true",
        # Hostile senders may push values past the 1 MB default; we want them in the DLQ, not refused.
        f"message.max.bytes={MAX_VALUE_BYTES}",
        f"replica.fetch.max.bytes={MAX_VALUE_BYTES}",
        "log.retention.hours=-1",
    ]
    if node.replicas > 1:  # three JVMs share two cores: fewer threads each
        lines += ["num.network.threads=2", "num.io.threads=2", "background.threads=2", "log.cleaner.threads=1"]
    lines += (
        _security_config(secrets_dir or folder / "secrets")
        if secured
        else [
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        ]
    )
    secrets.write_private(props, ("\n".join(lines) + "\n").encode())
    _write_log4j(folder)
    return props


def _write_log4j(folder: Path) -> None:
    (folder / "log4j2.properties").write_text(
        "status=warn\n"
        "appender.file.type=RollingFile\n"
        "appender.file.name=file\n"
        f"appender.file.fileName={folder / 'kafka.log'}\n"
        f"appender.file.filePattern={folder / 'kafka.log'}.%i\n"
        "appender.file.layout.type=PatternLayout\n"
        "appender.file.layout.pattern=[%d] %p %m (%c)%n\n"
        "appender.file.policies.type=Policies\n"
        "appender.file.policies.size.type=SizeBasedTriggeringPolicy\n"
        "appender.file.policies.size.size=20MB\n"
        "appender.file.strategy.type=DefaultRolloverStrategy\n"
        "appender.file.strategy.max=2\n"
        "rootLogger.level=INFO\n"
        "rootLogger.appenderRef.file.ref=file\n"
        "logger.statechange.name=state.change.logger\n"
        "logger.statechange.level=WARN\n"
    )


def _security_config(secrets_dir: Path) -> list[str]:
    """TLS + SCRAM-SHA-512 for clients and the broker itself, PLAIN for the controller (KRaft cannot
    check SCRAM there: the credentials live in the metadata it serves), StandardAuthorizer, deny by default."""
    admin = secrets.ensure_password(secrets_dir, ADMIN)
    controller = secrets.controller_password(secrets_dir)
    keystore = secrets.broker_keystore(secrets_dir)
    plain = (
        'org.apache.kafka.common.security.plain.PlainLoginModule required '
        f'username="{CONTROLLER_USER}" password="{controller}" user_{CONTROLLER_USER}="{controller}";'
    )
    return [
        "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol=PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        f"listener.name.controller.plain.sasl.jaas.config={plain}",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
        f'required username="{ADMIN}" password="{admin}";',
        "ssl.keystore.type=PEM",
        f"ssl.keystore.location={keystore}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={ca_path(secrets_dir)}",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        f"super.users=User:{ADMIN};User:{CONTROLLER_USER}",
    ]


def format_storage(
    java: str, cp: str, props: Path, secrets_dir: Path, secured: bool, cluster: str | None = None
) -> None:
    """Format the KRaft storage; secured, with p06-admin's SCRAM credential in the first metadata.

    The arguments go through a 0600 java @argfile deleted right after, so the password never shows
    in a process list."""
    args = ["-cp", cp, "kafka.tools.StorageTool", "format", "-t", cluster or cluster_id(), "-c", str(props)]
    if secured:
        password = secrets.ensure_password(secrets_dir, ADMIN)
        args += ["--add-scram", f"SCRAM-SHA-512=[name={ADMIN},password={password}]"]
    argfile = secrets_dir / f"format-{props.parent.name}.args"
    secrets.write_private(argfile, "\n".join(f'"{a}"' for a in args).encode())
    try:
        fmt = subprocess.run([java, f"@{argfile}"], capture_output=True, text=True)
    finally:
        argfile.unlink(missing_ok=True)
    if fmt.returncode != 0:
        raise StackError(f"formatting Kafka storage failed:\n{fmt.stdout}{fmt.stderr}")


def cluster_id() -> str:
    """A random KRaft cluster id, as Kafka makes them: never starting with "-", which the format
    command would take for an option (one id in 64 did, and the broker did not start)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not candidate.startswith("-"):
            return candidate


def up(data_dir: Path, port: int, secured: bool = True) -> BrokerStatus:
    """Start the broker unless it already runs; return once it answers a metadata request.

    Secured (the default): TLS + SCRAM on the client listener, ACLs enforced, every principal's
    SCRAM user created (its password in DATA_DIR/kafka/secrets/users). Otherwise one PLAINTEXT
    listener, open to all (the benchmark's comparison)."""
    folder = (data_dir / "kafka").resolve()
    current = status(data_dir)
    if current.running:
        return current
    if port_answers(port):
        raise StackError(
            f"something already listens on 127.0.0.1:{port}; if it is a Kafka cluster, "
            f"P06_KAFKA_BOOTSTRAP=127.0.0.1:{port} is all you need; otherwise choose another port"
        )
    java, mvn = require_tools()
    cp = classpath(folder, mvn)
    controller_port = free_port()
    secrets.private_dir(folder / "secrets")
    props = write_config(folder, port, controller_port, secured)
    if not (folder / "data" / "meta.properties").exists():
        format_storage(java, cp, props, folder / "secrets", secured)
    proc = launch(java, cp, folder, props, ("-Xms256m", "-Xmx1g"))
    (folder / "broker.port").write_text(str(port))
    (folder / "broker.protocol").write_text("SASL_SSL" if secured else "PLAINTEXT")
    wait_until_ready(proc, port, folder, local_settings(data_dir))
    if secured:
        principals.ensure_users(local_settings(data_dir), folder / "secrets", all_principals())
    return status(data_dir)


def launch(java: str, cp: str, folder: Path, props: Path, heap: tuple[str, ...]) -> subprocess.Popen:
    """The node's JVM, in a session of its own (it outlives the command that started it); its PID in broker.pid."""
    log = open(folder / "kafka.out", "ab")
    proc = subprocess.Popen(
        [
            java,
            *heap,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={folder}",
            "-cp",
            cp,
            "kafka.Kafka",
            str(props),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    (folder / "broker.pid").write_text(str(proc.pid))
    return proc


def local_settings(data_dir: Path, base: Settings | None = None) -> Settings:
    """Settings that reach the local broker as it runs (its port, protocol and secrets), whatever the
    environment names; topic names and the rest come from base (defaults when None)."""
    folder = data_dir / "kafka"
    bootstrap = folder / "bootstrap"  # a cluster's nodes (stack.cluster)
    port_file = folder / "broker.port"
    servers = bootstrap.read_text().strip() if bootstrap.exists() else f"127.0.0.1:{port_file.read_text().strip()}"
    return (base or Settings.model_construct()).model_copy(
        update={
            "data_dir": data_dir,
            "kafka_bootstrap": servers,
            "kafka_security_protocol": protocol(data_dir),
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_username": "",  # each role as its own principal: admin work as p06-admin
            "kafka_password": None,
            "kafka_password_file": None,
            "kafka_ssl_cafile": None,
            "kafka_secrets_dir": (folder / "secrets").resolve(),
        }
    )


def protocol(data_dir: Path) -> str:
    """How the local broker's client listener was last started: SASL_SSL or PLAINTEXT."""
    file = data_dir / "kafka" / "broker.protocol"
    return file.read_text().strip() if file.exists() else "SASL_SSL"


def wait_until_ready(
    proc: subprocess.Popen, port: int, folder: Path, local: Settings, timeout_s: float = START_TIMEOUT_S
) -> None:
    """Until the node on this port answers an admin request (its quorum has a leader)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"Kafka exited with status {proc.returncode}; see {folder / 'kafka.log'}")
        if port_answers(port):
            try:
                with admin_client(local, timeout_ms=5000) as admin:
                    admin.list_topics()
                return
            except Exception:  # not ready yet: the controller is still electing itself
                pass
        time.sleep(0.3)
    raise StackError(f"Kafka did not answer within {timeout_s:.0f}s; see {folder / 'kafka.log'}")


def down(data_dir: Path, purge: bool = False, timeout_s: float = 30) -> bool:
    """Stop the broker by its PID (TERM, then KILL); with purge, delete its data. True if it was up."""
    current = status(data_dir)
    if current.running and current.pid:
        os.killpg(current.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while pid_alive(current.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(current.pid):
            os.killpg(current.pid, signal.SIGKILL)
    (current.folder / "broker.pid").unlink(missing_ok=True)
    if purge:
        shutil.rmtree(current.folder, ignore_errors=True)
    return current.running
