"""The secured broker refuses what it must, on the real broker: no credentials, a wrong password, a
revoked user, a plaintext client on the TLS listener, and a province writing another's topic or the
events topic; each time nothing reaches the topic. Allowed paths are tried the same way first, so a
refusal is the broker's doing and not a broken test setup.
"""

from __future__ import annotations

import stat
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError, TopicAuthorizationFailedError

from schemas.names import ingestion_topic
from schemas.settings import Settings
from stack import acl, create_topics, principals
from stack.clients import admin_client, all_principals, ca_path, kafka_python_options, password_path

A, B = "01", "04"  # two provinces of the registry
QUICK = dict(max_block_ms=5000, request_timeout_ms=5000, bootstrap_timeout_ms=5000)


@pytest.fixture
def secured(p06_settings: Settings) -> Settings:
    if p06_settings.kafka_security_protocol == "PLAINTEXT":
        pytest.skip("the session's broker runs PLAINTEXT (P06_KAFKA_SECURITY_PROTOCOL)")
    topics = [
        p06_settings.events_topic,
        ingestion_topic(p06_settings.events_topic, A),
        ingestion_topic(p06_settings.events_topic, B),
    ]
    create_topics(p06_settings, topics, 1)
    return p06_settings


def records_in(s: Settings, topic: str) -> int:
    consumer = KafkaConsumer(**kafka_python_options(s, "admin"))
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


def send_one(options: dict, topic: str) -> None:
    """One record, acknowledged or raising: the producer's construction or the send's error."""
    producer = KafkaProducer(**options, acks="all", **QUICK)
    try:
        producer.send(topic, key=b"k", value=b"{}").get(timeout=15)
    finally:
        producer.close(timeout=2)


def failed_authentications(s: Settings) -> int:
    """Lines of the broker's log saying it refused a client's handshake: TLS, SCRAM, or a request
    sent before authenticating."""
    log = s.kafka_secrets.parent / "kafka.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return text.count("Failed authentication with") + text.count("during SASL handshake")


def refused_at_connection(s: Settings, options: dict, topic: str, reason: str) -> None:
    before_log, before = failed_authentications(s), records_in(s, topic)
    with pytest.raises(KafkaTimeoutError):  # kafka-python 3 reports a closed handshake as "unable to bootstrap"
        send_one(options, topic)
    assert records_in(s, topic) == before  # nothing counted
    if (s.kafka_secrets.parent / "kafka.log").exists():  # the session's own broker: its log says why
        assert failed_authentications(s) > before_log, f"the broker logged no refused handshake ({reason})"


def test_a_province_writes_its_own_topic_and_only_that(secured: Settings) -> None:
    mine, theirs = ingestion_topic(secured.events_topic, A), ingestion_topic(secured.events_topic, B)
    province_a = kafka_python_options(secured, f"province-{A}")
    send_one(province_a, mine)
    assert records_in(secured, mine) == 1
    for topic in (theirs, secured.events_topic):
        with pytest.raises(TopicAuthorizationFailedError):
            send_one(province_a, topic)
        assert records_in(secured, topic) == 0


def test_no_credentials_are_refused(secured: Settings) -> None:
    options = kafka_python_options(secured, "national")
    bare = {
        "bootstrap_servers": options["bootstrap_servers"],
        "security_protocol": "SSL",
        "ssl_context": options["ssl_context"],
    }
    refused_at_connection(secured, bare, secured.events_topic, "TLS without SASL")


def test_a_wrong_password_is_refused(secured: Settings) -> None:
    options = kafka_python_options(secured, "national")
    send_one(options, secured.events_topic)  # the right password passes
    assert records_in(secured, secured.events_topic) == 1
    refused_at_connection(
        secured,
        {**options, "sasl_plain_password": options["sasl_plain_password"] + "x"},
        secured.events_topic,
        "wrong password",
    )


def test_a_plaintext_client_on_the_tls_listener_is_refused(secured: Settings) -> None:
    plain = {"bootstrap_servers": secured.kafka_bootstrap.split(",")}
    refused_at_connection(secured, plain, secured.events_topic, "plaintext on TLS")


def test_a_revoked_user_is_refused(secured: Settings) -> None:
    name, topic = f"p06-test-{uuid.uuid4().hex[:8]}", ingestion_topic(secured.events_topic, A)
    file = principals.add(secured, secured.kafka_secrets, name)
    with admin_client(secured) as admin:
        acl.grant(admin, [acl.Rule(name, "topic", topic, False, "WRITE")])
    user = {
        **kafka_python_options(secured, "admin"),
        "sasl_plain_username": name,
        "sasl_plain_password": file.read_text().strip(),
    }
    send_one(user, topic)
    assert records_in(secured, topic) == 1
    principals.revoke(secured, secured.kafka_secrets, name)
    assert not file.exists() and name not in principals.list_users(secured)
    refused_at_connection(secured, user, topic, "revoked user")


def test_a_revoked_user_s_open_connections_can_no_longer_write_or_read(secured: Settings) -> None:
    """Revocation removes the ACLs too: the connections a user already holds are refused at their next request,
    without waiting for a re-authentication the broker never asks of them."""
    name, topic = f"p06-test-{uuid.uuid4().hex[:8]}", ingestion_topic(secured.events_topic, A)
    file = principals.add(secured, secured.kafka_secrets, name)
    with admin_client(secured) as admin:
        acl.grant(admin, [acl.Rule(name, "topic", topic, False, op) for op in ("WRITE", "READ", "DESCRIBE")])
    user = {
        **kafka_python_options(secured, "admin"),
        "sasl_plain_username": name,
        "sasl_plain_password": file.read_text().strip(),
    }
    producer = KafkaProducer(**user, acks="all", **QUICK)
    consumer = KafkaConsumer(**user, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        producer.send(topic, key=b"k", value=b"before").get(timeout=15)
        read: list[bytes] = []
        deadline = time.monotonic() + 15
        while not read and time.monotonic() < deadline:
            read += [r.value for rs in consumer.poll(timeout_ms=500).values() for r in rs]
        assert read == [b"before"]
        written = records_in(secured, topic)

        principals.revoke(secured, secured.kafka_secrets, name)
        revoked_at = time.monotonic()
        with pytest.raises(TopicAuthorizationFailedError):  # the same connection, its next write
            producer.send(topic, key=b"k", value=b"after").get(timeout=15)
        write_refused_s = time.monotonic() - revoked_at
        with pytest.raises(TopicAuthorizationFailedError):  # and its next read
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                consumer.seek_to_beginning()
                consumer.poll(timeout_ms=500)
        print(f"revoked: write refused after {write_refused_s:.2f} s, read after {time.monotonic() - revoked_at:.2f} s")
        assert records_in(secured, topic) == written  # nothing written after the revoke
        with admin_client(secured) as admin:
            assert not [a for a in admin.describe_acls(acl.principal_filter(name))[0] if a.principal == f"User:{name}"]
    finally:
        producer.close(timeout=2)
        consumer.close()


def test_the_secrets_are_for_their_owner_only(secured: Settings) -> None:
    folder = secured.kafka_secrets
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert ca_path(folder) in files and password_path(folder, "p06-worker") in files
    assert {p.name for p in files} >= {f"{n}.password" for n in all_principals()} - set(_revoked(folder))
    for path in [*files, *(p for p in folder.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def _revoked(folder: Path) -> list[str]:
    file = folder / "revoked.txt"
    return [f"{n}.password" for n in file.read_text().split()] if file.exists() else []


def test_no_password_in_what_a_client_shows(secured: Settings) -> None:
    from stack.clients import credentials, describe

    user = credentials(secured, "worker")
    assert user.username == "p06-worker" and len(user.password()) >= 32
    assert user.password() not in repr(user) and user.password() not in describe(secured, "worker")
