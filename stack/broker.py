"""`p06 stack`: one real Apache Kafka broker (KRaft, single node) on 127.0.0.1, run from Maven's jars.

The version is pinned in the repo's pom.xml; Maven fetches the jars into its cache. Everything the
broker writes (data, its log, its PID) lives under DATA_DIR/kafka, so `down --purge` removes it all.
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

REPO = Path(__file__).resolve().parent.parent
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


def _pid_alive(pid: int) -> bool:
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
    running = pid is not None and _pid_alive(pid) and "kafka.Kafka" in _cmdline(pid)
    return BrokerStatus(running, port, pid if running else None, folder)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _require_tools() -> tuple[str, str]:
    java, mvn = shutil.which("java"), shutil.which("mvn")
    if not java:
        raise StackError("Java 17+ is needed to run Kafka: install it (Debian: apt-get install openjdk-17-jre-headless)")
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


def _write_config(folder: Path, port: int, controller_port: int) -> Path:
    props = folder / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={folder / 'data'}",
                "num.partitions=8",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=8",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                # Hostile senders may push values past the 1 MB default; we want them in the DLQ, not refused.
                "message.max.bytes=5242880",
                "replica.fetch.max.bytes=5242880",
                "log.retention.hours=-1",
            ]
        )
        + "\n"
    )
    (folder / "log4j.properties").write_text(
        "log4j.rootLogger=INFO, file\n"
        "log4j.appender.file=org.apache.log4j.RollingFileAppender\n"
        f"log4j.appender.file.File={folder / 'kafka.log'}\n"
        "log4j.appender.file.MaxFileSize=20MB\n"
        "log4j.appender.file.MaxBackupIndex=2\n"
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        "log4j.logger.kafka=INFO\nlog4j.logger.org.apache.kafka=INFO\nlog4j.logger.state.change.logger=WARN\n"
    )
    return props


def cluster_id() -> str:
    """A random KRaft cluster id, as Kafka makes them: never starting with "-", which the format
    command would take for an option (one id in 64 did, and the broker did not start)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not candidate.startswith("-"):
            return candidate


def up(data_dir: Path, port: int) -> BrokerStatus:
    """Start the broker unless it already runs; return once it answers a metadata request."""
    folder = (data_dir / "kafka").resolve()
    current = status(data_dir)
    if current.running:
        return current
    if port_answers(port):
        raise StackError(
            f"something already listens on 127.0.0.1:{port}; if it is a Kafka cluster, "
            f"P06_KAFKA_BOOTSTRAP=127.0.0.1:{port} is all you need; otherwise choose another port"
        )
    java, mvn = _require_tools()
    cp = classpath(folder, mvn)
    controller_port = free_port()
    props = _write_config(folder, port, controller_port)
    if not (folder / "data" / "meta.properties").exists():
        fmt = subprocess.run(
            [java, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(props)],
            capture_output=True,
            text=True,
        )
        if fmt.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{fmt.stdout}{fmt.stderr}")
    log = open(folder / "kafka.out", "ab")
    proc = subprocess.Popen(
        [
            java, "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{folder / 'log4j.properties'}",
            f"-Dkafka.logs.dir={folder}",
            "-cp", cp, "kafka.Kafka", str(props),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # the broker outlives the command that started it
    )
    (folder / "broker.pid").write_text(str(proc.pid))
    (folder / "broker.port").write_text(str(port))
    _wait_until_ready(proc, port, folder)
    return status(data_dir)


def _wait_until_ready(proc: subprocess.Popen, port: int, folder: Path) -> None:
    from kafka import KafkaAdminClient

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"Kafka exited with status {proc.returncode}; see {folder / 'kafka.log'}")
        if port_answers(port):
            try:
                admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=5000)
                admin.list_topics()
                admin.close()
                return
            except Exception:  # not ready yet: the controller is still electing itself
                pass
        time.sleep(0.3)
    raise StackError(f"Kafka did not answer within {START_TIMEOUT_S}s; see {folder / 'kafka.log'}")


def down(data_dir: Path, purge: bool = False, timeout_s: float = 30) -> bool:
    """Stop the broker by its PID (TERM, then KILL); with purge, delete its data. True if it was up."""
    current = status(data_dir)
    if current.running and current.pid:
        os.killpg(current.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(current.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(current.pid):
            os.killpg(current.pid, signal.SIGKILL)
    (current.folder / "broker.pid").unlink(missing_ok=True)
    if purge:
        shutil.rmtree(current.folder, ignore_errors=True)
    return current.running
