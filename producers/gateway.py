"""`POST /v1/events`: HTTP ingest for localities that cannot speak Kafka.

A request is all or nothing: either every event in it is valid and within the token's province and
all are accepted (202), or none is published and the answer says, per event, what is wrong (422, 403).
When the broker refuses them (no grant, no such topic, too large) the answer is 502 naming the
principal and the topic; the events are kept in the spool, as when the broker is unreachable.
Accepted events go through the same Publisher as `p06 publish`, spool included: a province token's
into that province's ingestion topic (the admission stage checks them again), a national token's into
the events topic.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schemas import Event, Rejection
from schemas.settings import Settings

from .publisher import Publisher, validate_items
from .tokens import NATIONAL, Token, TokenStore, token_store

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # ~50,000 events: a locality's day, not a denial of service


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _problem(
    status: int, message: str, errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return _JSON(body, status_code=status, headers=headers)


def split_body(body: bytes) -> list[Any]:
    """One event, a JSON array of events, or NDJSON (each line judged on its own)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [line for line in body.splitlines() if line.strip()]
    return data if isinstance(data, list) else [data]


def _event_id(item: Any) -> Any:
    if isinstance(item, bytes):
        try:
            item = orjson.loads(item)
        except orjson.JSONDecodeError:
            return None
    return item.get("event_id") if isinstance(item, dict) else None


def _invalid(items: list[Any], rejections: list[Rejection]) -> list[dict[str, Any]]:
    return [{"index": r.index, "event_id": _event_id(items[r.index or 0]), "error": r.reason} for r in rejections]


def _outside(token: Token, events: list[Event]) -> list[dict[str, Any]]:
    return [
        {"index": i, "event_id": e.event_id, "error": f"locality: {e.named_locality} is outside province {token.scope}"}
        for i, e in enumerate(events)
        if not token.allows(e.locality)
    ]


async def _bounded_body(request: Request) -> bytes | None:
    """The body, or None once it exceeds MAX_REQUEST_BYTES (read no further than that)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_REQUEST_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _bearer(request: Request, tokens: TokenStore) -> Token | None:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    return tokens.lookup(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None


async def post_events(request: Request) -> Response:
    token = _bearer(request, request.app.state.tokens)
    if token is None:
        return _problem(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    body = await _bounded_body(request)
    if body is None:
        return _problem(413, f"request body larger than {MAX_REQUEST_BYTES} bytes: split it")
    items = split_body(body)
    if not items:
        return _problem(422, "request body: expected one event, a JSON array of events, or NDJSON lines", [])
    events, rejections = validate_items(items)
    if rejections:
        return _problem(
            422, f"{len(rejections)} of {len(items)} events are invalid; none was accepted", _invalid(items, rejections)
        )
    if outside := _outside(token, events):
        return _problem(
            403,
            f"token {token.id} may publish for province {token.scope} and its wards only; none was accepted",
            outside,
        )
    result = await run_in_threadpool(request.app.state.publisher(token.scope).publish, events)
    summary = {"accepted": result.accepted, "delivered": result.delivered, "spooled": result.spooled}
    if result.refused:  # not an outage: the sender must hear of it, though nothing is lost
        message = f"{result.refused}; the {result.spooled} events wait in the gateway's spool until an operator acts"
        return _JSON({"error": message, **summary}, status_code=502)
    results = [{"index": i, "event_id": e.event_id, "status": "accepted"} for i, e in enumerate(events)]
    return _JSON({**summary, "results": results}, status_code=202)


async def openapi(request: Request) -> Response:
    return _JSON(request.app.state.openapi)


def openapi_document() -> dict[str, Any]:
    event_schema = TypeAdapter(Event).json_schema(ref_template="#/components/schemas/{model}")
    components = event_schema.pop("$defs")
    components["Event"] = event_schema
    error = {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"index": {"type": "integer"}, "event_id": {}, "error": {"type": "string"}},
                },
            },
        },
    }
    components["Problem"] = error
    event_ref = {"$ref": "#/components/schemas/Event"}

    def problem(text: str) -> dict[str, Any]:
        return {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }

    return {
        "openapi": "3.1.0",
        "info": {"title": "p06 gateway", "version": "1", "description": __doc__},
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/events": {
                "post": {
                    "summary": "Publish one event, a JSON array of events, or NDJSON (one event per line)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"oneOf": [event_ref, {"type": "array", "items": event_ref}]}
                            },
                            "application/x-ndjson": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "202": {"description": "every event accepted (delivered, or spooled until the broker is back)"},
                        "401": problem("no valid bearer token"),
                        "403": problem("an event's locality is outside the token's province; none accepted"),
                        "413": problem(f"body larger than {MAX_REQUEST_BYTES} bytes"),
                        "422": problem("invalid events, each with its field and rule; none accepted"),
                        "502": problem(
                            "the broker refused the gateway's principal on the topic (no grant, no such topic,"
                            " too large): the events are kept in the spool until an operator fixes it"
                        ),
                    },
                }
            }
        },
    }


class Publishers:
    """One Publisher per token scope: a province's events go to its ingestion topic, where the admission
    stage checks them again (the gateway's check is not the only one); a national token's to the
    events topic."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.by_scope: dict[str, Publisher] = {}
        self.lock = threading.Lock()

    def __call__(self, scope: str) -> Publisher:
        with self.lock:
            if scope not in self.by_scope:
                self.by_scope[scope] = Publisher(
                    self.settings, province="" if scope == NATIONAL else scope, role="gateway"
                )
            return self.by_scope[scope]

    def close(self) -> None:
        for publisher in self.by_scope.values():
            publisher.close()


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.publisher = Publishers(settings)
        try:
            yield
        finally:
            await run_in_threadpool(app.state.publisher.close)

    app = Starlette(
        routes=[Route("/v1/events", post_events, methods=["POST"]), Route("/openapi.json", openapi)],
        lifespan=lifespan,
    )
    app.state.tokens = token_store(settings.data_dir)
    app.state.openapi = openapi_document()
    return app
