"""The single contract: settings, the locality registry, the events, and the metrics."""

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
    "Settings",
    "contribution",
    "encode_batch",
    "entity_of",
    "load_settings",
    "parse_event_json",
    "parse_message",
    "registry",
    "settings",
    "validate_event",
    "version",
]
