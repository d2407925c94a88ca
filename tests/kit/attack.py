"""A password-guessing attack on a real service, what its owner sees meanwhile, and a stream beside it.

`Attack`: many threads guessing passwords (HTTP Basic, and the login form with its CSRF token) from one
address as fast as the service answers. `Owner`: the legitimate operator's requests (verified
credentials, a session), timed. `Stream`: events published at a steady pace, so that the service's
drain rate can be compared before and during the attack. Figures: `Figures`, printed by the tests.
"""

from __future__ import annotations

import itertools
import multiprocessing
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from kafka import KafkaProducer

from schemas.settings import Settings
from stack.clients import kafka_python_options

from .sinkstream import sender_key


def client(base: str, source: str = "127.0.0.1", **kwargs) -> httpx.Client:
    """An HTTP client whose connections leave from `source` (any 127.x.y.z reaches a 127.0.0.1 listener)."""
    return httpx.Client(base_url=base, timeout=30, transport=httpx.HTTPTransport(local_address=source), **kwargs)


def csrf_token(html: str) -> str:
    """The login form's CSRF token; empty for a form without one (the code before issue 28: its figures)."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    return found.group(1) if found else ""


@dataclass
class Attack:
    """`threads` threads guessing, for `seconds` and at least `at_least` guesses (a minute more at most), the
    passwords of `names` at `path` (Basic) and at /login (every `form_every`-th thread posts the form instead)."""

    base: str
    path: str
    names: list[str]
    threads: int = 30
    seconds: float = 10.0
    at_least: int = 300
    form_every: int = 6
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after: list[int] = field(default_factory=list)
    guesses: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _guess(self, http: httpx.Client, n: int, form: bool, token: str, binding: dict[str, str]) -> httpx.Response:
        name, password = self.names[n % len(self.names)], f"guess-{n}-{time.monotonic_ns()}"
        with self._lock:
            self.guesses.append(password)
        if form:  # the CSRF cookie sent by hand: a Secure one (https public URL) would stay in the jar over http
            return http.post("/login", data={"name": name, "password": password, "csrf": token}, headers=binding)
        return http.get(self.path, auth=(name, password))

    def _run(self, number: int, until: float) -> None:
        form = number % self.form_every == 0
        with client(self.base) as http:
            page = http.get("/login") if form else None
            token = csrf_token(page.text) if page else ""
            cookie = page.headers.get("set-cookie", "") if page else ""
            binding = {"Cookie": cookie.partition(";")[0]} if cookie else {}
            for n in itertools.count(number * 100_000):
                if time.monotonic() >= until and (self.total >= self.at_least or time.monotonic() >= until + 60):
                    return
                r = self._guess(http, n, form, token, binding)
                with self._lock:
                    self.statuses[r.status_code] += 1
                    if r.status_code == 429:
                        self.retry_after.append(int(r.headers["Retry-After"]))

    def run(self) -> None:
        started = time.monotonic()
        until = started + self.seconds
        workers = [threading.Thread(target=self._run, args=(i, until)) for i in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.elapsed_s = time.monotonic() - started

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


@dataclass
class Owner:
    """The legitimate operator: `ask` (an authenticated request) every `every_s`, timed, until stopped."""

    ask: Callable[[], httpx.Response]
    every_s: float = 0.1
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            status = self.ask().status_code
            self.latencies_s.append(time.monotonic() - started)
            self.statuses[status] += 1
            self._stop.wait(self.every_s)

    def __enter__(self) -> Owner:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=60)

    def p99_s(self) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    def median_s(self) -> float:
        return statistics.median(self.latencies_s)


def _publish(settings: Settings, values: list[bytes], per_tick: int, tick_s: float, stop: Any) -> None:
    """The stream's own process: per_tick values every tick_s, until stop is set or the values run out."""
    producer = KafkaProducer(**kafka_python_options(settings, "admission"), acks="all", linger_ms=5)
    try:
        for start in range(0, len(values), per_tick):
            if stop.is_set():
                break
            for value in values[start : start + per_tick]:
                producer.send(settings.events_topic, value, key=sender_key(value))
            stop.wait(tick_s)
        producer.flush()
    finally:
        producer.close()


class Stream:
    """Kafka values published at a steady pace (per_tick every tick_s) on the events topic until stopped, from
    a process of its own: the attack's threads share this one's interpreter lock, not the stream."""

    def __init__(self, settings: Settings, values: list[bytes], per_tick: int = 10, tick_s: float = 0.1) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._process = context.Process(
            target=_publish, args=(settings, values, per_tick, tick_s, self._stop), daemon=True
        )

    def __enter__(self) -> Stream:
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(timeout=60)


def rate(read: Callable[[], float], seconds: float) -> float:
    """How fast the figure read() advances, per second, over the next `seconds`."""
    first, started = read(), time.monotonic()
    time.sleep(seconds)
    return (read() - first) / (time.monotonic() - started)


@dataclass
class Figures:
    """What a run measured, printed as one line per figure."""

    service: str
    attack: Attack
    owner: Owner
    drain_before: float
    drain_during: float

    def report(self) -> str:
        a, checked = self.attack, self.attack.statuses[401]
        return "\n".join(
            [
                f"{self.service}: {a.total} guesses from {a.threads} threads in {a.elapsed_s:.1f} s"
                f" ({a.total / a.elapsed_s:.0f}/s), answers {dict(sorted(a.statuses.items()))}",
                f"{self.service}: guesses accepted for checking {checked} ({checked / a.elapsed_s:.2f}/s);"
                f" Retry-After seen {min(a.retry_after, default=0)}..{max(a.retry_after, default=0)} s",
                f"{self.service}: the owner's requests {sum(self.owner.statuses.values())}"
                f" {dict(self.owner.statuses)}, median {self.owner.median_s() * 1000:.0f} ms,"
                f" p99 {self.owner.p99_s() * 1000:.0f} ms",
                f"{self.service}: drain {self.drain_before:.0f} messages/s before, {self.drain_during:.0f} during",
            ]
        )
