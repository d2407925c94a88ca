"""The event contract: every type, every rule, and a precise error (field + rule) for each kind of bad input."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import orjson
import pytest

from producers.simulate import simulated_events
from schemas import InvalidEvent, encode_batch, parse_event_json, parse_message, validate_event
from schemas.events import EVENT_TYPES, MAX_MESSAGE_BYTES, json_schemas

PROVINCE, WARD, OTHER_PROVINCE_WARD = "01", "00004", "25747"

VALID: dict[str, tuple[str, dict[str, Any]]] = {
    "task.status": (PROVINCE, {"task_id": "T225", "status": "completed"}),
    "village.status": (WARD, {"village_id": "V01", "electricity": True, "internet": False}),
    "security.assessment": (WARD, {"system_id": "dvc-portal", "result": "failed", "open_findings": 4}),
    "eid.activations": (WARD, {"count": 0}),
    "service.dossiers": (PROVINCE, {"received": 10, "online": 10, "on_time": 0}),
}


def event(type_: str, **changes: Any) -> dict[str, Any]:
    locality, payload = VALID[type_]
    body = {
        "event_id": f"e-{type_}",
        "type": type_,
        "locality": locality,
        "occurred_at": "2026-03-01T08:00:00+07:00",
        "payload": copy.deepcopy(payload),
    }
    body.update(changes)
    return body


def with_payload(type_: str, **changes: Any) -> dict[str, Any]:
    body = event(type_)
    body["payload"].update(changes)
    return body


def reason_of(raw: bytes) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse_event_json(raw)
    return str(caught.value)


@pytest.mark.parametrize("type_", sorted(VALID))
def test_each_type_is_accepted_and_round_trips(type_: str) -> None:
    parsed = parse_event_json(orjson.dumps(event(type_)))
    assert parsed.type == type_
    assert parsed.occurred_at == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    assert parsed.occurred_at.utcoffset().total_seconds() == 0  # sent as 08:00+07:00, kept as the same instant in UTC
    assert parse_event_json(parsed.to_json()) == parsed


@pytest.mark.parametrize(
    ("type_", "locality"),
    [("security.assessment", PROVINCE), ("service.dossiers", WARD), ("security.assessment", OTHER_PROVINCE_WARD)],
)
def test_types_for_province_or_ward_take_both_levels(type_: str, locality: str) -> None:
    assert validate_event(event(type_, locality=locality)).locality == locality


@pytest.mark.parametrize(
    ("type_", "locality", "message"),
    [
        ("task.status", WARD, "locality: '00004' is a ward, but task.status is reported by a province"),
        ("village.status", PROVINCE, "locality: '01' is a province, but village.status is reported by a ward"),
        ("eid.activations", PROVINCE, "locality: '01' is a province, but eid.activations is reported by a ward"),
    ],
)
def test_wrong_level_locality_is_rejected(type_: str, locality: str, message: str) -> None:
    assert reason_of(orjson.dumps(event(type_, locality=locality))) == message


FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()
BAD_EVENTS: list[tuple[str, Any, str]] = [
    # (what, the event dict or raw bytes, the expected precise reason)
    ("bad JSON", b'{"event_id": "x", ', "not valid UTF-8 JSON"),
    ("bad UTF-8", b'{"event_id": "\xff"}', "not valid UTF-8 JSON"),
    ("raw NUL byte", b'{"event_id":\x00"x"}', "not valid UTF-8 JSON: unexpected character"),
    ("escaped NUL in event_id", event("eid.activations", event_id="a\u0000b"), "event_id: event_id must be printable"),
    ("not an object", b"[1, 2]", "event: expected a JSON object, got list"),
    ("unknown type", event("eid.activations", type="eid.activation"), "type: unknown event type, expected one of"),
    ("missing type", {k: v for k, v in event("eid.activations").items() if k != "type"}, "type: field required"),
    (
        "unknown locality",
        event("eid.activations", locality="99999"),
        "locality: '99999' is not a province or ward code of the 2025 map",
    ),
    ("malformed locality", event("eid.activations", locality="4"), "locality: String should match pattern"),
    (
        "missing occurred_at",
        {k: v for k, v in event("eid.activations").items() if k != "occurred_at"},
        "occurred_at: Field required",
    ),
    (
        "naive occurred_at",
        event("eid.activations", occurred_at="2026-03-01T08:00:00"),
        "occurred_at: Input should have timezone info",
    ),
    (
        "occurred_at not a time",
        event("eid.activations", occurred_at="yesterday"),
        "occurred_at: Input should be a valid datetime",
    ),
    (
        "occurred_at before 2000",
        event("eid.activations", occurred_at="1999-12-31T00:00:00Z"),
        "occurred_at: occurred_at must not be before 2000-01-01",
    ),
    (
        "occurred_at in the future",
        event("eid.activations", occurred_at=FUTURE),
        "occurred_at: occurred_at is more than a day after it was sent",
    ),
    ("empty event_id", event("eid.activations", event_id=""), "event_id: String should have at least 1 character"),
    (
        "long event_id",
        event("eid.activations", event_id="x" * 65),
        "event_id: String should have at most 64 characters",
    ),
    (
        "negative count",
        with_payload("eid.activations", count=-1),
        "payload.count: Input should be greater than or equal to 0",
    ),
    ("count as text", with_payload("eid.activations", count="5"), "payload.count: Input should be a valid integer"),
    (
        "absurd count",
        with_payload("eid.activations", count=2**63),
        "payload.count: Input should be less than or equal to 1000000000",
    ),
    (
        "negative received",
        with_payload("service.dossiers", received=-1),
        "payload.received: Input should be greater than or equal to 0",
    ),
    (
        "negative open_findings",
        with_payload("security.assessment", open_findings=-2),
        "payload.open_findings: Input should be greater than or equal to 0",
    ),
    ("online > received", with_payload("service.dossiers", online=11), "payload: online must not exceed received"),
    ("on_time > received", with_payload("service.dossiers", on_time=11), "payload: on_time must not exceed received"),
    ("extra envelope field", event("eid.activations", source="x"), "source: Extra inputs are not permitted"),
    ("extra payload field", with_payload("eid.activations", note="x"), "payload.note: Extra inputs are not permitted"),
    (
        "task_id out of range",
        with_payload("task.status", task_id="T226"),
        "payload.task_id: String should match pattern",
    ),
    ("task_id zero", with_payload("task.status", task_id="T000"), "payload.task_id: String should match pattern"),
    (
        "unknown task status",
        with_payload("task.status", status="done"),
        "payload.status: Input should be 'not_started', 'in_progress' or 'completed'",
    ),
    (
        "electricity as text",
        with_payload("village.status", electricity="yes"),
        "payload.electricity: Input should be a valid boolean",
    ),
    (
        "bad village_id",
        with_payload("village.status", village_id="V 1"),
        "payload.village_id: String should match pattern",
    ),
    (
        "missing internet",
        {**event("village.status"), "payload": {"village_id": "V1", "electricity": True}},
        "payload.internet: Field required",
    ),
    (
        "unknown assessment result",
        with_payload("security.assessment", result="ok"),
        "payload.result: Input should be 'passed' or 'failed'",
    ),
    (
        "oversized line",
        b'{"event_id": "' + b"x" * MAX_MESSAGE_BYTES + b'"}',
        f"more than the {MAX_MESSAGE_BYTES} allowed",
    ),
]


@pytest.mark.parametrize(("what", "bad", "reason"), BAD_EVENTS, ids=[b[0] for b in BAD_EVENTS])
def test_each_invalid_input_gets_a_precise_reason(what: str, bad: Any, reason: str) -> None:
    raw = bad if isinstance(bad, bytes) else orjson.dumps(bad)
    assert reason in reason_of(raw)


def test_every_broken_rule_of_an_event_is_reported() -> None:
    body = with_payload("service.dossiers", online=-1, extra=1)
    body["occurred_at"] = "2026-03-01T08:00:00"
    reason = reason_of(orjson.dumps(body))
    for part in (
        "occurred_at: Input should have timezone info",
        "payload.online: Input should be greater",
        "payload.extra: Extra",
    ):
        assert part in reason


def test_a_batch_judges_each_event_on_its_own() -> None:
    good, bad = event("eid.activations"), with_payload("eid.activations", count=-1)
    events, rejections = parse_message(orjson.dumps([good, bad, {**good, "event_id": "e2"}]))
    assert [e.event_id for e in events] == ["e-eid.activations", "e2"]
    assert [(r.index, r.reason) for r in rejections] == [
        (1, "[1] payload.count: Input should be greater than or equal to 0")
    ]


@pytest.mark.parametrize("value", [b"[]", orjson.dumps([event("eid.activations")] * 501), b'"x"'])
def test_a_message_is_an_event_or_a_batch_of_1_to_500(value: bytes) -> None:
    events, rejections = parse_message(value)
    assert events == [] and "batch of 1 to 500" in rejections[0].reason


def test_encode_batch_is_an_object_alone_and_an_array_otherwise() -> None:
    one = validate_event(event("eid.activations"))
    two = validate_event(event("eid.activations", event_id="e2"))
    assert orjson.loads(encode_batch([one]))["event_id"] == "e-eid.activations"
    assert parse_message(encode_batch([one, two])) == ([one, two], [])


def test_the_same_bytes_get_the_same_verdict_whenever_they_are_read() -> None:
    """Time bounds are judged against when the record reached Kafka, not the reader's clock: the
    worker, a sink lagging by days and a replay next year all agree."""
    sent = datetime(2026, 11, 3, 9, 0, tzinfo=UTC).timestamp()
    too_early = orjson.dumps(
        event("eid.activations", occurred_at="2026-11-04T17:00:00+07:00")
    )  # a day and an hour after
    valid, rejected = parse_message(too_early, received_at=sent)
    assert valid == [] and "more than a day after it was sent" in rejected[0].reason
    assert len(parse_message(too_early)[0]) == 1  # by today's clock the same bytes would pass: not used by readers
    within = orjson.dumps(event("eid.activations", occurred_at="2026-11-04T15:00:00+07:00"))  # 23 hours after
    assert len(parse_message(within, received_at=sent)[0]) == 1


def test_the_exported_json_schemas_judge_void_corrections_as_the_contract_does() -> None:
    """A sender in another language checks its events with `p06 schema export`'s files: they must accept
    what the contract accepts (the simulator's events, corrections and void ones among them: no payload,
    a state's with its entity alone) and refuse the void forms it refuses."""
    schemas = {name: jsonschema.Draft202012Validator(schema) for name, schema in json_schemas().items()}
    sent = list(simulated_events(7, 1000, correction_share=0.2))
    assert {e["type"] for e in sent if e.get("void")} == set(EVENT_TYPES)  # each type's void form is among them
    for body in sent:
        validate_event(body)
        schemas[body["type"]].validate(body)
    supersedes = {"event_id": "e0", "occurred_at": "2026-03-01T07:00:00+07:00"}
    for type_ in EVENT_TYPES:
        whole = VALID[type_][1]
        void = {k: v for k, v in event(type_, supersedes=supersedes, void=True).items() if k != "payload"}
        entity = {k: v for k, v in whole.items() if k.endswith("_id")}  # a state's entity field; none for a flow
        forms = [(void | {"payload": whole}, False), (void, not entity)]
        if entity:
            forms += [(void | {"payload": entity}, True), (void | {"payload": {"other_id": "x"}}, False)]
        for body, accepted in forms:
            assert _accepts(validate_event, body) == accepted, (type_, body)
            assert _accepts(schemas[type_].validate, body) == accepted, (type_, body)


def _accepts(check: Any, body: dict[str, Any]) -> bool:
    try:
        check(body)
    except (InvalidEvent, jsonschema.ValidationError):
        return False
    return True
