"""The single contract: settings, the locality registry and its roll-up, the events, and the metrics."""

from .events import (
    EVENT_TYPES,
    Event,
    InvalidEvent,
    Rejection,
    encode_batch,
    parse_event_json,
    parse_message,
    validate_event,
)
from .hierarchy import Scope, roll_up, scopes_of, tiers
from .metrics import METRICS, contribution, entity_of, version
from .registry import Locality, registry
from .settings import Settings, load_settings, settings

__all__ = [
    "EVENT_TYPES",
    "METRICS",
    "Event",
    "InvalidEvent",
    "Locality",
    "Rejection",
    "Scope",
    "Settings",
    "contribution",
    "encode_batch",
    "entity_of",
    "load_settings",
    "parse_event_json",
    "parse_message",
    "registry",
    "roll_up",
    "scopes_of",
    "settings",
    "tiers",
    "validate_event",
    "version",
]
