"""The worker's Faust app: Faust's, on the transport of stack.adapters.faust (a 100 ms fetch wait, a
flush that waits for every changelog record queued before it). The benchmark's bare Faust agent runs
on the same."""

from stack.adapters.aiokafka import FETCH_MAX_WAIT_MS
from stack.adapters.faust import App

__all__ = ["FETCH_MAX_WAIT_MS", "App"]
