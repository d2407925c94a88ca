"""Live counting: the Faust worker, locality state, the live view, and the local Kafka broker.

`streams.worker.create_app` builds the Faust app (imported on demand: Faust is heavy to import).
"""
from .live import live_body, province_body, silent_body, windows_body
from .local_broker import BrokerStatus, StackError
from .state import LocalityState
from .topics import ensure_topics

__all__ = [
    "BrokerStatus",
    "LocalityState",
    "StackError",
    "ensure_topics",
    "live_body",
    "province_body",
    "silent_body",
    "windows_body",
]
