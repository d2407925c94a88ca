"""`p06 publish` as a user runs it: files and stdin, FILE:LINE reasons, rejects file, spool, exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from kit.producers_support import events_of, read_topic, topic_events

from producers import simulated_events
from schemas.events import MAX_MESSAGE_BYTES, parse_message
from schemas.settings import Settings
from stack import broker as local_broker
from stack import ensure_topics

REPO = Path(__file__).resolve().parent.parent


def p06(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "p06.py", *args], cwd=REPO, input=stdin, capture_output=True)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def jsonl(events: list[dict]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


@pytest.fixture
def topics(p06_settings: Settings) -> Settings:
    ensure_topics(p06_settings)
    return p06_settings


def test_a_valid_file_is_published_whole_with_exit_0(topics: Settings, tmp_path: Path) -> None:
    events = list(simulated_events(seed=31, count=2500))
    source = tmp_path / "events.jsonl"
    source.write_bytes(jsonl(events))
    done = p06("publish", str(source))
    assert done.returncode == 0, done.stderr
    assert "accepted 2,500, rejected 0, spooled 0" in done.stdout
    assert sorted(e["event_id"] for e in topic_events(topics)) == sorted(e["event_id"] for e in events)


def test_invalid_lines_are_reported_by_line_and_written_to_rejects(topics: Settings, tmp_path: Path) -> None:
    good = list(simulated_events(seed=32, count=6))
    lines = [
        orjson.dumps(good[0]),
        b'{"event_id": "broken"',
        orjson.dumps(good[1]),
        orjson.dumps({**good[2], "event_id": "naive", "occurred_at": "2026-01-01T08:00:00"}),
        b"",  # a blank line is no event and no error
        b'{"x": "' + b"a" * MAX_MESSAGE_BYTES + b'"}',
        orjson.dumps(good[3]),
        b'{"event_id":\x00}',
        orjson.dumps({**good[4], "event_id": "extra", "note": 1}),
        orjson.dumps(good[5]),
    ]
    source, rejects = tmp_path / "mixed.jsonl", tmp_path / "out" / "rejects.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    done = p06("publish", str(source), "--rejects", str(rejects))
    assert done.returncode == 1
    reported = [line for line in done.stderr.splitlines() if line.startswith(f"{source}:")]
    assert [r.split(": ", 1)[0] for r in reported] == [f"{source}:{n}" for n in (2, 4, 6, 8, 9)]
    assert "occurred_at: Input should have timezone info" in reported[1]
    assert "longer than the" in reported[2]
    assert "note: Extra inputs are not permitted" in reported[4]
    assert "accepted 4, rejected 5, spooled 0" in done.stdout
    written = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [w["source"] for w in written] == [r.split(": ", 1)[0] for r in reported]
    assert written[0] == {"source": f"{source}:2", "reason": written[0]["reason"], "line": '{"event_id": "broken"'}
    assert all(w["reason"] for w in written)
    assert sorted(e["event_id"] for e in topic_events(topics)) == sorted(good[i]["event_id"] for i in (0, 1, 3, 5))


def test_standard_input_and_batch_size(topics: Settings) -> None:
    events = list(simulated_events(seed=33, count=300))
    done = p06("publish", "-", "--batch-size", "1", stdin=jsonl(events))
    assert done.returncode == 0, done.stderr
    records = read_topic(topics)
    assert len(records) == 300 and all(r.value.startswith(b"{") for r in records)


@pytest.mark.parametrize(
    "args",
    [(), ("no-such-file.jsonl",), ("-", "--batch-size", "0"), ("-", "--batch-size", "501"), ("--no-such-flag",)],
)
def test_usage_errors_exit_2(p06_settings: Settings, args: tuple[str, ...]) -> None:
    assert p06("publish", *args, stdin=b"").returncode == 2


def test_unreachable_broker_spools_then_drain_delivers(
    topics: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = list(simulated_events(seed=34, count=500))
    source = tmp_path / "events.jsonl"
    source.write_bytes(jsonl(events))
    monkeypatch.setenv("P06_KAFKA_BOOTSTRAP", f"127.0.0.1:{local_broker.free_port()}")
    monkeypatch.setenv("P06_PUBLISH_TIMEOUT_S", "2")
    offline = p06("publish", str(source))
    assert offline.returncode == 0, offline.stderr  # accepted: safe on disk
    assert "accepted 500, rejected 0, spooled 500" in offline.stdout
    assert "500 events wait in the spool" in offline.stderr
    still_offline = p06("publish", "--drain")
    assert still_offline.returncode == 3
    assert read_topic(topics) == []
    monkeypatch.setenv("P06_KAFKA_BOOTSTRAP", topics.kafka_bootstrap)
    drained = p06("publish", "--drain")
    assert drained.returncode == 0, drained.stderr
    assert "earlier spooled events delivered 500" in drained.stdout
    assert sorted(e["event_id"] for e in topic_events(topics)) == sorted(e["event_id"] for e in events)


def test_lines_go_out_as_written_within_the_message_size(topics: Settings, tmp_path: Path) -> None:
    """The publisher forwards the bytes it validated (a sender's +07:00, its spacing, a tab) instead of
    serialising each event again, and a locality's padded lines still never make a message the contract
    refuses for its size."""
    events = list(simulated_events(seed=34, count=40))
    others = {e["locality"] for e in events[:20]}
    ward = next(e for e in events[20:] if len(e["locality"]) == 5 and e["locality"] not in others)
    stamped = [
        orjson.dumps({**e, "occurred_at": "2026-01-02T08:00:00+07:00"}).replace(b'":', b'":\t', 1) for e in events[:20]
    ]
    padded = [b"{" + b" " * 300_000 + orjson.dumps({**ward, "event_id": f"pad-{i}"})[1:] for i in range(7)]
    source = tmp_path / "as-sent.jsonl"
    source.write_bytes(b"\n".join(stamped + padded) + b"\n")
    done = p06("publish", str(source))
    assert done.returncode == 0, done.stderr
    records = read_topic(topics)
    values = [r.value for r in records]
    assert all(len(v) <= MAX_MESSAGE_BYTES and not parse_message(v)[1] for v in values)
    sent = b"\n".join(values)
    assert all(line in sent for line in stamped + padded)  # each line byte for byte
    assert sorted(len(events_of(r)) for r in records if b"pad-" in r.value) == [1, 3, 3]  # 3 fit in 1 MB
    assert sorted(e["event_id"] for e in topic_events(topics)) == sorted(
        [e["event_id"] for e in events[:20]] + [f"pad-{i}" for i in range(7)]
    )
