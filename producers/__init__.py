"""Publishing events: the Publisher library, its durable spool, the HTTP gateway and the simulator."""

from .publisher import Publisher, PublishResult, Wire, accept, pack, validate_items
from .simulate import as_messages, simulated_events
from .spool import Message, Spool

__all__ = [
    "Message",
    "Wire",
    "accept",
    "as_messages",
    "PublishResult",
    "Publisher",
    "Spool",
    "pack",
    "simulated_events",
    "validate_items",
]
