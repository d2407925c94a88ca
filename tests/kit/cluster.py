"""A three-node cluster for the fault drills, and the senders that keep sending through them.

The cluster is started as an operator starts it (`p06 stack up --brokers 3`); the drills stop, kill
and start its nodes through stack.cluster, as `p06 stack node ...` does. The senders are province
publishers (producers.Publisher): their events go through admission, the worker and the sink, and
what they could not get acknowledged they spool, report, and deliver at a later publish.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from producers import Publisher
from schemas.registry import registry
from schemas.settings import Settings
from stack import cluster
from stack.cluster import free_ports

NODES = 3
__all__ = ["NODES", "Senders", "free_ports", "healthy"]


def healthy(data_dir: Path, settings: Settings, timeout_s: float = 180) -> None:
    """Every node up and every partition in sync: the state each drill starts from."""
    for node in cluster.nodes(data_dir):
        if not node.running:
            cluster.start(data_dir, node.node_id)
    cluster.wait_in_sync(settings, timeout_s)


@dataclass(eq=False)  # a thread must stay hashable
class Senders(threading.Thread):
    """Each province's sender publishing its share of the stream, one slice every pause_s; every
    result is kept, so a drill can see what was spooled, what the publisher said, and what it drained."""

    settings: Settings
    events: list[dict[str, Any]]
    slices: int
    pause_s: float
    results: list[Any] = field(default_factory=list)
    sent_slices: int = 0

    def __post_init__(self) -> None:
        super().__init__(daemon=True)
        by_province: dict[str, list[dict[str, Any]]] = {}
        for e in self.events:
            by_province.setdefault(registry().get(e["locality"]).province, []).append(e)
        self.publishers = {p: Publisher(self.settings, province=p) for p in by_province}
        self.parts = {p: [evs[i :: self.slices] for i in range(self.slices)] for p, evs in by_province.items()}

    def run(self) -> None:
        for i in range(self.slices):
            for province, publisher in self.publishers.items():
                self.results.append(publisher.publish(self.parts[province][i]))
            self.sent_slices += 1
            time.sleep(self.pause_s)

    @property
    def flowing(self) -> bool:
        return self.sent_slices < self.slices

    def spooled_and_said_so(self) -> bool:
        return any(r.spooled and r.error for r in self.results)

    def finish(self, timeout_s: float = 180) -> None:
        """After the last slice: each sender delivers what it still has spooled (its next publish
        would; a sender that has nothing more to send drains), then closes."""
        self.join(timeout_s)
        deadline = time.monotonic() + timeout_s
        for publisher in self.publishers.values():
            while True:
                left = publisher.drain()
                self.results.append(left)
                if not left.spooled:
                    break
                assert time.monotonic() < deadline, f"the spool never drained: {left.error}"
                time.sleep(2)
            publisher.close()
