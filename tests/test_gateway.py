"""The HTTP gateway on a real broker: 202/401/403/413/422, the province boundary, what reaches the topic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from kit.producers_support import topic_events
from starlette.testclient import TestClient

from producers.gateway import MAX_REQUEST_BYTES, create_app
from producers.tokens import token_store
from schemas.names import ingestion_topic
from schemas.settings import Settings
from stack import ensure_ingestion_topics, ensure_topics
from stack.processes import P06Process

HANOI, HANOI_WARD, HCMC_WARD = "01", "00004", "25747"


def eid(event_id: str, locality: str = HANOI_WARD, count: int = 3) -> dict:
    return {
        "event_id": event_id,
        "type": "eid.activations",
        "locality": locality,
        "occurred_at": "2026-05-01T09:00:00+07:00",
        "payload": {"count": count},
    }


def dossiers(event_id: str, locality: str = HANOI) -> dict:
    return {
        "event_id": event_id,
        "type": "service.dossiers",
        "locality": locality,
        "occurred_at": "2026-05-01T09:00:00+07:00",
        "payload": {"received": 5, "online": 2, "on_time": 5},
    }


@pytest.fixture
def topics(p06_settings: Settings) -> Settings:
    ensure_topics(p06_settings)
    ensure_ingestion_topics(p06_settings)
    return p06_settings


@pytest.fixture
def client(topics: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(topics)) as test_client:
        yield test_client


@pytest.fixture
def hanoi(topics: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_store(topics.data_dir).add(HANOI, 'hanoi')[1]}"}


@pytest.fixture
def national(topics: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_store(topics.data_dir).add('national', 'ministry')[1]}"}


def ids_on_topic(settings: Settings) -> list[str]:
    """What reached Kafka: the events topic (national tokens) and Hanoi's ingestion topic (its token)."""
    return sorted(
        e["event_id"]
        for e in topic_events(settings) + topic_events(settings, ingestion_topic(settings.events_topic, HANOI))
    )


def ids_on(settings: Settings, topic: str) -> list[str]:
    return sorted(e["event_id"] for e in topic_events(settings, topic))


def test_one_event_an_array_and_ndjson_are_accepted(client: TestClient, hanoi: dict, topics: Settings) -> None:
    one = client.post("/v1/events", json=eid("a1"), headers=hanoi)
    assert one.status_code == 202
    assert one.json()["results"] == [{"index": 0, "event_id": "a1", "status": "accepted"}]
    array = client.post("/v1/events", json=[eid("a2"), dossiers("a3")], headers=hanoi)
    assert array.status_code == 202 and array.json()["accepted"] == 2
    ndjson = b"\n".join(orjson.dumps(e) for e in (eid("a4"), eid("a5", count=0))) + b"\n"
    lines = client.post("/v1/events", content=ndjson, headers={**hanoi, "Content-Type": "application/x-ndjson"})
    assert lines.status_code == 202
    assert [r["event_id"] for r in lines.json()["results"]] == ["a4", "a5"]
    assert ids_on_topic(topics) == ["a1", "a2", "a3", "a4", "a5"]


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer p06_not-a-token", "Basic dXNlcjpwYXNz"])
def test_without_a_valid_token_401(client: TestClient, topics: Settings, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = client.post("/v1/events", json=eid("x"), headers=headers)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert ids_on_topic(topics) == []


def test_a_revoked_token_is_refused_at_once(client: TestClient, topics: Settings) -> None:
    store = token_store(topics.data_dir)
    token, secret = store.add(HANOI, "to revoke")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.post("/v1/events", json=eid("r1"), headers=headers).status_code == 202
    assert store.revoke(token.id)
    assert client.post("/v1/events", json=eid("r2"), headers=headers).status_code == 401
    assert secret not in (topics.data_dir / "gateway-tokens.json").read_text()  # hashes only


def test_invalid_events_422_with_field_and_rule_and_nothing_published(
    client: TestClient, hanoi: dict, topics: Settings
) -> None:
    bad_count, naive = eid("b2", count=-1), {**eid("b3"), "occurred_at": "2026-05-01T09:00:00"}
    answer = client.post("/v1/events", json=[eid("b1"), bad_count, naive, dossiers("b4") | {"extra": 1}], headers=hanoi)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"index": 1, "event_id": "b2", "error": "payload.count: Input should be greater than or equal to 0"},
        {"index": 2, "event_id": "b3", "error": "occurred_at: Input should have timezone info"},
        {"index": 3, "event_id": "b4", "error": "extra: Extra inputs are not permitted"},
    ]
    ndjson = orjson.dumps(eid("b5")) + b"\n{not json\n"
    lines = client.post("/v1/events", content=ndjson, headers=hanoi)
    assert lines.status_code == 422
    assert lines.json()["errors"][0]["index"] == 1 and "not valid UTF-8 JSON" in lines.json()["errors"][0]["error"]
    assert client.post("/v1/events", content=b"", headers=hanoi).status_code == 422
    assert client.post("/v1/events", json=[], headers=hanoi).status_code == 422
    assert ids_on_topic(topics) == []


def test_province_token_covers_its_province_and_wards_only(
    client: TestClient, hanoi: dict, national: dict, topics: Settings
) -> None:
    assert client.post("/v1/events", json=[dossiers("p1"), eid("p2", HANOI_WARD)], headers=hanoi).status_code == 202
    outside = client.post(
        "/v1/events", json=[eid("p3", HANOI_WARD), eid("p4", HCMC_WARD), dossiers("p5", "79")], headers=hanoi
    )
    assert outside.status_code == 403
    assert [(e["index"], e["event_id"]) for e in outside.json()["errors"]] == [(1, "p4"), (2, "p5")]
    assert "outside province 01" in outside.json()["errors"][0]["error"]
    both = client.post("/v1/events", json=[eid("p6", HCMC_WARD), dossiers("p7", "79"), eid("p8")], headers=national)
    assert both.status_code == 202
    assert ids_on_topic(topics) == ["p1", "p2", "p6", "p7", "p8"]
    # A province token's events go through its ingestion topic, where admission checks them again.
    assert ids_on(topics, ingestion_topic(topics.events_topic, HANOI)) == ["p1", "p2"]
    assert ids_on(topics, topics.events_topic) == ["p6", "p7", "p8"]


def test_request_size_is_bounded(client: TestClient, hanoi: dict, topics: Settings) -> None:
    huge = b"[" + b" " * MAX_REQUEST_BYTES + orjson.dumps(eid("h1")) + b"]"
    assert client.post("/v1/events", content=huge, headers=hanoi).status_code == 413
    assert ids_on_topic(topics) == []


def test_openapi_describes_the_endpoint_and_the_events(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    post = document["paths"]["/v1/events"]["post"]
    assert set(post["responses"]) == {"202", "401", "403", "413", "422", "502"}
    assert {
        "TaskStatusEvent",
        "VillageStatusEvent",
        "SecurityAssessmentEvent",
        "EidActivationsEvent",
        "ServiceDossiersEvent",
        "Event",
    } <= set(document["components"]["schemas"])


def test_p06_gateway_serves_on_loopback(topics: Settings, tmp_path: Path) -> None:
    _, secret = token_store(topics.data_dir).add("national", "cli")
    server = P06Process(["gateway"], tmp_path / "gateway.log")
    url = f"http://127.0.0.1:{topics.gateway_port}/v1/events"
    try:
        answer = None
        for _ in range(100):
            try:
                answer = httpx.post(url, json=eid("s1"), headers={"Authorization": f"Bearer {secret}"}, timeout=30)
                break
            except httpx.ConnectError:
                assert server.alive, server.failure()
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 202, server.tail(40)
    finally:
        server.stop()
    assert ids_on_topic(topics) == ["s1"]
