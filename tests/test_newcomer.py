"""The README's commands in the README's order, as a newcomer runs them, and a broker that says no.

`p06 stack up` on a fresh data folder, then `p06 publish` before any worker started: the events reach
the topic (stack up leaves topics and ACLs ready, as `p06 stack init` does). A refusal by the broker (a
topic the principal may not write) is not an outage: `p06 publish` exits 4 and the gateway answers 502,
both naming the principal and the topic, and the events wait in the spool until the grant comes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from conftest import grant_acls
from kit.producers_support import topic_events
from starlette.testclient import TestClient

from producers import Publisher, simulated_events
from producers.gateway import create_app
from producers.tokens import token_store
from schemas.settings import Settings
from stack import broker as local_broker
from stack import create_topics

REPO = Path(__file__).resolve().parent.parent
EXIT_REFUSED = 4


def p06(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "p06.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def write_events(path: Path, seed: int, count: int) -> set[str]:
    events = list(simulated_events(seed=seed, count=count))
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return {e["event_id"] for e in events}


def newcomer_env(data_dir: Path, port: int) -> dict[str, str]:
    """A shell with only the README's two settings: no topic names, no secrets folder, no user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("P06_")}
    return {**env, "P06_DATA_DIR": str(data_dir), "P06_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_stack_up_then_publish_with_no_worker_reaches_the_topic(tmp_path: Path) -> None:
    data_dir, port = tmp_path / ".p06", local_broker.free_port()
    env = newcomer_env(data_dir, port)
    try:
        up = p06(env, "stack", "up")
        assert up.returncode == 0, up.stdout + up.stderr
        ids = write_events(tmp_path / "events.jsonl", seed=41, count=300)
        published = p06(env, "publish", str(tmp_path / "events.jsonl"))
        assert published.returncode == 0, published.stdout + published.stderr
        assert "accepted 300, rejected 0, spooled 0" in published.stdout
        local = local_broker.local_settings(data_dir)
        assert {e["event_id"] for e in topic_events(local, local.events_topic)} == ids
    finally:
        local_broker.down(data_dir, purge=True)


@pytest.fixture
def ungranted(p06_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test's settings with an events topic no ACL grants (conftest granted the test's own names)."""
    topic = f"{p06_settings.events_topic}.ungranted"
    monkeypatch.setenv("P06_EVENTS_TOPIC", topic)
    monkeypatch.setenv("P06_PUBLISH_TIMEOUT_S", "10")
    return p06_settings.model_copy(update={"events_topic": topic, "publish_timeout_s": 10.0})


def test_a_refused_publish_exits_non_zero_naming_principal_and_topic_and_keeps_the_events(
    ungranted: Settings, tmp_path: Path
) -> None:
    if ungranted.kafka_security_protocol == "PLAINTEXT":
        pytest.skip("a PLAINTEXT broker refuses no one")
    ids = write_events(tmp_path / "events.jsonl", seed=42, count=120)
    refused = p06(dict(os.environ), "publish", str(tmp_path / "events.jsonl"))
    assert refused.returncode == EXIT_REFUSED, refused.stdout + refused.stderr
    assert "p06-national" in refused.stderr and ungranted.events_topic in refused.stderr, refused.stderr
    assert "TopicAuthorizationFailedError" in refused.stderr
    assert "accepted 120, rejected 0, spooled 120" in refused.stdout
    assert Publisher(ungranted).spool.pending_events() == 120

    # Nothing was lost: once granted (and the topic made), --drain delivers every event.
    create_topics(ungranted, [ungranted.events_topic], 2)
    grant_acls(ungranted)
    drained = p06(dict(os.environ), "publish", "--drain")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert {e["event_id"] for e in topic_events(ungranted)} == ids


def test_a_refused_gateway_request_is_a_5xx_naming_principal_and_topic_and_keeps_the_events(
    ungranted: Settings,
) -> None:
    if ungranted.kafka_security_protocol == "PLAINTEXT":
        pytest.skip("a PLAINTEXT broker refuses no one")
    events = list(simulated_events(seed=43, count=40))
    secret = token_store(ungranted.data_dir).add("national", "ministry")[1]
    with TestClient(create_app(ungranted)) as client:
        answer = client.post("/v1/events", json=events, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 502, answer.text
    body = answer.json()
    assert "p06-gateway" in body["error"] and ungranted.events_topic in body["error"], body
    assert (body["accepted"], body["delivered"], body["spooled"]) == (40, 0, 40)
    assert Publisher(ungranted).spool.pending_events() == 40
