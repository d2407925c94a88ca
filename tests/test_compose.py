"""docker-compose.yml cannot run here: check that what it asks of p06 exists (commands, settings, files)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
import yaml

import p06
from schemas.settings import Settings
from stack.broker import kafka_version

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
OURS = {name: svc for name, svc in COMPOSE["services"].items() if svc.get("build") or svc.get("image") == "p06:latest"}


def test_compose_runs_our_three_services_from_one_dockerfile() -> None:
    assert {"worker", "sink", "gateway"} <= set(OURS)
    assert {svc["build"] for svc in OURS.values()} == {"."}
    assert (REPO / "Dockerfile").exists()
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"  # the version pom.xml pins
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
        assert env.get("P06_KAFKA_BOOTSTRAP") == ("kafka:9094" if name == "kafka-init" else "kafka:9092"), name
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
    kafka = services["kafka"]["environment"]
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
    assert services["kafka"]["depends_on"]["kafka-certs"]["condition"] == "service_completed_successfully"
