"""docker-compose.yml cannot run here: check that what it asks of p06 exists (commands, settings, files)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
import yaml

import p06
from schemas.settings import Settings
from stack.broker import kafka_version

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
KAFKA_NODES = ("kafka-1", "kafka-2", "kafka-3")
OURS = {name: svc for name, svc in COMPOSE["services"].items() if svc.get("build") or svc.get("image") == "p06:latest"}


def test_compose_runs_our_three_services_from_one_dockerfile() -> None:
    assert {"worker", "sink", "gateway"} <= set(OURS)
    assert {svc["build"] for svc in OURS.values()} == {"."}
    assert (REPO / "Dockerfile").exists()
    for node in KAFKA_NODES:
        assert COMPOSE["services"][node]["image"] == f"apache/kafka:{kafka_version()}"  # the version pom.xml pins
    assert COMPOSE["services"]["clickhouse"]["image"].startswith("clickhouse/clickhouse-server")


def test_every_command_a_service_runs_exists_in_the_cli() -> None:
    root = typer.main.get_command(p06.app)
    for name, svc in OURS.items():
        # a shell entrypoint (a one-shot job) runs `p06 ...` commands inside its script
        runs = (
            [svc["command"]]
            if "command" in svc
            else [c.split() for c in re.findall(r"\bp06 ([a-z ]+)", svc["entrypoint"][-1])]
        )
        assert runs, name
        for words in runs:
            command = root
            for word in words:
                if word.startswith("-") or not getattr(command, "commands", None):
                    break
                assert word in command.commands, f"service {name}: `p06 {' '.join(words)}` is not a p06 command"
                command = command.commands[word]


def test_every_p06_variable_is_a_setting() -> None:
    fields = set(Settings.model_fields)
    for name, svc in OURS.items():
        env = svc.get("environment", {})
        port = 9094 if name == "kafka-init" else 9092
        assert env.get("P06_KAFKA_BOOTSTRAP") == ",".join(f"{node}:{port}" for node in KAFKA_NODES), name
        for variable, value in env.items():
            if name == "kafka-init" and variable.startswith("INIT_PASSWORD_"):
                continue  # the services' passwords, which its script writes to files for `p06 stack init`
            assert variable.startswith("P06_"), f"{name}: {variable} is not a p06 setting"
            assert variable.removeprefix("P06_").lower() in fields, f"{name}: {variable} is not in Settings"
            Settings(**{variable.removeprefix("P06_").lower(): _interpolated(value)})  # and its value is valid


def _interpolated(value: str) -> str:
    """A compose value with each ${VAR:?message} as a placeholder password and ${VAR:-default} as its default."""
    value = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{[A-Z0-9_]+:\?[^}]*\}", "placeholder-secret", value)


def test_clickhouse_users_have_least_privilege_and_no_default_password() -> None:
    """The sink connects as p06_sink, Grafana as p06_reports; only the grant job has the administrator;
    every password is a required variable (${VAR:?...}), none has a default."""
    services = COMPOSE["services"]
    urls = {name: svc["environment"].get("P06_CLICKHOUSE_URL") for name, svc in OURS.items()}
    assert urls["sink"].startswith("http://p06_sink:${P06_CLICKHOUSE_SINK_PASSWORD:?")
    assert urls["warehouse-grant"].startswith("http://p06_admin:${P06_CLICKHOUSE_ADMIN_PASSWORD:?")
    assert {n for n, u in urls.items() if u} == {"sink", "warehouse-grant"}  # the worker and gateway need no warehouse
    assert OURS["warehouse-grant"]["command"] == ["warehouse", "grant"]
    assert services["sink"]["depends_on"]["warehouse-grant"]["condition"] == "service_completed_successfully"
    text = (REPO / "docker-compose.yml").read_text()
    for secret in re.findall(r"\$\{([A-Z0-9_]*PASSWORD[A-Z0-9_]*)([^}]*)\}", text):
        assert secret[1].startswith(":?"), f"{secret[0]} has a default or may be empty"
    datasource = yaml.safe_load((REPO / "sinks/grafana/provisioning/datasources/clickhouse.yaml").read_text())
    assert datasource["datasources"][0]["jsonData"]["username"] == "p06_reports"


def test_services_have_health_checks_and_named_volumes() -> None:
    named = set(COMPOSE["volumes"])
    for name, svc in COMPOSE["services"].items():
        assert "healthcheck" in svc, name
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name}: {source} is missing"
            else:
                assert source in named, f"{name}: {source} is not a named volume"


def test_grafana_dashboard_reads_the_tables_the_migrations_create() -> None:
    sql = "\n".join(
        (REPO / "sinks" / "warehouse" / "sql").joinpath(f).read_text()
        for f in sorted(p.name for p in (REPO / "sinks" / "warehouse" / "sql").glob("*.sql"))
    )
    dashboard = json.loads((REPO / "sinks/grafana/dashboards/national.json").read_text())
    datasource = yaml.safe_load((REPO / "sinks/grafana/provisioning/datasources/clickhouse.yaml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid
        for target in panel["targets"]:
            tables = [w.split(".")[1] for w in target["rawSql"].split() if w.startswith("p06.")]
            assert tables and all(f"p06.{t}" in sql for t in tables), panel["title"]


KAFKA_CLIENTS = {"worker": "p06-worker", "sink": "p06-sink", "gateway": "p06-gateway", "admission": "p06-admission"}


def test_kafka_runs_tls_scram_and_acls_with_no_default_password() -> None:
    """The broker: SASL_SSL for clients, StandardAuthorizer, nothing allowed unless granted; each of our
    services connects over TLS + SCRAM as its own principal, with a required password variable."""
    services = COMPOSE["services"]
    kafka = services["kafka-1"]["environment"]
    protocols = dict(pair.split(":") for pair in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert protocols["SASL_SSL"] == "SASL_SSL" and protocols["INTERNAL"] == "SASL_SSL"
    assert (
        "PLAINTEXT" not in protocols.values()
    )  # the controller's own listener is SASL_PLAINTEXT, inside the container
    assert kafka["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert kafka["KAFKA_SSL_KEYSTORE_TYPE"] == "PEM"
    for jaas in (
        kafka["KAFKA_LISTENER_NAME_INTERNAL_PLAIN_SASL_JAAS_CONFIG"],
        kafka["KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG"],
    ):
        assert re.findall(r'password="([^"]*)"', jaas) and all(
            p.startswith("${P06_KAFKA_") and ":?" in p for p in re.findall(r'="(\$\{[^"]*)"', jaas)
        )
    for name, principal in KAFKA_CLIENTS.items():
        env = OURS[name]["environment"]
        assert (
            env["P06_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["P06_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        ), name
        assert env["P06_KAFKA_USERNAME"] == principal, name
        assert re.fullmatch(r"\$\{P06_KAFKA_[A-Z]+_PASSWORD:\?[^}]+\}", env["P06_KAFKA_PASSWORD"]), name
        assert "kafka-ca:/kafka-ca:ro" in OURS[name]["volumes"] and env["P06_KAFKA_SSL_CAFILE"] == "/kafka-ca/ca.pem", (
            name
        )
        assert (
            OURS[name].get("depends_on", COMPOSE["x-p06"]["depends_on"])["kafka-init"]["condition"]
            == "service_completed_successfully"
        ), name
    assert OURS["kafka-init"]["entrypoint"][-1].rstrip().endswith("exec p06 stack init")
    assert OURS["kafka-certs"]["command"][:2] == ["stack", "certs"]
    for node in KAFKA_NODES:
        assert services[node]["depends_on"]["kafka-certs"]["condition"] == "service_completed_successfully"
        assert OURS["kafka-init"]["depends_on"][node]["condition"] == "service_healthy"


def test_kafka_is_a_cluster_of_three_nodes_replicating_every_topic_three_times() -> None:
    """Three nodes, each broker and controller, one quorum of the three; alike but for their id, name and
    data; every topic (the internal ones too) on three replicas, two in sync before a write is acknowledged."""
    services = COMPOSE["services"]
    envs = [services[node]["environment"] for node in KAFKA_NODES]
    voters = "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
    for number, (node, env) in enumerate(zip(KAFKA_NODES, envs, strict=True), start=1):
        assert env["KAFKA_NODE_ID"] == number and env["KAFKA_PROCESS_ROLES"] == "broker,controller", node
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters, node
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"SASL_SSL://{node}:9092,INTERNAL://{node}:9094", node
        assert f"{node}-data:/var/lib/kafka/data" in services[node]["volumes"], node
        assert "healthcheck" in services[node], node
        mine = {"KAFKA_NODE_ID", "KAFKA_ADVERTISED_LISTENERS"}
        assert {k: v for k, v in env.items() if k not in mine} == {k: v for k, v in envs[0].items() if k not in mine}
    env = envs[0]
    assert env["CLUSTER_ID"]  # one storage id for the three
    for setting in ("DEFAULT", "OFFSETS_TOPIC", "TRANSACTION_STATE_LOG"):
        assert env[f"KAFKA_{setting}_REPLICATION_FACTOR"] == 3, setting
    assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2 and env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == 2
    assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    from stack.secrets import BROKER_HOSTS

    assert set(KAFKA_NODES) <= set(BROKER_HOSTS)  # the certificate kafka-certs makes names every node


PROMETHEUS = yaml.safe_load((REPO / "ops/prometheus/prometheus.yml").read_text())
ALERTMANAGER = yaml.safe_load((REPO / "ops/alertmanager/alertmanager.yml").read_text())


def _mounted(service: str, folder: str) -> str:
    """Where the service sees a repository folder (read-only)."""
    for volume in COMPOSE["services"][service]["volumes"]:
        source, target, mode = volume.split(":")
        if source == f"./{folder}":
            assert mode == "ro", volume
            return target
    raise AssertionError(f"{service} does not mount ./{folder}")


def test_prometheus_loads_the_repository_rules_and_sends_to_alertmanager() -> None:
    services = COMPOSE["services"]
    inside = _mounted("prometheus", "ops/prometheus")
    start = services["prometheus"]["entrypoint"][-1]
    assert f"--config.file={inside}/prometheus.yml" in start
    assert PROMETHEUS["rule_files"] == ["rules.yml"]  # beside the config: the mounted ops/prometheus/rules.yml
    assert (REPO / "ops/prometheus/rules.yml").exists()
    am_inside = _mounted("alertmanager", "ops/alertmanager")
    assert f"--config.file={am_inside}/alertmanager.yml" in services["alertmanager"]["command"]
    targets = [t for am in PROMETHEUS["alerting"]["alertmanagers"] for s in am["static_configs"] for t in s["targets"]]
    assert targets == ["alertmanager:9093"]
    for name in ("prometheus", "alertmanager"):  # no login of their own: the host's loopback only
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"]), name


def test_prometheus_scrapes_our_services_as_the_monitor_account_accounts_init_makes() -> None:
    """Each scrape target is a compose service listening there for other containers, scraped with
    the monitor account `prometheus`, whose password is the one accounts-init gave it."""
    services = COMPOSE["services"]
    fields = Settings.model_fields
    ports = {name: fields[f].default for name, f in (("worker", "worker_web_port"), ("sink", "sink_api_port"))}
    ports["admission"] = fields["admission_metrics_port"].default
    hosts = {"worker": "P06_WORKER_WEB_HOST", "sink": "P06_SINK_API_HOST", "admission": "P06_ADMISSION_METRICS_HOST"}
    jobs = {job["job_name"]: job for job in PROMETHEUS["scrape_configs"]}
    assert set(jobs) == {"p06-worker", "p06-sink", "p06-admission"}  # P06ProcessDown watches up{job=~"p06-.*"}
    init = OURS["accounts-init"]
    assert "p06 users add prometheus --role monitor" in init["entrypoint"][-1]
    secret = init["environment"]["P06_MONITOR_PASSWORD"]
    assert secret.startswith("${P06_PROMETHEUS_PASSWORD:?")
    prometheus = services["prometheus"]
    assert prometheus["environment"]["MONITOR_PASSWORD"].startswith("${P06_PROMETHEUS_PASSWORD:?")
    assert prometheus["depends_on"]["accounts-init"]["condition"] == "service_completed_successfully"
    for job_name, job in jobs.items():
        (target,) = [t for s in job["static_configs"] for t in s["targets"]]
        host, port = target.split(":")
        assert host in services and job_name == f"p06-{host}", target
        assert int(port) == ports[host], target
        assert services[host]["environment"][hosts[host]] == "0.0.0.0", f"{host} listens on its loopback only"
        assert job["basic_auth"]["username"] == "prometheus"
        assert "accounts:/accounts" in services[host]["volumes"], f"{host} cannot see the monitor account"
        assert f"> {job['basic_auth']['password_file']}" in prometheus["entrypoint"][-1]  # written at start


def test_alertmanager_routes_to_receivers_it_defines() -> None:
    defined = {r["name"] for r in ALERTMANAGER["receivers"]}
    routes = [ALERTMANAGER["route"], *ALERTMANAGER["route"].get("routes", [])]
    assert {r["receiver"] for r in routes if "receiver" in r} <= defined


def test_the_configs_and_the_readme_receiver_pass_the_tools_own_checks(tmp_path: Path) -> None:
    """promtool and amtool (Debian's packages, .ci/install-prometheus) on the shipped configs, and on the
    shipped Alertmanager config with the README's webhook and e-mail receiver in place of `operations`."""
    tools = [shutil.which(t) for t in ("promtool", "amtool")]
    if not all(tools):
        pytest.skip("promtool/amtool not installed: `bash .ci/install-prometheus` (CI runs it)")
    readme = (REPO / "README.md").read_text()
    example = yaml.safe_load(readme.split("**Attach a receiver.**")[1].split("```yaml")[1].split("```")[0])
    attached = tmp_path / "alertmanager.yml"
    attached.write_text(yaml.safe_dump({**ALERTMANAGER, **example}))
    assert {"webhook_configs", "email_configs"} <= set(example["receivers"][0])
    for argv in (
        ["promtool", "check", "config", str(REPO / "ops/prometheus/prometheus.yml")],
        ["amtool", "check-config", str(REPO / "ops/alertmanager/alertmanager.yml")],
        ["amtool", "check-config", str(attached)],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
