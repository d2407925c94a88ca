"""Publish throughput in one run, same simulated events for every case, each on its own fresh topic:

  raw        kafka-python producer, acks=all, one event per message (linger 5 ms, 64 KB batches)
  batched    Publisher, validation + batches of up to 500 events per locality (the default)
  single     Publisher, validation + one event per message (--batch-size 1)
  cli        `p06 publish FILE` of the same events as JSON Lines, process start included

    P06_KAFKA_BOOTSTRAP=127.0.0.1:19092 .venv/bin/python -m bench.publisher_compare --events 100000
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
from kafka import KafkaProducer

from producers import Publisher, simulated_events
from schemas.settings import Settings, load_settings
from streams.topics import ensure_topics

REPO = Path(__file__).resolve().parent.parent
CHUNK = 20_000  # what `p06 publish` hands the Publisher per call


def _fresh(base: Settings, case: str, work: Path) -> Settings:
    s = base.model_copy(update={"events_topic": f"bench.publish.{uuid.uuid4().hex[:8]}.{case}", "data_dir": work / case})
    ensure_topics(s)
    return s


def raw(s: Settings, lines: list[bytes], keys: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=5, batch_size=64 * 1024)
    for key, line in zip(keys, lines):
        producer.send(s.events_topic, key=key, value=line)
    producer.flush()
    producer.close()


def library(batch_size: int) -> Callable[[Settings, list[bytes], list[bytes]], None]:
    def run(s: Settings, lines: list[bytes], keys: list[bytes]) -> None:
        with Publisher(s, batch_size=batch_size) as publisher:
            for i in range(0, len(lines), CHUNK):
                result = publisher.publish(lines[i : i + CHUNK])
                assert result.delivered == len(lines[i : i + CHUNK]), result.error
    return run


def cli(s: Settings, lines: list[bytes], keys: list[bytes]) -> None:
    source = s.data_dir.parent / f"{s.events_topic}.jsonl"
    source.write_bytes(b"".join(line + b"\n" for line in lines))
    env = {**os.environ, "P06_EVENTS_TOPIC": s.events_topic, "P06_DATA_DIR": str(s.data_dir)}
    subprocess.run([sys.executable, "p06.py", "publish", str(source)], cwd=REPO, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    events = list(simulated_events(seed=args.seed, count=args.events))
    lines = [orjson.dumps(e) for e in events]
    keys = [e["locality"].encode() for e in events]
    base = load_settings()
    cases = {"raw": raw, "batched": library(base.batch_size), "single": library(1), "cli": cli}
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as work:
        for name, case in cases.items():
            s = _fresh(base, name, Path(work))
            started = time.perf_counter()
            case(s, lines, keys)
            rates[name] = len(lines) / (time.perf_counter() - started)
    print(f"{args.events:,} events, broker {base.kafka_bootstrap}, {base.topic_partitions} partitions")
    for name, rate in rates.items():
        print(f"{name:8s} {rate:10,.0f} events/s   x{rate / rates['raw']:.2f} of raw")


if __name__ == "__main__":
    main()
