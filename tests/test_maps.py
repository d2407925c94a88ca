"""Issue 14: events on the 2024 map, reports on either map, and `p06 registry show`.

The expected figures come from sinks/checks/recount.py, which converts with vietnam_provinces' own tables and
public lookups, not with schemas.maps or sinks.reports.oldmap.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import clickhouse_connect
import httpx
import orjson
import pytest
from kafka import KafkaConsumer
from kit.pipeline import Worker, operator, publish_raw, wait_for_figures
from kit.sinkstream import P06, SinkProcess, make_events
from pydantic import TypeAdapter

from auth.accounts import Accounts
from producers import Publisher
from producers.publisher import validate_items
from schemas import Event, InvalidEvent, parse_event_json, validate_event
from schemas.adapters.vietnam_provinces import ward_table
from schemas.events import json_schemas
from schemas.maps import old_map
from schemas.settings import Settings
from sinks.checks.recount import FLOW_NAMES, METRIC_NAMES, end_of, expected_live, identity, on_2025_map, recount_2024
from stack import broker as local_broker
from stack import ensure_topics
from stack.clients import kafka_python_options

WARDS = ward_table()  # the official 2024 -> 2025 ward table
SPLIT_WARD = "00016"  # Phường Ngọc Hà (2024): split between 00004 Phường Ba Đình and 00008 Phường Ngọc Hà
SPLIT_NAMES = "00004 Phường Ba Đình, 00008 Phường Ngọc Hà"
ZERO = dict.fromkeys(METRIC_NAMES, 0)


def eid(
    event_id: str, locality: str, map_: str | None = None, count: int = 3, at: str = "2026-09-03T08:00:00+07:00"
) -> dict:
    body = {
        "event_id": event_id,
        "type": "eid.activations",
        "locality": locality,
        "occurred_at": at,
        "payload": {"count": count},
    }
    return body if map_ is None else {**body, "map": map_}


def p06(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([P06, *args], capture_output=True, text=True, timeout=300)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


# --- the contract --------------------------------------------------------------------------------


def test_an_old_code_passed_whole_counts_under_its_new_unit_and_keeps_the_code_as_sent() -> None:
    event = validate_event(eid("e1", "00013", "2024"))  # Phường Quán Thánh (2024) -> 00004 Phường Ba Đình
    assert (event.map, event.locality, event.sent_locality) == ("2024", "00004", "00013")
    wire = orjson.loads(event.to_json())
    assert (wire["map"], wire["locality"]) == ("2024", "00013")  # on the wire as sent: every reader converts alike
    assert "sent_locality" not in wire and parse_event_json(event.to_json()) == event
    assert TypeAdapter(Event).dump_python(event, mode="json")["locality"] == "00013"  # whichever way it is dumped
    assert (
        validate_event(
            eid("p", "79", "2024") | {"type": "service.dossiers", "payload": {"received": 1, "online": 1, "on_time": 1}}
        ).locality
        == "79"
    )


def test_a_province_sender_refusing_an_old_code_names_it_as_sent() -> None:
    events, rejections = validate_items([eid("e1", "25753", "2024"), eid("e2", "00013", "2024")], province="01")
    assert [e.event_id for e in events] == ["e2"]  # 00013 -> 00004, in Hà Nội
    assert rejections[0].reason == (
        "locality: '25753' (2024 map, counted as '25747') is in province 79; this sender publishes for province 01 only"
    )


def test_the_current_map_is_the_default_and_a_2024_code_is_never_guessed() -> None:
    event = validate_event(eid("e1", "00070"))
    assert (event.map, event.locality, event.sent_locality) == ("2025", "00070", None)
    assert orjson.loads(event.to_json()).keys() == eid("e1", "00070").keys()  # a 2025 event's wire is as before maps
    with pytest.raises(InvalidEvent, match="'00013' is not a province or ward code of the 2025 map .*needs map '2024'"):
        validate_event(eid("e1", "00013"))


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (SPLIT_WARD, f"locality: '00016' (Phường Ngọc Hà, 2024 map) was split between 2025 wards {SPLIT_NAMES}"),
        ("00019", "was split between 2025 wards 00004 Phường Ba Đình, 00070 Phường Hoàn Kiếm, 00190 Phường Ô Chợ Dừa,"),
        ("99999", "locality: '99999' is not a province or ward code of the 2024 map"),
        ("01651", "locality: '01651' (Xã Mỹ Hưng, 2024 map) has no entry in the official conversion table"),
    ],
)
def test_an_old_unit_that_cannot_be_placed_exactly_is_refused_naming_its_parts(code: str, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        validate_event(eid("e1", code, "2024"))
    assert reason in str(caught.value)


def test_a_partly_merged_old_ward_is_refused_even_with_one_candidate() -> None:
    code, entry = next((c, e) for c, e in WARDS.items() if e.old_ward.is_partly_merged and len(e.new_wards) == 1)
    with pytest.raises(InvalidEvent, match=f"went only in part to 2025 wards {entry.new_wards[0].code:05d}"):
        validate_event(eid("e1", f"{code:05d}", "2024"))


def test_old_province_codes_convert_whole_or_are_refused() -> None:
    task = {"type": "task.status", "payload": {"task_id": "T001", "status": "completed"}}
    assert validate_event(eid("t", "02", "2024") | task).locality == "08"  # Hà Giang -> Tuyên Quang
    with pytest.raises(InvalidEvent, match="'02' is a province, but eid.activations is reported by a ward"):
        validate_event(eid("t", "02", "2024"))
    assert validate_event(eid("t", "82", "2024") | task).locality == "82"  # Tiền Giang -> Đồng Tháp (see below)


def test_old_provinces_convert_where_their_wards_went_which_is_the_librarys_table_but_for_82() -> None:
    """The library's province table also sends Tiền Giang (82) to Tây Ninh (80), from one ward its ward table
    files under 82 though its registry has it in Long An: Phường 4 of Tân An (27691), now 27694 in 80."""
    from vietnam_provinces import legacy
    from vietnam_provinces._province_conversion_2025 import OLD_TO_NEW as PROVINCES

    table = {f"{c:02d}": tuple(f"{n.code:02d}" for n in e.new_provinces) for c, e in PROVINCES.items()}
    ours = {c: old_map().units[c].became for c in table}
    assert {c for c in table if ours[c] != table[c]} == {"82"} and ours["82"] == ("82",) and table["82"] == ("80", "82")
    assert f"{legacy.Ward.from_code(legacy.WardCode(27691)).province_code.value:02d}" == "80"
    assert WARDS[27691].old_ward.province_code == 82 and WARDS[27691].new_wards[0].province_code == 80

    assert "became (2025 map): 82 Tỉnh Đồng Tháp" in p06("registry", "show", "82", "--map", "2024").stdout


def test_senders_cannot_set_the_counted_code_themselves() -> None:
    with pytest.raises(InvalidEvent, match="sent_locality: not a field of the contract"):
        validate_event(eid("e1", "00004") | {"sent_locality": "00013"})
    with pytest.raises(InvalidEvent, match="map: Input should be '2025' or '2024'"):
        validate_event(eid("e1", "00004", "2023"))


def test_exported_json_schemas_carry_the_map(tmp_path: Path) -> None:
    p06("schema", "export", str(tmp_path))
    for name in json_schemas():
        schema = json.loads((tmp_path / f"{name}.json").read_text())
        assert (
            schema["properties"]["map"]["enum"] == ["2025", "2024"] and schema["properties"]["map"]["default"] == "2025"
        )
        assert "map" not in schema["required"] and "sent_locality" not in schema["properties"]


# --- p06 registry show ---------------------------------------------------------------------------


def test_registry_show_an_old_code_what_it_became() -> None:
    text = p06("registry", "show", "00013", "--map", "2024").stdout
    assert "00013 Phường Quán Thánh: ward, 2024 map" in text
    assert "parent: 001 Quận Ba Đình (district), in 01 Thành phố Hà Nội" in text
    assert "became (2025 map): 00004 Phường Ba Đình" in text and "count under 00004" in text
    split = json.loads(p06("registry", "show", SPLIT_WARD, "--map", "2024", "--json").stdout)
    assert [b["code"] for b in split["became"]] == ["00004", "00008"] and split["counted_as"] is None


def test_registry_show_a_new_code_what_it_came_from() -> None:
    text = p06("registry", "show", "00004").stdout
    assert "00004 Phường Ba Đình: ward, urban, 2025 map" in text and "parent: 01 Thành phố Hà Nội" in text
    assert "00013 Phường Quán Thánh (whole)" in text and "00016 Phường Ngọc Hà (part)" in text
    assert "straddles 2024 provinces 74, 77, 79" in p06("registry", "show", "26732").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("99999",), "'99999' is not a province or ward code of the 2025 map"),
        (("99999", "--map", "2024"), "'99999' is not a province or ward code of the 2024 map"),
    ],
)
def test_registry_show_an_unknown_code_names_the_map_searched(args: tuple[str, ...], message: str) -> None:
    done = p06("registry", "show", *args, ok=False)
    assert done.returncode == 2 and message in done.stderr


# --- the pipeline: publisher, worker, sink, reports ----------------------------------------------


def whole_sources() -> dict[str, list[str]]:
    """2025 ward -> the 2024 wards passed whole into it, from the library's table."""
    out: dict[str, list[str]] = {}
    for code, entry in WARDS.items():
        if len(entry.new_wards) == 1 and not entry.old_ward.is_partly_merged:
            out.setdefault(f"{entry.new_wards[0].code:05d}", []).append(f"{code:05d}")
    return out


def mixed_stream(seed: int) -> list[dict]:
    """The sink tests' stream with about half its ward events sent with a 2024 code that passed whole into
    their ward, some events sent again on the other map, and events of units that straddle old provinces."""
    rnd, whole = random.Random(seed), whole_sources()
    base = make_events(seed=seed, n=300)
    stream = []
    for e in base:
        olds = whole.get(e["locality"])
        stream.append({**e, "map": "2024", "locality": rnd.choice(olds)} if olds and rnd.random() < 0.5 else e)
    again = [dict(base[i]) if "map" in stream[i] else stream[i] for i in range(0, len(base), 7)]
    again = [
        {**e, "map": "2024", "locality": whole[e["locality"]][0]} if "map" not in e and e["locality"] in whole else e
        for e in again
        if "map" in e or e["locality"] in whole
    ]
    straddling = [
        eid("cd-1", "26732", count=5),  # Đặc khu Côn Đảo: no 2024 ward, its province made of 74, 77, 79
        eid("hcm-ward", "26740", count=2, at="2026-09-04T08:00:00+07:00"),  # Phường Sài Gòn: within old 79 (placed)
        {
            "event_id": "hcm-1",
            "type": "service.dossiers",
            "locality": "79",
            "occurred_at": "2026-09-05T08:00:00+07:00",
            "payload": {"received": 9, "online": 4, "on_time": 8},
        },  # HCMC's own figures: made of 3 old provinces
        {
            "event_id": "hn-1",
            "type": "task.status",
            "map": "2024",
            "locality": "01",
            "occurred_at": "2026-09-02T08:00:00+07:00",
            "payload": {"task_id": "T002", "status": "completed"},
        },  # Hà Nội: one old province, placed whole
    ]
    return stream + again + straddling


def test_a_mixed_stream_counts_each_event_once_where_the_conversion_puts_it(
    p06_settings: Settings, tmp_path: Path
) -> None:
    ensure_topics(p06_settings)
    events = mixed_stream(seed=51)
    assert sum(e.get("map") == "2024" for e in events) > 50
    partly = next(f"{c:05d}" for c, e in WARDS.items() if e.old_ward.is_partly_merged and len(e.new_wards) == 1)
    split = [eid("split-1", SPLIT_WARD, "2024"), eid("split-2", partly, "2024")]
    with Publisher(p06_settings) as publisher:
        result = publisher.publish(events + split)
    assert [r.index for r in result.rejections] == [len(events), len(events) + 1]
    assert (
        SPLIT_NAMES in result.rejections[0].reason and "went only in part to 2025 wards" in result.rejections[1].reason
    )
    # A sender that keys by the code it has (the old one), and split events straight onto the topic.
    naive = eid("naive-1", whole_sources()["00004"][0], "2024", count=4, at="2026-09-06T08:00:00+07:00")
    publish_raw(
        p06_settings,
        p06_settings.events_topic,
        [(naive["locality"].encode(), orjson.dumps(naive)), (SPLIT_WARD.encode(), orjson.dumps(split[0]))],
    )
    valid = events + [naive]
    counted, refused = on_2025_map(valid)
    assert refused == []

    worker = Worker(local_broker.free_port(), tmp_path)
    sink = SinkProcess(p06_settings, tmp_path / "sink.log")
    try:
        wait_for_figures(worker, expected_live(counted))
        assert any(SPLIT_NAMES in r for r in dlq_reasons(p06_settings, 1))
        wait_for_archive(counted)
        check_sink_api(p06_settings, valid)
    finally:
        worker.stop()
        sink.stop()
    check_archive(p06_settings, valid, counted)
    check_reports(valid)


def dlq_reasons(settings: Settings, expected: int, timeout_s: float = 60) -> list[str]:
    consumer = KafkaConsumer(
        settings.dlq_topic,
        **kafka_python_options(settings, "admin"),
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
    )
    reasons: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(reasons) < expected and time.monotonic() < deadline:
        reasons += [dict(record.headers)["p06-error"].decode() for record in consumer]
    consumer.close()
    return reasons


def wait_for_archive(counted: list[dict], timeout_s: float = 120) -> None:
    """Poll the report (through the sink's API) until the warehouse holds the recount's nation."""
    expected = expected_live(counted)["nation"]
    deadline, nation = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        nation = json.loads(p06("report", "national", "--format", "json").stdout)["nation"]
        if nation == expected:
            return
        time.sleep(1)
    raise AssertionError(f"the warehouse never showed the recount's nation: {nation} != {expected}")


def check_sink_api(settings: Settings, valid: list[dict]) -> None:
    """While the sink owns the warehouse: `p06 report --map 2024` through its named queries, its own
    /reports?map=2024, and a province operator who sees the old provinces that passed whole into theirs."""
    base, expected = f"http://127.0.0.1:{settings.sink_api_port}", recount_2024(valid)
    body = httpx.get(f"{base}/reports/national", params={"map": "2024"}, auth=operator(), timeout=120).json()
    assert body["provinces"] == {p: expected["provinces"].get(p, ZERO) for p in body["provinces"]}
    via_cli = json.loads(p06("report", "national", "--map", "2024", "--format", "json").stdout)
    assert (via_cli["provinces"], via_cli["cannot_split"]) == (body["provinces"], body["cannot_split"])
    Accounts(settings.accounts_folder).add("op-24", "province", "op-24-password", province="24")  # Bắc Ninh (2025)
    mine = httpx.get(
        f"{base}/reports/province/27", params={"map": "2024"}, auth=("op-24", "op-24-password"), timeout=120
    )
    assert mine.status_code == 200 and mine.json()["figures"] == expected["provinces"]["27"]  # old Bắc Ninh -> 24
    assert any(expected["provinces"]["27"].values())
    other = httpx.get(
        f"{base}/reports/province/20", params={"map": "2024"}, auth=("op-24", "op-24-password"), timeout=120
    )
    assert other.status_code == 403 and "may not see province 20 of the 2024 map" in other.json()["error"]


def check_archive(settings: Settings, valid: list[dict], counted: list[dict]) -> None:
    """The archive keeps each event once, under its counted code, with the map and code it was sent with."""
    client = clickhouse_connect.get_client(dsn=settings.clickhouse_dsn)
    try:
        rows = client.query(
            "SELECT event_id, toString(toDate(occurred_at)), locality, map, sent_locality FROM p06.archive FINAL"
        ).result_rows
    finally:
        client.close()
    archived = {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}
    assert len(archived) == len(rows)  # one row per event
    copies: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
    for sent, count in zip(valid, counted, strict=True):
        locality, event_id, day = identity(count)
        copies.setdefault((event_id, day, locality), set()).add((sent.get("map", "2025"), sent["locality"]))
    assert archived.keys() == copies.keys()
    assert all(archived[k] in copies[k] for k in archived)  # the map and code of a copy that was sent
    old = [(k, v) for k, v in archived.items() if v[0] == "2024" and v[1] != k[2]]
    assert len(old) > 20


def check_reports(valid: list[dict]) -> None:
    current = json.loads(p06("report", "national", "--format", "json").stdout)
    old = json.loads(p06("report", "national", "--map", "2024", "--format", "json").stdout)
    expected = recount_2024(valid)
    assert old["map"] == "2024" and len(old["provinces"]) == 63
    assert old["nation"] == current["nation"] == expected["nation"]  # the same nation on both maps
    assert old["provinces"] == {p: expected["provinces"].get(p, ZERO) for p in old["provinces"]}
    assert {u["code"]: u["figures"] for u in old["cannot_split"]} == expected["cannot_split"]
    assert {"26732", "79"} <= {u["code"] for u in old["cannot_split"]}
    hcmc = next(u for u in old["cannot_split"] if u["code"] == "79")
    assert hcmc["level"] == "province" and set(hcmc["old_provinces"]) == {"74", "77", "79"}
    assert expected["provinces"]["79"]["eid_activations"] == 2  # the ward within old 79 counts there

    day = date(2026, 9, 10)
    at = json.loads(p06("report", "national", "--map", "2024", "--as-of", day.isoformat(), "--format", "json").stdout)
    cut = recount_2024(valid, end_of(day))
    assert at["nation"] != old["nation"]  # the date filter really cut something
    assert at["provinces"] == {p: cut["provinces"].get(p, ZERO) for p in at["provinces"]}
    assert {u["code"]: u["figures"] for u in at["cannot_split"]} == cut["cannot_split"]

    for code in [p for p, f in expected["provinces"].items() if any(f.values())]:
        province = json.loads(p06("report", "province", code, "--map", "2024", "--format", "json").stdout)
        assert province["figures"] == expected["provinces"][code], code
        assert (
            sum(w["figures"]["eid_activations"] for w in province["wards"].values())
            <= province["figures"]["eid_activations"]
        )
    hcm = json.loads(p06("report", "province", "79", "--map", "2024", "--format", "json").stdout)
    assert hcm["name"] == "Thành phố Hồ Chí Minh" and {u["code"] for u in hcm["cannot_split"]} == {"26732", "79"}

    md = p06("report", "national", "--map", "2024", "--format", "md", "--lang", "en").stdout
    md_vi = p06("report", "national", "--map", "2024", "--format", "md").stdout  # Vietnamese by default
    assert "## Số liệu không thể tách theo tỉnh cũ" in md_vi and "| 26732 | Đặc khu Côn Đảo |" in md_vi
    csv = p06("report", "national", "--map", "2024", "--format", "csv").stdout
    html = p06("report", "province", "79", "--map", "2024", "--format", "html").stdout
    assert "Cannot be split" in md and "| 26732 | ward Đặc khu Côn Đảo |" in md
    assert "2025:79," in csv and "2025:26732," in csv
    assert 'id="cannot-split"' in html and "Đặc khu Côn Đảo" in html
    check_review(valid)
    check_history(valid)
    wrong = p06("report", "province", "99", "--map", "2024", ok=False)
    assert wrong.returncode == 2 and "not a province code of the 2024 map" in wrong.stderr


def test_the_gateway_takes_2024_codes_and_refuses_split_ones_per_item(p06_settings: Settings) -> None:
    from kit.producers_support import read_topic
    from starlette.testclient import TestClient

    from producers.gateway import create_app
    from producers.tokens import token_store
    from stack import ensure_ingestion_topics

    ensure_topics(p06_settings)
    ensure_ingestion_topics(p06_settings)
    token = {"Authorization": f"Bearer {token_store(p06_settings.data_dir).add('national', 'ministry')[1]}"}
    with TestClient(create_app(p06_settings)) as client:
        refused = client.post(
            "/v1/events", json=[eid("g1", "00013", "2024"), eid("g2", SPLIT_WARD, "2024")], headers=token
        )
        assert refused.status_code == 422
        assert [(e["index"], e["event_id"]) for e in refused.json()["errors"]] == [(1, "g2")]
        assert SPLIT_NAMES in refused.json()["errors"][0]["error"]
        accepted = client.post("/v1/events", json=eid("g1", "00013", "2024"), headers=token)
        assert accepted.status_code == 202, accepted.text
        hanoi = {"Authorization": f"Bearer {token_store(p06_settings.data_dir).add('01', 'hanoi')[1]}"}
        hcmc_old = eid("g3", "25753", "2024")  # a 2024 ward of Hồ Chí Minh that passed whole into 25747
        outside = client.post("/v1/events", json=hcmc_old, headers=hanoi)
        assert outside.status_code == 403
        assert (
            outside.json()["errors"][0]["error"]
            == "locality: '25753' (2024 map, counted as '25747') is outside province 01"
        )
        schema = client.get("/openapi.json").json()["components"]["schemas"]["EidActivationsEvent"]
        assert schema["properties"]["map"]["enum"] == ["2025", "2024"]
    records = read_topic(p06_settings)
    assert [(r.key, orjson.loads(r.value)["locality"], orjson.loads(r.value)["map"]) for r in records] == [
        (b"00004", "00013", "2024")
    ]


def test_p06_publish_map_sets_the_map_of_lines_that_name_none(p06_settings: Settings, tmp_path: Path) -> None:
    from kit.producers_support import topic_events

    ensure_topics(p06_settings)
    source = tmp_path / "old.jsonl"
    source.write_bytes(
        b"".join(
            orjson.dumps(e) + b"\n" for e in (eid("f1", "00013"), eid("f2", "00070", "2025"), eid("f3", SPLIT_WARD))
        )
    )
    done = p06("publish", "--map", "2024", str(source), "--rejects", str(tmp_path / "rejects.jsonl"), ok=False)
    assert done.returncode == 1 and "accepted 2, rejected 1" in done.stdout
    assert (
        f"old.jsonl:3: locality: '00016' (Phường Ngọc Hà, 2024 map) was split between 2025 wards {SPLIT_NAMES}"
        in done.stderr
    )
    assert sorted((e["event_id"], e.get("map", "2025"), e["locality"]) for e in topic_events(p06_settings)) == [
        ("f1", "2024", "00013"),
        ("f2", "2025", "00070"),
    ]  # an explicit map wins over --map


def check_review(valid: list[dict]) -> None:
    """A review on the 2024 map: each old province and straddling unit at both ends, as the recount gives them
    (states at the end of --from, flows up to the day before it; both at the end of --to)."""
    start, end = date(2026, 9, 8), date(2026, 9, 20)
    opened, before, closed = (recount_2024(valid, end_of(d)) for d in (start, start - timedelta(days=1), end))

    def ends(kind: str, code: str) -> dict[str, dict[str, int]]:
        state, flow, last = (r[kind].get(code, ZERO) for r in (opened, before, closed))
        return {"from": {m: (flow if m in FLOW_NAMES else state)[m] for m in METRIC_NAMES}, "to": last}

    review = json.loads(
        p06(
            "report",
            "national",
            "--map",
            "2024",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--format",
            "json",
        ).stdout
    )
    assert review["map"] == "2024" and len(review["units"]) == 63
    for code, unit in review["units"].items():
        assert {k: unit["figures"][k] for k in ("from", "to")} == ends("provinces", code), code
    apart = {u["code"]: {k: u["figures"][k] for k in ("from", "to")} for u in review["cannot_split"]}
    expected = {c: ends("cannot_split", c) for c in set(closed["cannot_split"]) | set(before["cannot_split"])}
    assert apart == expected and "79" in apart
    assert sum(u["figures"]["change"]["eid_activations"] for u in review["units"].values()) > 0  # the period added some
    province = json.loads(
        p06(
            "report",
            "province",
            "79",
            "--map",
            "2024",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--format",
            "json",
        ).stdout
    )
    assert {k: province["scopes"]["79"]["figures"][k] for k in ("from", "to")} == ends("provinces", "79")
    csv = p06(
        "report", "national", "--map", "2024", "--from", start.isoformat(), "--to", end.isoformat(), "--format", "csv"
    ).stdout
    assert ",2025:79," in csv
    period = ("--map", "2024", "--from", start.isoformat(), "--to", end.isoformat(), "--format", "md")
    md_vi, md_en = p06("report", "national", *period).stdout, p06("report", "national", *period, "--lang", "en").stdout
    assert "| 2025:79 | số liệu cấp tỉnh của Thành phố Hồ Chí Minh (không thể tách: thuộc " in md_vi
    assert "| 2025:79 | province-level figures of Thành phố Hồ Chí Minh (cannot be split: straddles " in md_en


def check_history(valid: list[dict]) -> None:
    """`p06 history` of a village sent with a 2024 code: under its 2025 ward, each event with its sent code."""
    counted, _ = on_2025_map(valid)
    copies: dict[tuple, int] = {}
    for e in counted:
        copies[identity(e)] = copies.get(identity(e), 0) + 1
    sent, count = next(
        (s, c)
        for s, c in zip(valid, counted)
        if s.get("map") == "2024" and s["type"] == "village.status" and copies[identity(c)] == 1
    )
    entity = f"{count['locality']}/village:{count['payload']['village_id']}"
    line = next(row for row in p06("history", entity).stdout.splitlines() if f"  {sent['event_id']}  " in row)
    assert f"sent as {sent['locality']} on the 2024 map" in line
