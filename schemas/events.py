"""The event contract: one envelope, five event types, and how a Kafka message value is judged.

A message value is one event (a JSON object) or a batch (a JSON array of 1 to 500 events of one
locality). Each event of a batch is judged on its own: one invalid event never rejects its neighbours.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from .maps import CURRENT, OLD, MapName, to_current
from .registry import registry

_CODE = re.compile(r"[0-9]{2}|[0-9]{5}")
MAX_BATCH_EVENTS = 500
MAX_MESSAGE_BYTES = 1_000_000  # a full batch of 500 events is ~100 KB; anything near 1 MB is not ours
MAX_COUNT = 1_000_000_000  # no single report counts a billion of anything; 2**63 is an attack, not data
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)  # clocks in the field drift; a report from next year is an error
_EARLIEST_TS, _FUTURE_SLACK_S = EARLIEST.timestamp(), FUTURE_SLACK.total_seconds()  # once, not per event

Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskStatus(_Strict):
    task_id: Annotated[str, Field(pattern=r"^T(00[1-9]|0[1-9][0-9]|1[0-9][0-9]|2[01][0-9]|22[0-5])$")]
    status: Literal["not_started", "in_progress", "completed"]


class VillageStatus(_Strict):
    village_id: Name
    electricity: StrictBool
    internet: StrictBool


class SecurityAssessment(_Strict):
    system_id: Name
    result: Literal["passed", "failed"]
    open_findings: Count


class EidActivations(_Strict):
    count: Count


class ServiceDossiers(_Strict):
    received: Count
    online: Count
    on_time: Count

    @model_validator(mode="after")
    def _within_received(self) -> ServiceDossiers:
        if self.online > self.received:
            raise ValueError("online must not exceed received")
        if self.on_time > self.received:
            raise ValueError("on_time must not exceed received")
        return self


class Supersedes(_Strict):
    """The original event a correction names: its event_id and its exact instant (any zone)."""

    event_id: Annotated[str, Field(min_length=1, max_length=64)]
    occurred_at: AwareDatetime

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)  # the instant is what matches, not the sender's zone


def correction_window() -> timedelta:
    """How far back a correction may name its original (P06_CORRECTION_WINDOW_DAYS)."""
    from .settings import settings

    return timedelta(days=settings().correction_window_days)


SUPERSEDES_DESCRIPTION = (
    "A correction: the original event it corrects (its event_id and exact occurred_at). Of the events naming one"
    " original (and the original), the one with the latest occurred_at counts, in the original's hour and day."
)
VOID_DESCRIPTION = (
    "With supersedes and no payload (a state's: its entity's id alone): the corrected report counts nothing."
)
MAP_DESCRIPTION = (
    "The map the locality code is from: '2025', the current one (the default), or '2024', the one before the"
    " reform of 1 July 2025, whose codes are converted to the 2025 unit they passed into whole. Never guessed"
    " from the code: the 2025 map reuses 2024 codes for other units."
)
LOCALITY_DESCRIPTION = "A province (2 digits) or ward (5 digits) code of the map named by `map`."


class _Envelope(_Strict):
    event_id: Annotated[str, Field(min_length=1, max_length=64)]
    map: MapName = Field(CURRENT, description=MAP_DESCRIPTION)
    # After validation: the 2025 code the event counts under (what keys, partitions and figures use).
    locality: Annotated[str, Field(pattern=r"^([0-9]{2}|[0-9]{5})$", description=LOCALITY_DESCRIPTION)]
    occurred_at: AwareDatetime
    # The code as sent, for an event of the 2024 map (None on the 2025 map): set here, never by senders,
    # and written back as `locality` on the wire, so every reader converts the same bytes alike.
    sent_locality: SkipJsonSchema[str | None] = Field(None, exclude=True)
    supersedes: Supersedes | None = Field(None, description=SUPERSEDES_DESCRIPTION)
    void: StrictBool = Field(False, description=VOID_DESCRIPTION)

    # The locality levels each type may be reported for; set per type.
    levels: ClassVar[frozenset[str]] = frozenset()
    # A void correction's payload as the model holds it: never counted (void events count nothing).
    void_payload: ClassVar[dict[str, Any]] = {}
    # A state's entity field: a void correction of a state names its entity with it, and nothing else.
    entity_field: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _void_counts_nothing(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("void") is not True:
            return data
        if cls.entity_field is None:
            if "payload" in data:
                raise ValueError("payload: a void correction carries no payload (it says the report counts nothing)")
            return {**data, "payload": cls.void_payload}
        payload = data.get("payload")
        if not isinstance(payload, dict) or set(payload) != {cls.entity_field}:
            raise ValueError(
                f"payload: a void correction of a state carries its entity's {cls.entity_field} alone"
                f' ({{"{cls.entity_field}": ...}}): the report then counts nothing'
            )
        return {**data, "payload": cls.void_payload | payload}

    @model_serializer(mode="wrap")
    def _without_void_payload(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        if self.void:  # on the wire as sent: void, no payload (a state's: its entity alone)
            sent = self.payload_as_sent()
            if sent is None:
                dumped.pop("payload", None)
            else:
                dumped["payload"] = sent
        return dumped

    def payload_as_sent(self) -> dict[str, Any] | None:
        """The payload as the sender wrote it: a void correction's is none, or a state's entity alone."""
        payload: dict[str, Any] = self.payload.model_dump(mode="json")  # type: ignore[attr-defined]
        if not self.void:
            return payload
        return {self.entity_field: payload[self.entity_field]} if self.entity_field else None

    @model_validator(mode="after")
    def _correction_rules(self) -> _Envelope:
        named = self.supersedes
        if named is None:
            if self.void:
                raise ValueError("void: only a correction (with supersedes) may be void")
            return self
        if self.occurred_at <= named.occurred_at:
            raise ValueError(
                f"supersedes.occurred_at: a correction must occur later than the event it names"
                f" ({self.occurred_at.isoformat()} is not after {named.occurred_at.isoformat()})"
            )
        if self.occurred_at - named.occurred_at > correction_window():
            raise ValueError(
                f"supersedes.occurred_at: {named.occurred_at.isoformat()} is more than"
                f" {correction_window().days} days (P06_CORRECTION_WINDOW_DAYS) before the correction"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _from_old_map(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "sent_locality" in data:
            raise ValueError(
                "sent_locality: not a field of the contract; send `map` and `locality` as the sender has them"
            )
        code = data.get("locality")
        if data.get("map") != OLD or not isinstance(code, str) or not _CODE.fullmatch(code):
            return data  # the 2025 map, or a value the field rules below refuse with their own reason
        return {**data, "locality": to_current(code), "sent_locality": code}

    @field_serializer("locality")
    def _as_sent(self, value: str) -> str:
        return self.sent_locality or value  # on the wire as sent: every reader converts the same bytes alike

    @property
    def code_as_sent(self) -> str:
        return self.sent_locality or self.locality

    @property
    def named_locality(self) -> str:
        """For messages: the code as sent, and the 2025 code it counts under when sent on the 2024 map."""
        return (
            f"{self.sent_locality!r} (2024 map, counted as {self.locality!r})"
            if self.sent_locality
            else repr(self.locality)
        )

    @property
    def province(self) -> str:
        """The province of the unit the event counts for: whose ingestion topic and token it belongs to."""
        return registry().localities[self.locality].province

    @field_validator("event_id")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("event_id must be printable characters only")
        return value

    @field_validator("locality")
    @classmethod
    def _known_locality(cls, value: str) -> str:
        if value not in registry():
            raise ValueError(
                f"{value!r} is not a province or ward code of the 2025 map (a code of the 2024 map needs map '2024')"
            )
        return value

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime, info: ValidationInfo) -> datetime:
        ts = value.timestamp()
        if ts < _EARLIEST_TS:
            raise ValueError(f"occurred_at must not be before {EARLIEST:%Y-%m-%d}")
        # Judged against when the event reached Kafka when it did (the record's timestamp), so that the
        # worker, the sink and any replay give the same bytes the same verdict; the clock otherwise.
        received = info.context.get("received_at") if info.context else None
        if ts > (received or time.time()) + _FUTURE_SLACK_S:
            raise ValueError("occurred_at is more than a day after it was sent")
        return value.astimezone(UTC)  # the instant is kept, the sender's zone is not needed downstream

    @model_validator(mode="after")
    def _locality_of_right_level(self) -> _Envelope:
        level = registry().localities[self.locality].level
        if level not in self.levels:
            raise ValueError(
                f"locality: {self.code_as_sent!r} is a {level}, but "
                f"{self.type} is reported by a {' or '.join(sorted(self.levels))}"  # type: ignore[attr-defined]
            )
        return self

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_defaults=True))


class TaskStatusEvent(_Envelope):
    type: Literal["task.status"]
    payload: TaskStatus
    levels: ClassVar[frozenset[str]] = frozenset({"province"})
    entity_field: ClassVar[str | None] = "task_id"
    void_payload: ClassVar[dict[str, Any]] = {"status": "not_started"}


class VillageStatusEvent(_Envelope):
    type: Literal["village.status"]
    payload: VillageStatus
    levels: ClassVar[frozenset[str]] = frozenset({"ward"})
    entity_field: ClassVar[str | None] = "village_id"
    void_payload: ClassVar[dict[str, Any]] = {"electricity": True, "internet": True}


class SecurityAssessmentEvent(_Envelope):
    type: Literal["security.assessment"]
    payload: SecurityAssessment
    levels: ClassVar[frozenset[str]] = frozenset({"province", "ward"})
    entity_field: ClassVar[str | None] = "system_id"
    void_payload: ClassVar[dict[str, Any]] = {"result": "passed", "open_findings": 0}


class EidActivationsEvent(_Envelope):
    type: Literal["eid.activations"]
    payload: EidActivations
    levels: ClassVar[frozenset[str]] = frozenset({"ward"})
    void_payload: ClassVar[dict[str, Any]] = {"count": 0}


class ServiceDossiersEvent(_Envelope):
    type: Literal["service.dossiers"]
    payload: ServiceDossiers
    levels: ClassVar[frozenset[str]] = frozenset({"province", "ward"})
    void_payload: ClassVar[dict[str, Any]] = {"received": 0, "online": 0, "on_time": 0}


Event = Annotated[
    TaskStatusEvent | VillageStatusEvent | SecurityAssessmentEvent | EidActivationsEvent | ServiceDossiersEvent,
    Field(discriminator="type"),
]
EVENT_TYPES: dict[str, type[_Envelope]] = {
    "task.status": TaskStatusEvent,
    "village.status": VillageStatusEvent,
    "security.assessment": SecurityAssessmentEvent,
    "eid.activations": EidActivationsEvent,
    "service.dossiers": ServiceDossiersEvent,
}
_EVENT = TypeAdapter(Event)


class InvalidEvent(ValueError):
    """An event that breaks the contract; str() says which field and which rule."""


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int | None  # position in a batch, None when the whole message is unreadable
    reason: str
    raw: bytes  # the original bytes of the message, or of the batch element


def describe(exc: ValidationError) -> str:
    """'payload.count: Input should be greater than or equal to 0' — field first, then the rule."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"] if str(p) not in EVENT_TYPES]
        if err["type"] == "union_tag_invalid":
            parts.append(f"type: unknown event type, expected one of {', '.join(EVENT_TYPES)}")
        elif err["type"] == "union_tag_not_found":
            parts.append("type: field required")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts)


def validate_event(data: Any, received_at: float | None = None) -> Event:
    """One decoded JSON value to an Event, or InvalidEvent with a precise reason.

    received_at: when it reached Kafka (epoch seconds); the time bounds are judged against it."""
    if not isinstance(data, dict):
        raise InvalidEvent(f"event: expected a JSON object, got {type(data).__name__}")
    try:
        return _EVENT.validate_python(data, context={"received_at": received_at} if received_at else None)
    except ValidationError as exc:
        raise InvalidEvent(describe(exc)) from None


def parse_event_json(line: bytes | str) -> Event:
    """One JSON text (a file line, a request body element) to an Event."""
    raw = line.encode() if isinstance(line, str) else line
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidEvent(f"event: {len(raw)} bytes, more than the {MAX_MESSAGE_BYTES} allowed")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not valid UTF-8 JSON: {exc}") from None
    return validate_event(data)


def parse_message(raw: bytes | None, received_at: float | None = None) -> tuple[list[Event], list[Rejection]]:
    """A Kafka message value: one event or a batch. Returns the valid events and the rejections.

    received_at: the record's timestamp (epoch seconds), so every reader judges the same bytes alike."""
    if raw is None:
        return [], [Rejection(None, "message has no value", b"")]
    if len(raw) > MAX_MESSAGE_BYTES:
        return [], [Rejection(None, f"message of {len(raw)} bytes, more than {MAX_MESSAGE_BYTES}", raw)]
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return [], [Rejection(None, f"not valid UTF-8 JSON: {exc}", raw)]
    if isinstance(data, dict):
        try:
            return [validate_event(data, received_at)], []
        except InvalidEvent as exc:
            return [], [Rejection(None, str(exc), raw)]
    if not isinstance(data, list) or not 1 <= len(data) <= MAX_BATCH_EVENTS:
        reason = f"message must be an event or a batch of 1 to {MAX_BATCH_EVENTS} events"
        return [], [Rejection(None, reason, raw)]
    events: list[Event] = []
    rejections: list[Rejection] = []
    for index, item in enumerate(data):
        try:
            events.append(validate_event(item, received_at))
        except InvalidEvent as exc:
            rejections.append(Rejection(index, f"[{index}] {exc}", orjson.dumps(item)))
    return events, rejections


def encode_batch(events: list[Event]) -> bytes:
    """The Kafka message value for events of one locality: an object alone, an array otherwise."""
    dumped = [
        e.model_dump(mode="json", exclude_defaults=True) for e in events
    ]  # without map "2025": the wire as before maps
    return orjson.dumps(dumped[0] if len(dumped) == 1 else dumped)


def json_schemas() -> dict[str, dict[str, Any]]:
    """A JSON Schema per event type, for senders in other languages."""
    schemas = {}
    for name, model in EVENT_TYPES.items():
        schema = model.model_json_schema(mode="validation")
        schema["title"] = f"p06 event {name}"
        schemas[name] = _with_void_rule(schema, model.entity_field)
    return schemas


def _with_void_rule(schema: dict[str, Any], entity_field: str | None) -> dict[str, Any]:
    """What _void_counts_nothing says, in JSON Schema: a void correction carries no payload (a state's: its
    entity's field alone); every other event carries a whole one."""
    whole = schema["properties"]["payload"]
    if entity_field is None:
        void: dict[str, Any] = {"not": {"required": ["payload"]}}
    else:
        field = schema["$defs"][whole["$ref"].rsplit("/", 1)[1]]["properties"][entity_field]
        entity_only = {"properties": {entity_field: field}, "required": [entity_field], "additionalProperties": False}
        void = {"required": ["payload"], "properties": {"payload": {"type": "object"} | entity_only}}
    return schema | {
        "properties": schema["properties"] | {"payload": {"type": "object"}},
        "required": [field for field in schema["required"] if field != "payload"],
        "if": {"properties": {"void": {"const": True}}, "required": ["void"]},
        "then": void,
        "else": {"required": ["payload"], "properties": {"payload": whole}},
    }
