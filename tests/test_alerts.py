"""Business alerts (issue 25) on a real broker and real workers: one alert per province and kind listing its
wards, each kind firing and resolving, webhooks signed, retried and keyed alike across a SIGKILL, a hanging
receiver never holding counting up, a wrong rules file refused; the period kinds (deadline, after_approval)
from the operators' actions on the periods topic, a silenced alert's notices; two workers, one owner per
province, a SIGKILL. About four minutes."""

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
from datetime import UTC, datetime, timedelta, timezone
from datetime import time as clock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from kit.browser import log_in
from kit.pipeline import Worker, monitor, operator, publish_raw, wait_until_both_own_partitions
from playwright.sync_api import sync_playwright

from auth.accounts import Accounts
from schemas.alerts import RulesError, count_late, load_rules, period_step, ward_update
from schemas.calendar import Calendar
from schemas.metrics import METRIC_INDEX, METRICS
from schemas.names import periods_topic
from schemas.periods import Action
from schemas.registry import registry
from schemas.settings import Settings
from stack import broker as local_broker
from stack import ensure_topics
from stack.clients import kafka_python_options
from stack.partitions import home_partition

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

[deadline]
enabled = false  # the period kinds have their own test (whether a deadline is near depends on the date)

[after_approval]
enabled = false

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


def notified(worker: Worker, receiver: Receiver, key: str, timeout_s: float = 60) -> None:
    """Until the receiver accepted the notice with this idempotency key."""
    worker.wait_until(lambda: receiver.accepted(key) or None, timeout_s, f"the notice {key}")


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
    bad.write_text("[silent]\nhours = -2\n[wrong_way]\nmovs = 1\n[deadline]\ncompleteness = 120\n")
    with pytest.raises(RulesError) as refused:
        load_rules(bad, [])
    assert "rule [silent] field hours: Input should be greater than 0" in str(refused.value)
    assert "rule [wrong_way] field movs: Extra inputs are not permitted" in str(refused.value)
    assert "rule [deadline] field completeness: Input should be less than or equal to 100" in str(refused.value)
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


def test_the_owner_judges_period_actions_as_the_writer_and_counts_only_what_arrives_after_approval() -> None:
    now = datetime.now(UTC)
    cal = Calendar()
    this_month = cal.month_of(now)
    period = cal.month_of(cal.month(this_month)[0] - timedelta(days=1))
    periods: dict[str, Any] = {}
    approve = Action(
        period=period, province="12", action="approve", expected="open", by="op-12", role="province", by_province="12"
    )
    assert period_step(periods, approve, cal, now) is None and periods[period]["status"] == "approved"
    assert "seen before" in (period_step(periods, approve, cal, now) or "")  # read twice (a crash): applied once
    stale = approve.model_copy(update={"action_id": "x1", "action": "reopen", "expected": "accepted"})
    assert "is approved now, not accepted" in (period_step(periods, stale, cal, now) or "")
    early = approve.model_copy(update={"action_id": "x2", "period": this_month, "expected": "open"})
    assert "has not ended" in (period_step(periods, early, cal, now) or "")
    # A ward record kept before months were tells no arrivals (its months are what it had); later events do, for
    # the approved period when they fall in it or before it (its figures are everything up to its end), never
    # when they fall in a later month, however few months a record keeps.
    figures = [0] * len(METRICS)
    kept = (ward_update(None, 3, 1000, figures) or [])[:5]
    known = ward_update(kept, 3, 1000, figures, {period: 3})
    assert known is not None
    count_late(periods, "12001", kept, known)
    assert periods[period]["late"] == {}
    older = f"{int(period[:4]) - 3}-{period[5:]}"  # three years late: no longer among the months kept
    grown = ward_update(known, 6, 2000, figures, {period: 4, this_month: 1, older: 1})
    assert grown is not None and older in grown[5]
    count_late(periods, "12001", known, grown)
    assert periods[period]["late"] == {"12001": 2}  # this period's and the one three years late
    many = ward_update(grown, 20, 3000, figures, {f"{int(this_month[:4]) + 1}-{m:02d}": 1 for m in range(1, 13)})
    assert many is not None and len(many[5]) == 13 and period not in many[5]
    count_late(periods, "12001", grown, many)
    assert periods[period]["late"] == {"12001": 2}  # no longer watched once older than the months kept


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
        notified(worker, receiver, f"{wrong['id']}:resolved")
        notified(worker, receiver, f"{silent['id']}:resolved")

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


SMALL = "12"  # the province with the fewest wards (38)
OTHERS_OFF = "[silent]\nenabled = false\n[wrong_way]\nenabled = false\n[dead_letters]\nenabled = false\n"


def period_action(settings: Settings, period: str, action: str, expected: str) -> None:
    """A national operator's press, written as the sink's API writes it (as the sink: only it writes the topic)."""
    press = Action(period=period, province=SMALL, action=action, expected=expected, by="nation-ops", role="national")  # type: ignore[arg-type]
    producer = KafkaProducer(**kafka_python_options(settings, "sink"), acks="all")
    producer.send(periods_topic(settings.events_topic), key=SMALL.encode(), value=press.model_dump_json().encode())
    producer.flush()
    producer.close()


def cli(worker: Worker, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "p06", "alerts", *args, "--url", worker.url], capture_output=True, text=True, timeout=60
    )


def silence(worker: Worker, alert_id: str, hours: float) -> datetime:
    """`p06 alerts silence`; the alert's record names the silence once its owner applied it."""
    run = cli(worker, "silence", alert_id, "--hours", str(hours))
    assert run.returncode == 0, run.stderr
    until = orjson.loads(run.stdout)["until"]
    wait_alert(worker, id=alert_id, silenced_until=until)
    return datetime.fromisoformat(until)


def test_period_alerts_deadline_and_after_approval_with_silenced_notices(
    p06_settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    now = datetime.now(VN)
    this_month = now.date().replace(day=1)
    previous = (this_month - timedelta(days=1)).strftime("%Y-%m")
    in_previous = datetime.combine(this_month - timedelta(days=2), clock(10), tzinfo=VN)  # stamped +07:00
    deadline_days = (now.date() - this_month).days + 3  # the previous period's deadline: in 2-3 days, whatever today
    rules = tmp_path / "alerts.toml"
    rules.write_text(
        OTHERS_OFF + "[deadline]\ndays = 4\ncompleteness = 50\nseverity = \"critical\"\n[after_approval]\nevents = 1\n"
        f'[[receivers]]\nurl = "{receiver.url}"\nprovince = "{SMALL}"\n'
    )
    wards = registry().wards_by_province[SMALL]
    first = [village(w, "V1", True, in_previous) for w in wards[:10]]
    ensure_topics(p06_settings)
    publish(p06_settings, [*first, village(wards[10], "V1", True, now)])  # this month's report: not the previous'
    worker = Worker(
        local_broker.free_port(), tmp_path, P06_ALERT_RULES=str(rules), P06_ALERT_WEBHOOK_SECRET=SECRET,
        P06_ALERT_WEBHOOK_ALLOW="http://127.0.0.1:", P06_ALERT_TICK_S="0.5",
        P06_PERIOD_DEADLINE_DAYS=str(deadline_days),
    )  # fmt: skip
    try:
        # Deadline: 10 of 38 wards reported for the previous month, its deadline in 2-3 days; one alert listing the 28.
        due = wait_alert(worker, scope=SMALL, kind="deadline", state="firing", wards=sorted(wards[10:]))
        assert due["severity"] == "critical" and due["details"] == {
            "periods": {
                previous: {
                    "deadline": f"{now.date() + timedelta(days=3)}T00:00:00+07:00",
                    "completeness": round(10 / 38, 4), "reported": 10, "wards": 38,
                }
            },
            "below_percent": 50.0,
        }  # fmt: skip
        assert len(wait_alert(worker, scope="79", kind="deadline")["wards"]) == 168  # every ward of the largest
        notified(worker, receiver, f"{due['id']}:firing")
        # Approved: no deadline alert for it. What arrives for it afterwards is an after_approval alert; a resend of
        # a report counted before, or a report of this month, is none.
        period_action(p06_settings, previous, "approve", "open")
        wait_alert(worker, id=due["id"], state="resolved")
        late = village(wards[0], "V2", True, in_previous + timedelta(hours=5))
        publish(p06_settings, [first[0], late, village(wards[1], "V3", True, now)])
        after = wait_alert(worker, scope=SMALL, kind="after_approval", state="firing")
        time.sleep(2)  # the three were sent together: all counted by now
        after = wait_alert(worker, id=after["id"])
        assert after["wards"] == [wards[0]] and after["details"] == {"arrived": {previous: 1}}
        assert not [
            a for a in alerts(worker) if a["kind"] == "deadline" and a["scope"] == SMALL and a["state"] == "firing"
        ]

        # Silenced: its notices are not sent. A reopen naming a status the period does not have is refused (so a
        # later late report still counts against the approval); the real reopen resolves it, and the deadline
        # alert fires again (11 of 38 now).
        silence(worker, after["id"], 1)
        period_action(p06_settings, previous, "reopen", "accepted")
        publish(p06_settings, [village(wards[11], "V1", True, in_previous)])
        wait_alert(worker, id=after["id"], wards=sorted([wards[0], wards[11]]), details={"arrived": {previous: 2}})
        period_action(p06_settings, previous, "reopen", "approved")
        wait_alert(worker, id=after["id"], state="resolved")
        again = wait_alert(
            worker, scope=SMALL, kind="deadline", state="firing", wards=sorted(wards[12:] + wards[10:11])
        )
        notified(worker, receiver, f"{again['id']}:firing")
        time.sleep(2)
        assert not tried(receiver, f"{after['id']}:resolved")

        # Approved again: what arrived is taken in; a new late report fires a new alert. Silenced briefly, it
        # notifies again once the silence ended.
        period_action(p06_settings, previous, "approve", "open")
        wait_alert(worker, id=again["id"], state="resolved")
        publish(p06_settings, [village(wards[12], "V1", True, in_previous)])
        second = wait_alert(worker, scope=SMALL, kind="after_approval", state="firing")
        assert second["id"] != after["id"] and second["wards"] == [wards[12]]
        notified(worker, receiver, f"{second['id']}:firing")
        until = silence(worker, second["id"], 0.001)
        time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.5)
        period_action(p06_settings, previous, "reopen", "approved")
        notified(worker, receiver, f"{second['id']}:resolved")  # the silence ended: notified again
        listed = cli(worker, "list", "--format", "json")
        assert {"deadline", "after_approval"} <= {a["kind"] for a in orjson.loads(listed.stdout)["alerts"]}
    finally:
        worker.stop()


def owns_partition(worker: Worker, topic: str, partition: int) -> bool:
    """Whether the worker counts this events partition (and so owns the same partition of the feed: Faust gives
    the partitions of topics with as many partitions to one worker alike)."""
    text = httpx.get(f"{worker.url}/metrics", auth=monitor(), timeout=5).text
    return f'p06_consumer_lag{{partition="{partition}",topic="{topic}"}}' in text


def test_two_workers_notify_one_alert_per_province_and_kind_and_keep_it_across_a_sigkill(
    p06_settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    rules = tmp_path / "alerts.toml"
    rules.write_text(
        f"[silent]\nhours = {4 / 3600}\n[wrong_way]\nmoves = 1\n[dead_letters]\nenabled = false\n"
        f"[deadline]\nenabled = false\n[after_approval]\nenabled = false\n[[receivers]]\nurl = \"{receiver.url}\"\n"
    )
    parts = p06_settings.topic_partitions
    by_partition = [
        [w for w in registry().wards_by_province[SMALL] if home_partition(w, parts) == p][:2] for p in range(parts)
    ]
    wards = sorted(w for pair in by_partition for w in pair)
    losing = sorted(pair[0] for pair in by_partition)  # one ward of each partition loses electricity
    assert len(wards) == 2 * parts
    env = {
        "P06_ALERT_RULES": str(rules), "P06_ALERT_WEBHOOK_SECRET": SECRET, "P06_ALERT_WEBHOOK_ALLOW": "http://127.0.0.1:",
        "P06_ALERT_TICK_S": "0.5", "P06_WORKER_SESSION_TIMEOUT_S": "10",
    }  # fmt: skip
    ensure_topics(p06_settings)
    a, b = Worker(local_broker.free_port(), tmp_path, **env), Worker(local_broker.free_port(), tmp_path, **env)
    try:
        wait_until_both_own_partitions(a, b)  # the province's wards are counted by both
        now = datetime.now(VN)
        publish(p06_settings, [village(w, "V1", True, now) for w in wards])
        a.wait_until(
            lambda: (a.live() or {}).get("provinces", {}).get(SMALL, {}).get("villages") == len(wards),
            60,
            "the villages",
        )
        publish(p06_settings, [village(w, "V1", False, now + timedelta(minutes=1)) for w in losing])
        wrong = wait_alert(a, scope=SMALL, kind="wrong_way", state="firing", wards=losing)
        silent = wait_alert(a, scope=SMALL, kind="silent", state="firing", wards=wards)
        for alert in (wrong, silent):
            notified(a, receiver, f"{alert['id']}:firing")
        keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
        assert {k for k in keys if k.startswith(f"{SMALL}-")} == {f"{wrong['id']}:firing", f"{silent['id']}:firing"}

        # The worker owning the province's feed partition is killed: the other takes the province over from the
        # table's changelog, with its alerts; they resolve under the same ids.
        owner, other = (a, b) if owns_partition(a, p06_settings.events_topic, home_partition(SMALL, parts)) else (b, a)
        assert owns_partition(owner, p06_settings.events_topic, home_partition(SMALL, parts))
        owner.kill()
        later = now + timedelta(minutes=2)
        publish(p06_settings, [village(w, "V1", True, later) for w in losing])
        kept = wait_alert(other, timeout_s=120, id=wrong["id"], state="resolved")
        assert kept["since"] == wrong["since"]
        assert wait_alert(other, id=silent["id"])["state"] == "firing"  # taken over as it was
        publish(p06_settings, [village(w, "V2", True, later) for w in wards])  # all at once: none silent 4 s later
        assert wait_alert(other, id=silent["id"], state="resolved")["since"] == silent["since"]
        for alert in (wrong, silent):
            notified(other, receiver, f"{alert['id']}:resolved")
        keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
        assert {k for k in keys if k.startswith(f"{SMALL}-")} == {
            f"{wrong['id']}:firing",
            f"{silent['id']}:firing",
            f"{wrong['id']}:resolved",
            f"{silent['id']}:resolved",
        }  # no alert lost, none fired twice: repeats only under the same keys
    finally:
        a.stop()
        b.stop()
