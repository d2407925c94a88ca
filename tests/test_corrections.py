"""Corrections, as events (issue 24, part 2), of flows and states: the live state, the warehouse's
rollups, its archive recount and the independent recount agree, for several arrival orders and batch
cuts, and through a real broker, worker and sink with the worker SIGKILLed in the middle of the corrections.

What is covered (tests/kit/corrections.py): flows (e-ID activations, dossiers) corrected, voided,
corrected twice, a chain, arriving before their original, whose original never arrives, resent, naming
another type or instant (joins nothing); states (villages, a task, a system) corrected in their
original's place, voided (falling back to the report before, or gone), a chain, a void of an earlier
report, naming an original that never arrives (earlier than the current report: not current), naming
another entity (joins nothing); refused (not later than the instant named, outside the window, void
without supersedes, a state's void without its entity).
"""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from kit.corrections import cases
from kit.faults import assert_exact_everywhere, uncommitted, wait_until_idle, wait_until_processing
from kit.pipeline import Worker
from kit.sinkstream import SinkProcess, publish

from schemas.events import InvalidEvent, validate_event
from schemas.metrics import METRICS
from schemas.registry import registry
from schemas.settings import Settings
from sinks.checks.recount import end_of, recount
from sinks.ingest import checkpoint
from sinks.reports.history import as_text, history
from sinks.warehouse.archive import COLUMNS, TABLE, Columns, now
from sinks.warehouse.figures import from_archive, from_rollups
from sinks.warehouse.migrations import migrate
from sinks.warehouse.reader import ClientReader
from streams.state import LocalityState

SEEDS = (1, 2, 3, 4)


def test_the_cases_count_what_the_contract_says() -> None:
    """The recount of the cases, read by hand: the latest of each report counts, in November."""
    valid, refused = cases(7)
    w1, w2, w3 = registry().wards_by_province["01"][:3]
    plain = {
        w: sum(e["payload"]["count"] for e in valid if e["event_id"].startswith("e") and e["locality"] == w)
        for w in (w1, w2, w3)
    }
    counted = recount(valid + refused)
    assert counted["wards"][w1]["eid_activations"] == 500 + 11 + plain[w1]  # o1 corrected; o5 never arrived
    assert counted["wards"][w1]["dossiers_received"] == 7  # naming an e-ID count: a report of its own
    assert counted["wards"][w2].get("dossiers_received", 0) == 0  # voided
    assert counted["wards"][w2]["eid_activations"] == 77 + plain[w2]  # a chain: its last correction alone
    assert counted["wards"][w3]["eid_activations"] == 30 + 2 + plain[w3]  # corrected twice; another instant
    own = counted["provinces"]["01"]["dossiers_received"] - sum(
        counted["wards"][w]["dossiers_received"] for w in counted["wards"]
    )
    assert own == 15
    november = recount(valid, end_of(date(2026, 11, 30)))
    assert november["wards"][w1]["eid_activations"] == 500 + 11 + plain[w1]  # corrected in December, for November
    villages = {w: [counted["wards"].get(w, {}).get(m, 0) for m in ("villages", "villages_without_electricity")]
                for w in (w1, w2, w3)}  # fmt: skip
    assert villages == {w1: [2, 0], w2: [2, 0], w3: [0, 0]}  # V01 corrected, V09 apart; V02 fell back; V03 gone
    assert counted["wards"][w1]["systems_assessed"] == 1 and counted["wards"][w1]["open_findings"] == 1  # s5
    province = counted["provinces"]["01"]
    assert (province["tasks_reported"], province["tasks_completed"]) == (1, 0)  # the chain's last: not started


def test_the_contract_refuses_with_the_reason() -> None:
    _, refused = cases(7)
    reasons = []
    for event in refused:
        with pytest.raises(InvalidEvent) as err:
            validate_event(event)
        reasons.append(str(err.value))
    assert "must occur later than the event it names" in reasons[0]
    assert "more than 100 days (P06_CORRECTION_WINDOW_DAYS)" in reasons[1]
    assert "only a correction (with supersedes) may be void" in reasons[2]
    assert "a void correction of a state carries its entity's village_id alone" in reasons[3]


def _plain(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event_id"].startswith("e")]


def _hour(event: dict) -> int:
    return int(datetime.fromisoformat(event["occurred_at"]).timestamp()) // 3600 * 3600


def _live(order: list[dict], restart_at: int) -> dict[str, list[int]]:
    """The worker's state, fed in this order, written to a table and read back once midway (a restart)."""
    table: dict[str, object] = {}
    states: dict[str, LocalityState] = {}
    for i, raw in enumerate(order):
        if i == restart_at:
            for state in states.values():
                table.update(dict(state.writes()))
            states = {}
        event = validate_event(raw)
        state = states.setdefault(event.locality, LocalityState(event.locality, table.get))
        state.apply(event, received_ms=1)
    for state in states.values():
        table.update(dict(state.writes()))
    read_back = [LocalityState(key, table.get) for key in table if "/" not in key]
    return {s.locality: s.snapshot()["figures"] for s in read_back if any(s.snapshot()["figures"])}


def _as_vectors(counted: dict) -> dict[str, list[int]]:
    wards = {w: [f[m] for m in METRICS] for w, f in counted["wards"].items()}
    own = [counted["provinces"]["01"][m] - sum(f[m] for f in counted["wards"].values()) for m in METRICS]
    return {k: v for k, v in {**wards, "01": own}.items() if any(v)}


def test_live_state_in_any_order_and_across_a_restart() -> None:
    valid, _ = cases(7)
    expected = _as_vectors(recount(valid))
    for seed in SEEDS:
        order = random.Random(seed).sample(valid, len(valid))
        assert _live(order, restart_at=len(order) // 2) == expected, f"arrival order of seed {seed}"


def test_the_corrected_count_lives_in_the_originals_hour() -> None:
    valid, _ = cases(7)
    w1 = registry().wards_by_province["01"][0]
    o1 = next(e for e in valid if e["event_id"] == "o1")
    hour = _hour(o1)
    for seed in SEEDS:
        state = LocalityState(w1)
        for raw in random.Random(seed).sample(valid, len(valid)):
            if raw["locality"] == w1:
                state.apply(validate_event(raw), received_ms=1)
        plain_here = sum(
            e["payload"]["count"]
            for e in valid
            if e["locality"] == w1
            and e["event_id"].startswith("e")
            and int(datetime.fromisoformat(e["occurred_at"]).timestamp()) // 3600 * 3600 == hour
        )
        assert state.snapshot()["hours"][str(hour)][0] == 500 + plain_here


def _write(client, events: list[tuple[int, dict]]) -> None:
    columns = Columns()
    for offset, raw in events:
        columns.add(validate_event(raw), "t", 0, offset, now())
    client.insert(TABLE, columns.data, column_names=list(COLUMNS), column_oriented=True)
    checkpoint.apply(client, columns)


@pytest.mark.parametrize("seed", SEEDS)
def test_rollups_and_archive_agree_with_the_recount_in_any_order_and_cut(chdb_client, seed: int) -> None:
    """The sink's rollups and its archive recount, batches cut and ordered by the seed, one batch
    written twice (a retry), against the recount; and as of 30 November, the December corrections in."""
    migrate(chdb_client)
    valid, _ = cases(7)
    rng = random.Random(seed)
    order = list(enumerate(rng.sample(valid, len(valid))))
    cuts = sorted(rng.sample(range(1, len(order)), 3))
    batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)])]
    for i, batch in enumerate(batches):
        _write(chdb_client, batch)
        if i == 1:
            checkpoint.apply(chdb_client, _columns_of(batch))  # the same batch again: nothing changes
    reader = ClientReader(chdb_client)
    expected = recount(valid)
    for scope in ("nation", "urban", "rural", "provinces", "wards"):
        assert from_rollups(reader)[scope] == expected[scope], scope
        assert from_archive(reader)[scope] == expected[scope], scope
    nov30 = date(2026, 11, 30)
    assert from_rollups(reader, nov30)["nation"] == recount(valid, end_of(nov30))["nation"]
    assert from_archive(reader, nov30)["nation"] == recount(valid, end_of(nov30))["nation"]


def _columns_of(batch: list[tuple[int, dict]]) -> Columns:
    columns = Columns()
    for offset, raw in batch:
        columns.add(validate_event(raw), "t", 0, offset, now())
    return columns


def _chains() -> list[dict]:
    """A flow's chain (o8 <- c8a <- c8b <- c8c) in each of its 24 arrival orders, and a state's (s4 <- cs4a
    <- cs4b, the province's task T001) in each of its 6, each order its own events."""
    out = []
    for starts in (("o8", "c8"), ("s4", "cs4")):
        length = 4 if starts[0] == "o8" else 3
        for i, order in enumerate(itertools.permutations(range(length))):
            chain = [e for e in cases(7, prefix=f"p{i}-")[0] if e["event_id"].split("-", 1)[1].startswith(starts)]
            out += [chain[k] for k in order]
    return out


def test_a_chain_joins_its_originals_report_in_every_arrival_order(chdb_client) -> None:
    """Each event its own batch, so a correction named by one that arrived first finds it waiting in its
    own hour and moves it; live == rollups == archive == recount, all in the original's hour and day."""
    migrate(chdb_client)
    events = _chains()
    for offset, raw in enumerate(events):
        _write(chdb_client, [(offset, raw)])
    expected = recount(events)
    w2 = registry().wards_by_province["01"][1]
    assert expected["wards"][w2]["eid_activations"] == 24 * 77  # the last of each chain, once
    assert expected["provinces"]["01"]["tasks_reported"] == 1  # one task, its latest report: a chain's last
    reader = ClientReader(chdb_client)
    nov30 = date(2026, 11, 30)
    for scope in ("nation", "provinces", "wards"):
        assert from_rollups(reader)[scope] == expected[scope], scope
        assert from_archive(reader)[scope] == expected[scope], scope
    assert from_rollups(reader, nov30)["wards"] == recount(events, end_of(nov30))["wards"]
    assert _live(events, restart_at=len(events) // 3) == _as_vectors(expected)


def test_a_batch_applied_again_counts_a_chains_correction_once(chdb_client) -> None:
    """c8c names c8b before c8b arrives; c8b (naming c8a) then joins o8's report, and its batch is applied
    again (a retry after a cut): it must still count nothing beside c8c, the chain's latest."""
    migrate(chdb_client)
    chain = {e["event_id"]: e for e in cases(7)[0] if e["event_id"] in ("o8", "c8a", "c8b", "c8c")}
    first, second = [(0, chain["o8"]), (1, chain["c8a"]), (2, chain["c8c"])], [(3, chain["c8b"])]
    _write(chdb_client, first)
    _write(chdb_client, second)
    checkpoint.apply(chdb_client, _columns_of(second))  # the same batch again
    w2 = registry().wards_by_province["01"][1]
    assert from_rollups(ClientReader(chdb_client))["wards"][w2]["eid_activations"] == 77


def test_through_broker_worker_and_sink_with_the_worker_killed(p06_settings: Settings, tmp_path: Path) -> None:
    """Real broker, worker and sink: a round of corrections, then twenty more in a shuffled stream, the
    refused ones among them, and the worker SIGKILLed while it applies them (records processed but not
    committed, read again by its successor); live == ClickHouse == reconcile == recount after each."""
    first, refused = cases(11, prefix="a")
    rounds = [cases(100 + i, prefix=f"b{i}-") for i in range(20)]
    second = [e for valid, _ in rounds for e in valid]
    refused += [e for _, bad in rounds for e in bad]
    rng = random.Random(11)
    sink = SinkProcess(p06_settings, tmp_path / "sink.log")
    slow_commits = {"P06_WORKER_COMMIT_INTERVAL_S": "30"}  # the kill leaves processed records uncommitted
    worker = Worker(p06_settings.worker_web_port, tmp_path, **slow_commits)
    try:
        publish(p06_settings, _shuffled(first + refused[:3], rng))
        assert_exact_everywhere(p06_settings, worker, sink, _distinct(first))
        before = wait_until_idle(worker)
        publish(p06_settings, _shuffled(second + refused[3:], rng))
        wait_until_processing(worker, above=before)
        worker.kill()
        assert uncommitted(p06_settings, p06_settings.app_id) > 0, "the kill landed after the last commit"
        worker = Worker(p06_settings.worker_web_port, tmp_path, **slow_commits)
        assert_exact_everywhere(p06_settings, worker, sink, _distinct(first + second))
    finally:
        worker.stop()
        sink.stop()


def _shuffled(events: list[dict], rng: random.Random) -> list[bytes]:
    return [orjson.dumps(e) for e in rng.sample(events, len(events))]


def _distinct(events: list[dict]) -> list[dict]:
    return list({e["event_id"]: e for e in events}.values())


def test_history_shows_each_report_and_which_event_counts(chdb_client) -> None:
    migrate(chdb_client)
    valid, _ = cases(7)
    _write(chdb_client, list(enumerate(random.Random(1).sample(valid, len(valid)))))
    w1 = registry().wards_by_province["01"][0]
    shown = history(ClientReader(chdb_client), f"{w1}/report:o1")
    by_type = {r["type"]: r for r in shown["reports"]}
    assert set(by_type) == {"eid.activations", "service.dossiers"}  # c6 names o1 from another type
    eid = [(e["event_id"], e["role"], e["counts"]) for e in by_type["eid.activations"]["events"]]
    assert eid == [("o1", "original", False), ("c1", "correction", True)]  # c1 resent: archived once
    assert [e["event_id"] for e in by_type["service.dossiers"]["events"]] == ["c6"]
    text = as_text(shown)
    assert "* correction" in text and "counts: the latest occurred_at" in text
    assert "sent by a national sender (t)" in text  # written as the events topic's: a national sender's
    chain = history(ClientReader(chdb_client), f"{registry().wards_by_province['01'][1]}/report:o8")
    assert [(e["event_id"], e["counts"]) for e in chain["reports"][0]["events"]] == [
        ("o8", False),
        ("c8a", False),
        ("c8b", False),
        ("c8c", True),
    ]  # c8b names c8a, c8c names c8b: one report, o8's
    voided = history(ClientReader(chdb_client), f"{registry().wards_by_province['01'][1]}/report:o2")
    assert [(e["event_id"], e["void"], e["counts"]) for e in voided["reports"][0]["events"]] == [
        ("o2", 0, False),
        ("c2", 1, True),
    ]
    village = history(ClientReader(chdb_client), f"{registry().wards_by_province['01'][1]}/village:V02")
    assert [(e["event_id"], e["counts"], e["current"]) for e in village["events"]] == [
        ("s2a", True, True),  # the report before the voided one: current again
        ("s2b", False, False),
        ("cs2", True, False),  # counts in s2b's report: void
    ]
    assert "the only report not void" in as_text(village)
