"""Issue 11 in the warehouse, on the real broker, a real `p06 sink` and chDB: an event is its locality,
its event_id and the UTC day it occurred; of copies that differ the first one in the locality's home
partition counts; a record away from home is not archived where it landed (the worker sends it home)."""

from __future__ import annotations

from pathlib import Path

import orjson
from kafka import KafkaProducer
from kit.sinkstream import SinkProcess

from schemas.registry import registry
from schemas.settings import Settings
from sinks.checks.reconcile import STATE_METRICS, compare, from_latest
from sinks.checks.recount import recount
from sinks.warehouse.figures import activity, from_archive, from_rollups
from sinks.warehouse.reader import open_reader
from stack import ensure_topics
from stack.clients import kafka_python_options
from stack.partitions import home_partition

WARD = "00070"  # Phường Hoàn Kiếm, urban, province 01


def village(event_id: str, at: str, electricity: bool, internet: bool = True) -> dict:
    return {
        "event_id": event_id,
        "type": "village.status",
        "locality": WARD,
        "occurred_at": at,
        "payload": {"village_id": "V12", "electricity": electricity, "internet": internet},
    }


def activations(event_id: str, at: str, count: int, locality: str = WARD) -> dict:
    return {
        "event_id": event_id,
        "type": "eid.activations",
        "locality": locality,
        "occurred_at": at,
        "payload": {"count": count},
    }


class Topic:
    """The test's events topic, written record by record with an explicit key and partition."""

    def __init__(self, settings: Settings) -> None:
        ensure_topics(settings)
        self.settings = settings
        self.producer = KafkaProducer(**kafka_python_options(settings, "admission"), acks="all")
        self.partitions = len(self.producer.partitions_for(settings.events_topic))
        self.sent = 0

    def home(self, locality: str) -> int:
        return home_partition(locality, self.partitions)

    def send(self, value: dict | list, key: str | None, partition: int) -> None:
        self.producer.send(
            self.settings.events_topic, orjson.dumps(value), key=key.encode() if key else None, partition=partition
        ).get(30)  # one at a time: their order is the test's
        self.sent += 1

    def at_home(self, *events: dict) -> None:
        for event in events:
            self.send(event, event["locality"], self.home(event["locality"]))

    def close(self) -> None:
        self.producer.close()


def warehouse(settings: Settings) -> dict:
    """What the warehouse says: the rollups (the report's path), the archive recount, the latest states."""
    reader = open_reader(settings)
    try:
        rollups, archive, latest = from_rollups(reader), from_archive(reader), from_latest(reader)
        assert not compare("latest", archive, latest, STATE_METRICS), "latest states differ from the recount"
        return {
            "rollups": rollups,
            "archive": archive,
            "activity": activity(reader),
            "rows": reader.named("archive_rows"),
        }
    finally:
        reader.close()


def assert_counted(settings: Settings, published: list[dict]) -> dict:
    """Both warehouse paths give the independent recount of the events in the order they were published."""
    expected = recount(published)
    got = warehouse(settings)
    for path in ("rollups", "archive"):
        for scope in ("nation", "urban", "rural", "provinces", "wards"):
            assert got[path][scope] == expected[scope], f"{path} {scope}: {got[path][scope]} != {expected[scope]}"
    return got


def caught_up(sink: SinkProcess, topic: Topic) -> dict:
    return sink.wait(lambda h: h["messages"] >= topic.sent and h["lag"] == 0)


def test_of_two_differing_copies_at_home_the_first_counts_and_a_resend_changes_nothing(
    p06_settings: Settings, tmp_path: Path
) -> None:
    topic = Topic(p06_settings)
    sink = SinkProcess(p06_settings, tmp_path / "sink.log")
    first = [
        village("v-1", "2026-09-01T09:00:00+07:00", electricity=True),
        activations("a-1", "2026-09-01T10:00:00Z", 5),
    ]
    second = [
        village("v-1", "2026-09-01T09:00:00+07:00", electricity=False),  # other content, same event
        activations("a-1", "2026-09-01T10:00:00Z", 7),
        activations("a-1", "2026-09-01T11:30:00Z", 5),
    ]  # same count, other instant of the same UTC day
    try:
        topic.at_home(*first)
        caught_up(sink, topic)  # archived before the other copies arrive: each copy is its own insert
        topic.at_home(*second)
        health = caught_up(sink, topic)
        got = assert_counted(p06_settings, [*first, *second])
        assert got["rollups"]["wards"][WARD]["eid_activations"] == 5
        assert got["rollups"]["wards"][WARD]["villages"] == 1
        assert got["rollups"]["wards"][WARD]["villages_without_electricity"] == 0
        assert got["activity"][WARD]["events"] == 2
        assert [orjson.loads(r["payload"]) for r in got["rows"]] == [
            e["payload"] for e in sorted(first, key=lambda e: e["event_id"])
        ]
        assert health["away_from_home"] == 0

        topic.at_home(*first, second[0])  # identical resends of the counted copies and of an ignored one
        caught_up(sink, topic)
        assert warehouse(p06_settings) == got
    finally:
        sink.stop()
    assert warehouse(p06_settings) == got  # read directly, once the sink let go


def test_one_event_id_on_two_utc_days_is_two_events(p06_settings: Settings, tmp_path: Path) -> None:
    topic = Topic(p06_settings)
    sink = SinkProcess(p06_settings, tmp_path / "sink.log")
    published = [
        activations("daily", "2026-09-01T10:00:00Z", 5),
        activations("daily", "2026-09-02T08:00:00+07:00", 7),  # 01:00 UTC on the 2nd: another day, counts
        activations("daily", "2026-09-02T03:00:00+07:00", 100),  # 20:00 UTC on the 1st: a copy of the first
        village("v-day", "2026-09-01T12:00:00Z", electricity=False),
        village("v-day", "2026-09-03T12:00:00Z", electricity=True),  # the newer version of village V12
    ]
    try:
        topic.at_home(*published)
        caught_up(sink, topic)
        got = assert_counted(p06_settings, published)
        ward = got["rollups"]["wards"][WARD]
        assert ward["eid_activations"] == 12
        assert (ward["villages"], ward["villages_without_electricity"]) == (1, 0)
        assert got["activity"][WARD]["events"] == 4
        assert [(r["event_id"], r["day"]) for r in got["rows"]] == [
            ("daily", "2026-09-01"),
            ("v-day", "2026-09-01"),
            ("daily", "2026-09-02"),
            ("v-day", "2026-09-03"),
        ]
    finally:
        sink.stop()


def test_a_record_away_from_home_is_archived_only_once_it_is_home(p06_settings: Settings, tmp_path: Path) -> None:
    topic = Topic(p06_settings)
    home = topic.home(WARD)
    # another ward whose home is the same partition: a record keyed by it lies at the key's home, not the event's
    neighbour = next(
        c for c, p in sorted(registry().localities.items()) if p.level == "ward" and c != WARD and topic.home(c) == home
    )
    strayed = activations("strayed", "2026-09-01T10:00:00Z", 100)
    others = [
        activations("misnamed", "2026-09-01T11:00:00Z", 1000),
        activations("unkeyed", "2026-09-01T12:00:00Z", 10000),
    ]
    sink = SinkProcess(p06_settings, tmp_path / "sink.log")
    try:
        topic.send(strayed, WARD, (home + 1) % topic.partitions)  # the right key, another partition
        topic.send(others[0], neighbour, home)  # the home partition, another locality's key
        topic.send([others[1]], None, home)  # the home partition, no key
        health = caught_up(sink, topic)
        assert health["away_from_home"] == 3 and health["events"] == 0, health
        assert warehouse(p06_settings)["rows"] == []

        topic.at_home(strayed)  # as the worker sends it home
        health = caught_up(sink, topic)
        assert health["away_from_home"] == 3 and health["events"] == 1, health
        got = assert_counted(p06_settings, [strayed])
        assert [(r["event_id"], r["partition"]) for r in got["rows"]] == [("strayed", home)]
        assert got["rollups"]["nation"]["eid_activations"] == 100
    finally:
        sink.stop()
