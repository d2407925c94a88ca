"""Dead-letter records told to their province's alert owner: whose senders a refused record came from.

An agent of the worker reads the dead-letter topic and sends, per batch, one feed record per province with
the refused records' times, places (partition:offset) and localities; the owner keeps those of the last minutes, so a
record read twice (a worker killed before its commit) counts once."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from faust.types import EventT

from schemas.names import SOURCE_TOPIC_HEADER, province_of_topic
from schemas.registry import registry


def sender_province(events_topic: str, key: bytes | None, headers: object) -> tuple[str, str] | None:
    """(province, locality) of a refused record: the ingestion topic's province when admission refused it,
    else the province of the locality it was keyed under (the worker refused it); the locality is its key
    when that is one of the province's, else the province's code. None when nothing says."""
    source = dict(headers or []).get(SOURCE_TOPIC_HEADER)  # type: ignore[call-overload]
    province = province_of_topic(events_topic, source.decode()) if source else None
    locality = registry().get(key.decode("utf-8", "replace")) if key else None
    if province is None and locality is not None:
        province = locality.province
    if province is None:
        return None
    return province, locality.code if locality is not None and locality.province == province else province


def letters_records(batch: Sequence[EventT], events_topic: str) -> list[tuple[bytes, bytes]]:
    """One feed record per province of this batch of dead-letter records."""
    letters: dict[str, list[list[object]]] = {}
    for fe in batch:
        msg = fe.message
        sender = sender_province(events_topic, msg.key, msg.headers)
        if sender is not None:
            place = f"{msg.partition}:{msg.offset}"
            letters.setdefault(sender[0], []).append([int(msg.timestamp * 1000), place, sender[1]])
    return [(p.encode(), orjson.dumps({"type": "dead_letters", "letters": found})) for p, found in letters.items()]
