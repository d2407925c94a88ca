"""Business alerts (issue 25) on a real broker and a real worker: one alert per province and kind listing its
wards, each kind firing and resolving, webhooks signed, retried and keyed alike across a SIGKILL, a hanging
receiver never holding counting up, and a wrong rules file refused. About a minute and a half."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kit.browser import log_in
from kit.pipeline import Worker, operator, publish_raw
from playwright.sync_api import sync_playwright

from auth.accounts import Accounts
from schemas.alerts import RulesError, load_rules, ward_update
from schemas.metrics import METRIC_INDEX, METRICS
from schemas.registry import registry
from schemas.settings import Settings
from stack import broker as local_broker
from stack import ensure_topics

SECRET = "test-webhook-secret"
VN = timezone(timedelta(hours=7))  # senders in Viet Nam stamp +07:00
SILENT_S = 6.0
DEAD_LETTER_MINUTES = 0.15
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[1] / "docs"


class Receiver:
    """A webhook receiver: records every request; answers `status`, or hangs while `hang` is set."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.hang = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.status
                receiver.requests.append({"headers": dict(self.headers), "body": body, "status": status})
                while receiver.hang.is_set():
                    time.sleep(0.1)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", local_broker.free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def accepted(self, key: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["headers"]["Idempotency-Key"] == key and r["status"] == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.hang.clear()
    r.server.shutdown()


def rules_file(tmp_path: Path, receiver_url: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(
        f"""
[silent]
hours = {SILENT_S / 3600}
severity = "warning"

[wrong_way]
moves = 1
severity = "critical"

[dead_letters]
records = 3
minutes = {DEAD_LETTER_MINUTES}

[[receivers]]
url = "{receiver_url}"
province = "01"
"""
    )
    return path


def village(ward: str, village_id: str, electricity: bool, at: datetime) -> tuple[bytes, bytes]:
    event = {
        "event_id": uuid.uuid4().hex,
        "type": "village.status",
        "locality": ward,
        "occurred_at": at.astimezone(VN).isoformat(),
        "payload": {"village_id": village_id, "electricity": electricity, "internet": True},
    }
    return ward.encode(), orjson.dumps([event])


def publish(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    publish_raw(settings, settings.events_topic, list(messages))


def tried(receiver: Receiver, key: str) -> list[dict[str, Any]]:
    return [r for r in receiver.requests if r["headers"]["Idempotency-Key"] == key]


def alerts(worker: Worker) -> list[dict[str, Any]]:
    try:
        return httpx.get(f"{worker.url}/api/alerts", auth=operator(), timeout=5).json()["alerts"]
    except (httpx.HTTPError, ValueError, KeyError):
        return []


def wait_alert(worker: Worker, timeout_s: float = 60, **match: Any) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((a for a in alerts(worker) if all(a.get(k) == v for k, v in match.items())), None)

    return worker.wait_until(found, timeout_s, f"an alert with {match}", poll_s=0.3)


def panel(worker: Worker, other: dict[str, Any]) -> None:
    """The dashboard's alerts panel, pushed over the stream: its Ack button (with the session's CSRF token)
    names the operator; screenshots in both languages."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        log_in(page, worker.url, operator())
        row = page.locator(f'#alerts tr[data-id="{other['id']}"]')
        row.locator('button[data-action="ack"]').click()
        page.wait_for_selector(f'#alerts tr[data-id="{other['id']}"] >> text={operator()[0]}', timeout=30_000)  # type: ignore[index]
        assert page.locator('#alerts tr[data-state="resolved"]').count() >= 2
        page.locator("#alert-panel").screenshot(path=str(SHOTS / "alerts-panel-vi.png"), animations="disabled")
        page.goto(f"{worker.url}/dashboard/?lang=en")
        page.wait_for_selector(f'#alerts tr[data-id="{other['id']}"]', timeout=30_000)
        assert "figures moving the wrong way" in page.inner_text("#alert-panel")
        page.locator("#alert-panel").screenshot(path=str(SHOTS / "alerts-panel-en.png"), animations="disabled")
        browser.close()


def test_a_malformed_rules_file_or_a_receiver_outside_the_list_stops_the_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[silent]\nhours = -2\n[wrong_way]\nmovs = 1\n')
    with pytest.raises(RulesError) as refused:
        load_rules(bad, [])
    assert "rule [silent] field hours: Input should be greater than 0" in str(refused.value)
    assert "rule [wrong_way] field movs: Extra inputs are not permitted" in str(refused.value)
    outside = rules_file(tmp_path, "http://198.51.100.7/hook")
    with pytest.raises(RulesError, match=r"rule \[receivers\] field 0.url: http://198.51.100.7/hook is outside"):
        load_rules(outside, ["http://127.0.0.1:"])
    # The worker itself refuses to start, naming the rule, before it touches the broker.
    env = {"P06_ALERT_RULES": str(bad), "P06_KAFKA_BOOTSTRAP": "127.0.0.1:1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "p06", "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "rule [silent] field hours" in run.stderr + run.stdout


def test_a_ward_record_counts_moves_the_wrong_way_only_for_known_villages() -> None:
    figures = [0] * len(METRICS)
    figures[METRIC_INDEX["villages"]], figures[METRIC_INDEX["villages_without_electricity"]] = 3, 1
    first = ward_update(None, 3, 1000, figures)
    assert first is not None and first[3] == [0, 0, 0, 0]  # a first report is a level, not a move
    more = list(figures)
    more[METRIC_INDEX["villages"]], more[METRIC_INDEX["villages_without_electricity"]] = 4, 2
    assert ward_update(first, 4, 2000, more)[3] == [0, 0, 0, 0]  # type: ignore[index]  # a new village lacking it
    worse = list(figures)
    worse[METRIC_INDEX["villages_without_electricity"]] = 2
    moved = ward_update(first, 4, 2000, worse)
    assert moved is not None and moved[3] == [1, 0, 0, 0]  # a known village lost it
    assert ward_update(moved, 4, 2000, worse) is None  # the same record again changes nothing


def test_alerts_fire_resolve_deliver_and_survive_a_sigkill(
    p06_settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    env = {
        "P06_ALERT_RULES": str(rules_file(tmp_path, receiver.url)),
        "P06_ALERT_WEBHOOK_SECRET": SECRET,
        "P06_ALERT_WEBHOOK_ALLOW": "http://127.0.0.1:",
        "P06_ALERT_TICK_S": "0.5",
    }
    wards = registry().wards_by_province["01"][:3]
    other = registry().wards_by_province["79"][0]
    now = datetime.now(VN)
    ensure_topics(p06_settings)
    publish_raw(p06_settings, p06_settings.events_topic, [village(w, "V1", True, now) for w in (*wards, other)])
    refused = [(wards[1].encode(), b"not json %d" % i) for i in range(4)]  # 4 > 3 records refused in 9 s
    publish_raw(p06_settings, p06_settings.events_topic, refused)
    worker = Worker(local_broker.free_port(), tmp_path, **env)
    try:
        # Dead letters: more than 3 of province 01's records refused within the window, then quiet.
        letters = wait_alert(worker, scope="01", kind="dead_letters", state="firing")
        assert letters["details"] == {"records_over": 3, "minutes": DEAD_LETTER_MINUTES}
        wait_alert(worker, id=letters["id"], state="resolved")
        assert not [a for a in alerts(worker) if a["kind"] == "dead_letters" and a["scope"] != "01"]
        # Silent: one alert for province 01 listing its three wards, not three alerts; 79 has its own.
        silent = wait_alert(worker, scope="01", kind="silent", state="firing")
        silent = wait_alert(worker, id=silent["id"], wards=sorted(wards))
        assert [a["kind"] for a in alerts(worker) if a["scope"] == "01"].count("silent") == 1
        wait_alert(worker, scope="79", kind="silent", wards=[other])
        notice = receiver.accepted(f"{silent['id']}:firing")
        assert notice and set(orjson.loads(notice[0]["body"])["wards"]) <= set(wards)
        signed = "sha256=" + hmac.new(SECRET.encode(), notice[0]["body"], hashlib.sha256).hexdigest()
        assert notice[0]["headers"]["X-P06-Signature"] == signed
        assert not [r for r in receiver.requests if orjson.loads(r["body"])["scope"] == "79"]  # 01's receiver only
        # Scoped like everything else: province 79's operator sees 79's alerts only.
        password = secrets.token_urlsafe(12)
        Accounts(p06_settings.accounts_folder).add("op-79", "province", password, province="79")
        seen = httpx.get(f"{worker.url}/api/alerts", auth=("op-79", password), timeout=5).json()["alerts"]
        assert seen and {a["scope"] for a in seen} == {"79"}

        # Wrong way: a known village of the first ward loses electricity; the receiver is down meanwhile (500).
        receiver.status = 500
        publish_raw(
            p06_settings, p06_settings.events_topic, [village(wards[0], "V1", False, now + timedelta(minutes=1))]
        )
        wrong = wait_alert(worker, scope="01", kind="wrong_way", state="firing", wards=[wards[0]])
        assert wrong["severity"] == "critical" and wrong["details"]["moves"] == {"villages_without_electricity": 1}
        key = f"{wrong['id']}:firing"
        worker.wait_until(lambda: len(tried(receiver, key)) >= 2 or None, 30, "the notice tried again")
        worker.kill()  # SIGKILL while the notice is being retried

        receiver.status = 200
        worker = Worker(local_broker.free_port(), tmp_path, **env)
        again = wait_alert(worker, id=wrong["id"], state="firing")  # the alert survived, under its id
        assert again["since"] == wrong["since"]
        worker.wait_until(lambda: receiver.accepted(key) or None, 60, "the notice after the restart")
        copies = tried(receiver, key)
        assert {r["status"] for r in copies} == {500, 200} and len({r["body"] for r in copies}) == 1

        # A hanging receiver holds nothing up: the electricity comes back and the alert resolves meanwhile.
        receiver.hang.set()
        publish_raw(
            p06_settings, p06_settings.events_topic, [village(wards[0], "V1", True, now + timedelta(minutes=2))]
        )
        wait_alert(worker, id=wrong["id"], state="resolved")
        publish_raw(p06_settings, p06_settings.events_topic, [village(w, "V2", True, now) for w in wards])
        wait_alert(worker, id=silent["id"], state="resolved")
        live = httpx.get(f"{worker.url}/api/live", auth=operator(), timeout=5).json()["provinces"]["01"]
        assert (live["villages"], live["villages_without_electricity"]) == (6, 0)  # counted while it hangs
        receiver.hang.clear()
        worker.wait_until(lambda: receiver.accepted(f"{wrong['id']}:resolved") or None, 60, "the resolved notice")
        worker.wait_until(lambda: receiver.accepted(f"{silent['id']}:resolved") or None, 60, "the resolved notice")

        # The CLI: list, ack (the record names who), silence.
        cli = [sys.executable, "-m", "p06", "alerts"]
        listed = subprocess.run([*cli, "list", "--format", "json", "--url", worker.url], capture_output=True, text=True)
        assert wrong["id"] in listed.stdout, listed.stderr
        acked = subprocess.run([*cli, "ack", wrong["id"], "--url", worker.url], capture_output=True, text=True)
        assert acked.returncode == 0, acked.stderr
        wait_alert(worker, id=wrong["id"], acknowledged_by=operator()[0])  # type: ignore[index]
        unknown = subprocess.run([*cli, "ack", "01-silent-999", "--url", worker.url], capture_output=True, text=True)
        assert unknown.returncode == 1 and "no alert" in unknown.stderr
        panel(worker, wait_alert(worker, scope="79", kind="silent", state="firing"))
    finally:
        receiver.hang.clear()
        worker.stop()
