"""The operations alerts (ops/prometheus/rules.yml): the metrics they read, promtool's unit tests, and
one run with Debian's real Prometheus and Alertmanager, scraping the worker, the sink and admission, that
pages when the worker stops and resolves when it is back. About 40 s on two cores, most of it the
worker starting twice."""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from clickhouse_connect.driver.exceptions import OperationalError
from kit.faults import Sink
from kit.pipeline import Worker, monitor, operator, publish_raw, seeded_events
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from producers import as_messages
from schemas.names import ingestion_topic
from schemas.registry import registry
from schemas.settings import Settings
from sinks.ingest.stats import Stats as SinkStats
from sinks.warehouse.store import Store
from stack import broker as local_broker
from stack import ensure_ingestion_topics, ensure_topics
from stack.processes import P06Process
from streams.admission import Admission
from streams.admission_metrics import admission_registry
from streams.stats import Consumer, Stats, metrics_registry, render

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "ops" / "prometheus" / "rules.yml"
BINARIES = ("prometheus", "promtool", "prometheus-alertmanager")
MISSING = [b for b in BINARIES if shutil.which(b) is None]
needs_prometheus = pytest.mark.skipif(
    bool(MISSING), reason=f"{', '.join(MISSING)} not installed: `bash .ci/install-prometheus` (CI runs it)"
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_worker_reports_lag_in_seconds_and_its_rebalances() -> None:
    stats = Stats(rebalances=3)
    now = time.time()
    stats.positions = {("events", 0): 9, ("events", 1): 4}
    stats.read_at = {("events", 0): now - 120, ("events", 1): now - 500}
    ends = {0: 20, 1: 5}  # partition 0: ten wait behind a message read two minutes ago; 1: caught up
    consumer = Consumer(position_gaps=lambda: 0, assigned_partitions=lambda: 2, highwater=lambda t, p: ends[p])
    got = samples(render(metrics_registry(stats, consumer)))
    assert got[("p06_consumer_lag", (("partition", "0"), ("topic", "events")))] == 10
    assert 119 <= got[("p06_consumer_lag_seconds", (("partition", "0"), ("topic", "events")))] <= 125
    assert got[("p06_consumer_lag_seconds", (("partition", "1"), ("topic", "events")))] == 0  # old, but none wait
    assert got[("p06_rebalances_total", ())] == 3
    stats.keep_only({("events", 1)})  # a rebalance took partition 0: another worker moves it on now
    got = samples(render(metrics_registry(stats, consumer)))
    assert [labels for name, labels in got if name == "p06_consumer_lag_seconds"] == [
        (("partition", "1"), ("topic", "events"))
    ]


def test_admission_reports_what_it_moved_and_its_lag_in_seconds() -> None:
    stage = Admission(Settings(), client_options={"bootstrap_servers": "not used: nothing connects"})
    stage.admitted, stage.rejected, stage.restarts = 40, 2, 1
    now = time.time()
    stage.read = {("p06.events.in.01", 0): (9, now - 400), ("p06.events.in.79", 0): (3, now - 900)}
    stage.waiting = {("p06.events.in.01", 0): 5, ("p06.events.in.79", 0): 0}
    got = samples(generate_latest(admission_registry(stage)).decode())
    assert got[("p06_admission_admitted_total", ())] == 40 and got[("p06_admission_rejected_total", ())] == 2
    assert got[("p06_admission_client_restarts_total", ())] == 1
    assert got[("p06_admission_lag", (("partition", "0"), ("topic", "p06.events.in.01")))] == 5
    assert 399 <= got[("p06_admission_lag_seconds", (("partition", "0"), ("topic", "p06.events.in.01")))] <= 405
    assert got[("p06_admission_lag_seconds", (("partition", "0"), ("topic", "p06.events.in.79")))] == 0


def test_sink_lag_seconds_is_the_age_of_its_last_commit_while_records_wait() -> None:
    stats = SinkStats()
    assert stats.lag_seconds(time.time()) == -1  # not measured yet
    stats.lag = 50
    assert stats.lag_seconds(stats.started_at + 30) == pytest.approx(30)  # nothing committed: behind since its start
    stats.committed_ms = int((stats.started_at + 100) * 1000)
    assert stats.lag_seconds(stats.started_at + 700) == pytest.approx(600, abs=0.01)
    stats.lag = 0
    assert stats.lag_seconds(stats.started_at + 700) == 0


def test_a_write_clickhouse_refuses_is_counted() -> None:
    store = Store(Settings(clickhouse_url=f"http://127.0.0.1:{local_broker.free_port()}"))  # nobody listens
    with pytest.raises(OperationalError):
        store.write(lambda client: None)
    with pytest.raises(OperationalError):
        store.write(lambda client: None)
    assert (store.write_errors, store.up) == (2, False)


@needs_prometheus
def test_promtool_checks_the_rules_and_their_unit_tests_pass() -> None:
    for args in (["check", "rules", "rules.yml"], ["test", "rules", "rules.test.yml"]):
        done = subprocess.run(["promtool", *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    fired = {a for a in re.findall(r"alertname: (\w+)", (RULES.parent / "rules.test.yml").read_text())}
    assert fired == {r["alert"] for r in rules()}  # every alert has its test


def rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


class Receiver(ThreadingHTTPServer):
    """Alertmanager's webhook receiver: each notice's JSON body, in arrival order."""

    def __init__(self) -> None:
        self.notices: queue.Queue[dict[str, Any]] = queue.Queue()
        super().__init__(("127.0.0.1", local_broker.free_port()), Notice)

    def wait_for(self, status: str, alertname: str, instance: str, since: str, timeout_s: float) -> dict[str, Any]:
        """The first such alert that started at `since` (UTC, to the second) or later: the worker was also
        down while it started, before Prometheus first reached it."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                notice = self.notices.get(timeout=left)
            except queue.Empty:
                break
            for alert in notice["alerts"]:
                labels = alert["labels"]
                wanted = (alert["status"], labels["alertname"], labels.get("instance")) == (status, alertname, instance)
                if wanted and alert["startsAt"][:19] >= since:
                    return alert
        raise AssertionError(f"no {status} {alertname} for {instance} reached the receiver in {timeout_s}s")


class Notice(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert isinstance(self.server, Receiver)
        self.server.notices.put(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the test reports what matters
        pass


def fast_rules(folder: Path) -> Path:
    """The repository's rules as they are, each `for` cut to 2 s so the test takes seconds."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "2s"
    path = folder / "rules.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


def prometheus_config(folder: Path, rules: Path, alertmanager: int, targets: dict[str, str]) -> Path:
    """Scrape every second as the monitor account (its password in an owner-only file), as compose does,
    and the worker once more without it."""
    user, password = monitor() or ("", "")
    password_file = folder / "monitor-password"
    password_file.write_text(password)
    password_file.chmod(0o600)
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager}"]}]}]},
        "scrape_configs": [
            {
                "job_name": job,
                "basic_auth": {"username": user, "password_file": str(password_file)},
                "static_configs": [{"targets": [target]}],
            }
            for job, target in targets.items()
        ]
        + [  # the worker again, without an account: refused, so down
            {
                "job_name": "p06-no-account",
                "static_configs": [{"targets": [targets["p06-worker"]], "labels": {"instance": "no-account"}}],
            }
        ],
    }
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def alertmanager_config(folder: Path, receiver: int) -> Path:
    """One webhook receiver; grouping and resend intervals of a second instead of minutes."""
    config = {
        "route": {
            "receiver": "test",
            "group_by": ["alertname", "instance"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {"name": "test", "webhook_configs": [{"url": f"http://127.0.0.1:{receiver}/", "send_resolved": True}]}
        ],
    }
    path = folder / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def monitoring(tmp_path: Path) -> Iterator[tuple[Receiver, list[P06Process], Path]]:
    """The receiver in this process; started servers are stopped at the end."""
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    started: list[P06Process] = []
    yield receiver, started, tmp_path
    for process in reversed(started):
        process.stop()
    receiver.shutdown()


def start_servers(folder: Path, receiver: Receiver, targets: dict[str, str]) -> tuple[P06Process, P06Process, str]:
    """Alertmanager, then Prometheus sending to it; the Prometheus API's base URL."""
    am_port, prom_port = local_broker.free_port(), local_broker.free_port()
    alertmanager = P06Process(
        [],
        folder / "alertmanager.log",
        argv=[
            "prometheus-alertmanager",
            f"--config.file={alertmanager_config(folder, receiver.server_address[1])}",
            f"--storage.path={folder / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ],
        measure_rss=False,
    )
    prometheus = P06Process(
        [],
        folder / "prometheus.log",
        argv=[
            "prometheus",
            f"--config.file={prometheus_config(folder, fast_rules(folder), am_port, targets)}",
            f"--storage.tsdb.path={folder / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--rules.alert.resend-delay=1s",
        ],
        measure_rss=False,
    )
    return alertmanager, prometheus, f"http://127.0.0.1:{prom_port}"


def query(api: str, promql: str) -> list[dict[str, Any]]:
    try:
        answer = httpx.get(f"{api}/api/v1/query", params={"query": promql}, timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return []
    return answer["data"]["result"] if answer.get("status") == "success" else []


def target_error(api: str, job: str) -> str:
    targets = httpx.get(f"{api}/api/v1/targets", timeout=2).json()["data"]["activeTargets"]
    return " ".join(target["lastError"] for target in targets if target["scrapePool"] == job)


def wait_until(what: str, check, timeout_s: float, *processes: P06Process) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        for p in processes:
            assert p.failure() is None, p.failure()
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout_s}s; " + " | ".join(p.tail(10) for p in processes))


@needs_prometheus
def test_worker_stopped_pages_through_alertmanager_and_resolves_when_back(
    p06_settings: Settings, monitoring: tuple[Receiver, list[P06Process], Path]
) -> None:
    receiver, started, folder = monitoring
    s = p06_settings
    ensure_topics(s)
    ensure_ingestion_topics(s)
    events = seeded_events(seed=25, count=300)
    home = registry().get(events[0]["locality"]).province
    events = [e for e in events if registry().get(e["locality"]).province == home]  # one province's senders
    publish_raw(s, ingestion_topic(s.events_topic, home), as_messages(events, seed=25))
    port = local_broker.free_port()
    worker = Worker(port, folder)
    started.append(worker)
    started.append(sink := Sink(folder, P06_SINK_API_HOST="127.0.0.2"))  # as compose's 0.0.0.0: not only 127.0.0.1
    started.append(admission := P06Process(["admission"], folder / "admission.log"))
    targets = {
        "p06-worker": f"127.0.0.1:{port}",
        "p06-sink": f"127.0.0.2:{s.sink_api_port}",
        "p06-admission": f"127.0.0.1:{s.admission_metrics_port}",
    }
    alertmanager, prometheus, api = start_servers(folder, receiver, targets)
    started += [alertmanager, prometheus]
    everyone = (worker, sink, admission, alertmanager, prometheus)

    # Scraped with the monitor account (a refused scrape is up 0); the events went through admission to the worker.
    wait_until("every target up", lambda: len(query(api, "up == 1")) == 3, 120, *everyone)
    wait_until("the worker's lag in seconds", lambda: query(api, "p06_consumer_lag_seconds"), 120, *everyone)
    moved = f"p06_admission_admitted_total == {len(events)}"
    wait_until(
        "admission's figures", lambda: query(api, moved) and query(api, "p06_admission_lag_seconds"), 60, *everyone
    )
    named = {name for rule in rules() for name in re.findall(r"\bp06_\w+", rule["expr"])}
    missing = {name for name in named if not query(api, f"count({name})")}
    assert not missing, f"the rules read metrics no service exposes: {missing}"
    wait_until("the sink's ClickHouse ready", lambda: query(api, "p06_sink_clickhouse_up == 1"), 60, *everyone)
    assert query(api, "p06_sink_clickhouse_write_errors_total == 0")
    assert query(api, "p06_rebalances_total >= 1")  # its first assignment
    refused = receiver.wait_for("firing", "P06ProcessDown", "no-account", "", 30)  # a scrape needs the account
    assert refused["labels"]["job"] == "p06-no-account" and "401" in target_error(api, "p06-no-account")
    admission_metrics = f"http://127.0.0.1:{s.admission_metrics_port}/metrics"
    assert [httpx.get(admission_metrics, auth=who).status_code for who in (None, operator())] == [401, 403]

    instance = f"127.0.0.1:{port}"
    stopped, since = time.monotonic(), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    worker.stop()
    fired = receiver.wait_for("firing", "P06ProcessDown", instance, since, 60)
    fired_after = time.monotonic() - stopped
    assert fired["labels"]["severity"] == "critical" and fired["labels"]["job"] == "p06-worker"
    assert instance in fired["annotations"]["summary"] and "p06 worker" in fired["annotations"]["description"]

    restarted = time.monotonic()
    started.append(again := Worker(port, folder))
    resolved = receiver.wait_for("resolved", "P06ProcessDown", instance, fired["startsAt"][:19], 120)
    assert resolved["startsAt"] == fired["startsAt"]  # the same alert, now over
    assert again.alive and sink.alive
    print(f"\nP06ProcessDown fired {fired_after:.1f} s after the stop, resolved {time.monotonic() - restarted:.1f} s")
