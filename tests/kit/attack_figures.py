"""The guessing attack's figures before and after issue 28, in one run, on one broker and one stream.

    cd tests && ../.venv/bin/python -m kit.attack_figures --before /tmp/p06-before

starts a secured broker of its own, then for each tree (--before: a checkout of the code before the
throttle, e.g. `git archive a92d10a | tar -x -C /tmp/p06-before`; and this one) a worker on topics of
its own, a stream beside it, and the tests' attack (kit.attack: 30 threads for 20 s and 300 guesses at
least) with the owner asking beside it; prints the guesses checked per second, the owner's p99, the
worker's CPU and its drain rate before the attack, in its first 9 s and in the next 9 s ("during").
A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from auth import Accounts
from schemas.settings import load_settings, settings
from stack import broker as local_broker
from stack.provision import provision

from .attack import Attack, Figures, Owner, Stream, client, rate
from .pipeline import Worker, monitor
from .sinkstream import make_events, messages

OWNER = ("ops", "the-owners-password")
GUESSED = ["ops", "admin", "root", "nobody", "hanoi-ops"]


def _environment(folder: Path, bootstrap: str, secrets_dir: Path) -> None:
    """The P06_* variables every child reads: this run's broker, data and accounts, the test accounts."""
    tag = uuid.uuid4().hex[:8]
    os.environ.update(
        {
            "P06_KAFKA_BOOTSTRAP": bootstrap,
            "P06_KAFKA_SECRETS_DIR": str(secrets_dir),
            "P06_DATA_DIR": str(folder / "p06"),
            "P06_ACCOUNTS_DIR": str(folder / "accounts"),
            "P06_EVENTS_TOPIC": f"a{tag}.events",
            "P06_DLQ_TOPIC": f"a{tag}.events.dlq",
            "P06_APP_ID": f"a{tag}-live",
            "P06_TOPIC_PARTITIONS": "4",
            "P06_WORKER_WEB_PORT": str(local_broker.free_port()),
        }
    )
    accounts = Accounts(folder / "accounts")
    accounts.add(OWNER[0], "national", OWNER[1])
    for kind, name, role in (("OPERATOR", "bench-national", "national"), ("MONITOR", "bench-monitor", "monitor")):
        password = secrets.token_urlsafe(16)
        accounts.add(name, role, password)
        os.environ |= {f"P06_{kind}_USER": name, f"P06_{kind}_PASSWORD": password}
    settings.cache_clear()


def _messages_read(base: str) -> float:
    text = httpx.get(f"{base}/metrics", auth=monitor(), timeout=30).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "p06_messages_total":
                return sample.value
    raise RuntimeError("no p06_messages_total in the worker's /metrics")


def measure(label: str, folder: Path, pythonpath: str | None) -> Figures:
    """One worker (of the tree on pythonpath, or this one), the stream, the attack; its figures."""
    s = load_settings()
    provision(s, wait_s=60)  # this run's topics and their ACLs
    env = {"PYTHONPATH": pythonpath} if pythonpath else {}
    worker = Worker(s.worker_web_port, folder, **env)
    try:
        deadline = time.monotonic() + 180
        while worker.live() is None:
            if time.monotonic() > deadline or worker.failure():
                raise RuntimeError(f"{label}: the worker did not answer: {worker.failure()}")
            time.sleep(0.5)
        values = messages(make_events(seed=71, n=30_000), seed=71)
        with Stream(s, values), client(worker.url) as owner_s:
            owner_s.get("/api/live", auth=OWNER).raise_for_status()  # verified once, before the attack
            before = rate(lambda: _messages_read(worker.url), 4)
            attack = Attack(worker.url, "/api/live", GUESSED, seconds=20)
            asks = itertools.cycle([lambda: owner_s.get("/api/live", auth=OWNER)])
            cpu = psutil.Process(worker.proc.pid)
            with Owner(lambda: next(asks)()) as owner:
                attacking = threading.Thread(target=attack.run)
                spent = sum(cpu.cpu_times()[:2])
                attacking.start()
                first = rate(lambda: _messages_read(worker.url), 9)  # while the first guesses are checked
                during = rate(lambda: _messages_read(worker.url), 9)
                attacking.join()
                spent = sum(cpu.cpu_times()[:2]) - spent
        print(
            f"{label}: the worker's CPU during the attack {spent:.1f} s in {attack.elapsed_s:.1f} s;"
            f" drain in its first 9 s {first:.0f} messages/s, in the next 9 s {during:.0f}",
            flush=True,
        )
        return Figures(label, attack, owner, before, during)
    finally:
        worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the throttle")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="p06-attack-") as tmp:
        root = Path(tmp)
        broker = local_broker.up(root / "broker", local_broker.free_port())
        try:
            runs = [("before", str(args.before.resolve()))] if args.before else []
            for label, pythonpath in [*runs, ("after", None)]:
                folder = root / label
                folder.mkdir()
                _environment(folder, broker.bootstrap, (broker.folder / "secrets").resolve())
                print(measure(label, folder, pythonpath).report(), flush=True)
        finally:
            local_broker.down(root / "broker", purge=True)


if __name__ == "__main__":
    main()
