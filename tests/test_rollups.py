"""The rollup rewrite on a real chDB folder, with times as Vietnamese senders stamp them (+07:00)."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from bench.recount import recount
from schemas.events import validate_event
from schemas.registry import registry
from sinks import rollups
from sinks.archive import COLUMNS, TABLE, Columns, now
from sinks.figures import from_archive, from_rollups
from sinks.migrations import migrate
from sinks.warehouse import ClientReader

VIETNAM = timezone(timedelta(hours=7))


def _write(client, events: list[dict], since_zone: timezone) -> None:
    """Archive a batch and refresh its rollups, handing refresh() its earliest time in since_zone."""
    columns = Columns()
    for offset, raw in enumerate(events):
        columns.add(validate_event(raw), "t", 0, offset, now())
    client.insert(TABLE, columns.data, column_names=list(COLUMNS), column_oriented=True)
    rollups.refresh(client, columns.provinces, columns.earliest.astimezone(since_zone))


@pytest.mark.parametrize("since_zone", [VIETNAM, timezone.utc, timezone(timedelta(hours=-5))], ids=["+07:00", "UTC", "-05:00"])
def test_a_later_batch_rewrites_its_own_hours_whatever_the_zone_of_its_times(chdb_client, since_zone) -> None:
    migrate(chdb_client)
    ward = registry().wards_by_province["01"][0]
    village = {"type": "village.status", "locality": ward}
    first = [{**village, "event_id": "v1", "occurred_at": "2026-11-01T08:00:00+07:00",
              "payload": {"village_id": "V1", "electricity": True, "internet": True}}]
    # 09:30+07:00 is 02:30 UTC: read as 09:30 UTC, the rewrite would start seven hours too late.
    second = [{**village, "event_id": "v2", "occurred_at": "2026-11-01T09:30:00+07:00",
               "payload": {"village_id": "V1", "electricity": False, "internet": True}},
              {"type": "eid.activations", "locality": ward, "event_id": "e1", "occurred_at": "2026-11-01T10:05:00+07:00",
               "payload": {"count": 42}}]
    _write(chdb_client, first, since_zone)
    _write(chdb_client, second, since_zone)
    expected = recount(first + second)
    reader = ClientReader(chdb_client)
    assert from_archive(reader)["nation"] == expected["nation"]
    assert from_rollups(reader)["nation"] == expected["nation"]
    assert from_rollups(reader)["wards"][ward]["villages_without_electricity"] == 1
    hours = chdb_client.query(
        "SELECT toString(hour), sum(eid_activations) FROM p06.rollup_hour FINAL WHERE scope = 'nation' GROUP BY hour HAVING sum(eid_activations) != 0"
    ).result_rows
    assert hours == [("2026-11-01 03:00:00", 42)]  # 10:05+07:00 belongs to the 03:00 UTC bucket
