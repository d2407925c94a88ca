"""The operators' dashboard in headless Chromium, on a real worker and the real broker: figures
published to Kafka appear on the open page, twice, without the page reloading; in Vietnamese by
default, in English with ?lang=en."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from kit.pipeline import log_in_form, operator
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from auth import Accounts
from schemas.events import validate_event
from schemas.metrics import METRICS, TOTAL_TASKS
from schemas.registry import registry
from schemas.settings import Settings
from sinks.checks.recount import recount
from stack.clients import kafka_python_options
from stack.processes import P06Process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "dashboard.png"  # Vietnamese, the default
SCREENSHOT_EN = SCREENSHOT.with_name("dashboard-en.png")
FIGURES_TIMEOUT_MS = 60_000  # a fresh worker joins its group and reads from the start of the topic


@pytest.fixture
def worker_url(p06_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """`p06 worker` as a subprocess, on the test's P06_* environment; stopped at the end."""
    worker = P06Process(["worker"], tmp_path / "worker.log", cwd=tmp_path)
    url = f"http://127.0.0.1:{p06_settings.worker_web_port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert worker.alive, worker.failure()
            assert time.monotonic() < deadline, "worker's web server never came up"
            try:
                if httpx.get(f"{url}/api/live", auth=operator(), timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        worker.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run .ci/install-browser"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # A context of its own: a test may open a second tab, which shares its cookies (the login).
        yield browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        browser.close()


def event(type_: str, locality: str, payload: dict, minutes_ago: float) -> dict:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    data = {
        "event_id": uuid.uuid4().hex,
        "type": type_,
        "locality": locality,
        "occurred_at": at.isoformat(),
        "payload": payload,
    }
    validate_event(data)  # the test sends only what the contract accepts
    return data


def publish(settings: Settings, events: list[dict]) -> None:
    """One message per locality: a JSON array of its events, or the object when there is one."""
    producer = KafkaProducer(**kafka_python_options(settings, "admission"), acks="all")
    by_locality: dict[str, list[dict]] = {}
    for e in events:
        by_locality.setdefault(e["locality"], []).append(e)
    for locality, batch in by_locality.items():
        value = orjson.dumps(batch[0] if len(batch) == 1 else batch)
        producer.send(settings.events_topic, key=locality.encode(), value=value)
    producer.flush()
    producer.close()


def nation_shown(page: Page, expected: dict[str, int]) -> None:
    """Waits until every national card holds the expected value; on timeout, says what was shown."""
    try:
        page.wait_for_function(
            """expected => Object.entries(expected).every(([m, v]) =>
                 document.querySelector(`#nation [data-metric="${m}"]`)?.dataset.value === String(v))""",
            arg=expected,
            timeout=FIGURES_TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        shown = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#nation [data-metric]')]"
            ".map(n => [n.dataset.metric, n.dataset.value]))"
        )
        api = httpx.get(page.url.replace("/dashboard/", "/api/live"), auth=operator(), timeout=10).json()["nation"]
        raise AssertionError(
            f"page never showed {expected}\npage: {shown}\n/api/live: {api}\nstream: {page.inner_text('#status')}"
        ) from None


def log_in(page: Page, worker_url: str, name: str, password: str, accepted: bool = True) -> None:
    """As an operator does: the dashboard sends them to the login page, and back once logged in."""
    page.goto(f"{worker_url}/dashboard/")
    assert page.url.startswith(f"{worker_url}/login"), page.url
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if accepted:
        page.wait_for_url(f"{worker_url}/dashboard/")


def test_dashboard_follows_the_stream_without_reloading(p06_settings: Settings, worker_url: str, page: Page) -> None:
    reg = registry()
    first, last = reg.provinces[0], reg.provinces[-1]
    ward_a, ward_b = reg.wards_by_province[last][:2]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    log_in(page, worker_url, *operator())
    page.wait_for_selector("#status[data-state=live]")
    nation_shown(page, dict.fromkeys(METRICS, 0))
    # Set after load: a reload would wipe it.
    page.evaluate("window.loadMarker = 'first load'")
    assert page.locator('#provinces tr[data-code="01"] th').inner_text() == "Thành phố Hà Nội"
    assert page.get_attribute("html", "lang") == "vi"
    assert page.inner_text("h1") == "Đề án 06 · Số liệu toàn quốc trực tuyến"
    assert page.inner_text("#status") == "● trực tuyến"
    assert page.inner_text("#gap thead").split() == ["Thành", "thị", "Nông", "thôn", "Chênh", "lệch"]

    round_one = [
        *(event("task.status", first, {"task_id": f"T{n:03d}", "status": "completed"}, 30) for n in range(1, 11)),
        event("task.status", first, {"task_id": "T011", "status": "in_progress"}, 30),
        event("village.status", ward_a, {"village_id": "V01", "electricity": True, "internet": True}, 20),
        event("village.status", ward_a, {"village_id": "V02", "electricity": False, "internet": True}, 20),
        event("village.status", ward_a, {"village_id": "V03", "electricity": True, "internet": False}, 20),
        event("eid.activations", ward_a, {"count": 1234}, 10),
        event("service.dossiers", ward_b, {"received": 50, "online": 30, "on_time": 45}, 10),
        event("security.assessment", last, {"system_id": "email", "result": "failed", "open_findings": 4}, 10),
    ]
    publish(p06_settings, round_one)
    expected = recount(round_one)["nation"]
    nation_shown(page, expected)
    assert page.locator('#nation [data-metric="eid_activations"]').inner_text() == "1.234"
    assert (
        page.locator('#nation .card:has([data-metric="eid_activations"]) .label').inner_text()
        == "Tài khoản định danh điện tử (VNeID) đã kích hoạt"
    )
    assert page.locator(f'#provinces tr[data-code="{first}"] [data-metric="tasks_completed"]').inner_text() == "10"
    assert page.locator(f'#provinces tr[data-code="{first}"] [data-metric="tasks_share"]').inner_text() == "4,4%"
    national_tasks = f"{10 / (TOTAL_TASKS * len(reg.provinces)):.1%}"
    assert page.locator("#target-tasks strong").inner_text() == national_tasks.replace(".", ",")
    assert page.locator("#target-power .note").inner_text() == "2/3 thôn đã báo cáo"
    shown = page.inner_text("body")
    assert not [
        word for word in ("Villages", "Targets", "Province", "live", "ago", "Nation", "Log out") if word in shown
    ], shown

    # The same figures in English, on a second tab: labels and number formats follow ?lang=en.
    english = page.context.new_page()
    english.on("pageerror", lambda exc: errors.append(str(exc)))
    english.goto(f"{worker_url}/dashboard/?lang=en")
    nation_shown(english, expected)
    assert english.get_attribute("html", "lang") == "en"
    assert english.inner_text("h1") == "Project 06 · live national figures"
    assert english.locator('#nation [data-metric="eid_activations"]').inner_text() == "1,234"
    assert (
        english.locator('#nation .card:has([data-metric="eid_activations"]) .label').inner_text()
        == "e-ID (VNeID) accounts activated"
    )
    assert english.locator(f'#provinces tr[data-code="{first}"] [data-metric="tasks_share"]').inner_text() == "4.4%"
    assert english.locator("#target-power .note").inner_text() == "2 of 3 villages reported"
    assert (
        english.locator('#provinces tr[data-code="01"] th').inner_text() == "Thành phố Hà Nội"
    )  # names stay Vietnamese
    shown = english.inner_text("body")
    assert not [
        word for word in ("Mục tiêu", "trực tuyến", "Toàn quốc", "xã/phường", "thôn", "Đăng xuất") if word in shown
    ], shown
    english.click('#languages a[data-lang="vi"]')  # the switch: back to Vietnamese
    english.wait_for_function("document.documentElement.lang === 'vi'")
    assert english.url.endswith("/dashboard/?lang=vi")
    nation_shown(english, expected)
    assert english.locator('#nation [data-metric="eid_activations"]').inner_text() == "1.234"
    english.goto(f"{worker_url}/dashboard/?lang=en")
    nation_shown(english, expected)

    # Later news: a task completed, more activations, and a resend that must not count twice.
    round_two = [
        event("task.status", first, {"task_id": "T011", "status": "completed"}, 5),
        event("eid.activations", ward_a, {"count": 66}, 1),
    ]
    publish(p06_settings, [*round_two, round_one[-3]])
    expected = recount(round_one + round_two)["nation"]
    assert expected["eid_activations"] == 1300 and expected["tasks_completed"] == 11
    nation_shown(page, expected)
    assert page.evaluate("window.loadMarker") == "first load"

    # Sorting by e-ID activations, largest first, puts the last province on top.
    page.click('#provinces thead th[data-key="eid_activations"]')
    assert page.locator("#provinces tbody tr").first.get_attribute("data-code") == last
    assert errors == []

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True, animations="disabled")  # no change flashes
    nation_shown(english, expected)
    english.click('#provinces thead th[data-key="eid_activations"]')
    english.screenshot(path=str(SCREENSHOT_EN), full_page=True, animations="disabled")
    assert errors == []


def test_the_catalogue_is_served_in_either_language_and_a_wrong_one_is_refused(worker_url: str) -> None:
    """What the page reads first: GET messages.json, public like the page's static files."""
    vi = httpx.get(f"{worker_url}/dashboard/messages.json", timeout=10)
    assert vi.status_code == 200 and vi.json()["lang"] == "vi" and vi.json()["locale"] == "vi-VN"
    en = httpx.get(f"{worker_url}/dashboard/messages.json", params={"lang": "en"}, timeout=10).json()
    assert en["messages"]["dashboard.heading"] == "Project 06 · live national figures"
    assert set(en["messages"]) == set(vi.json()["messages"])
    wrong = httpx.get(f"{worker_url}/dashboard/messages.json", params={"lang": "fr"}, timeout=10)
    assert wrong.status_code == 400 and "use one of vi, en" in wrong.json()["error"]


def test_the_login_page_speaks_the_dashboard_s_language(worker_url: str) -> None:
    """Vietnamese by default; a dashboard asked for in English sends to an English login, which returns there."""
    vi = httpx.get(f"{worker_url}/login", timeout=10)
    assert (
        '<html lang="vi">' in vi.text and "<h1>Đề án 06 · Đăng nhập</h1>" in vi.text and ">Mật khẩu</label>" in vi.text
    )
    sent = httpx.get(f"{worker_url}/dashboard/?lang=en", timeout=10)
    where = urlsplit(sent.headers["Location"])
    assert (
        sent.status_code == 303
        and where.path == "/login"
        and parse_qs(where.query) == {"next": ["/dashboard/?lang=en"]}
    )
    en = httpx.get(f"{worker_url}{sent.headers['Location']}", timeout=10)
    assert (
        '<html lang="en">' in en.text
        and ">Log in</button>" in en.text
        and 'name="next" value="/dashboard/?lang=en"' in en.text
    )
    with httpx.Client(base_url=worker_url, timeout=10) as browser:
        refused = log_in_form(browser, name="nobody", password="wrong", next="/dashboard/?lang=en")
        assert refused.status_code == 401 and "Wrong account name or password" in refused.text
        refused = log_in_form(browser, name="nobody", password="wrong", next="/dashboard/")
        assert "Sai tên tài khoản hoặc mật khẩu" in refused.text


def test_a_province_operator_sees_their_province_only(p06_settings: Settings, worker_url: str, page: Page) -> None:
    """Logged in as province A's operator: A's row and figures, no nation, no other province; a wrong
    password stays on the login page."""
    reg = registry()
    mine, other = reg.provinces[-1], reg.provinces[0]
    password = secrets.token_urlsafe(16)
    Accounts(p06_settings.accounts_folder).add("ops-a", "province", password, mine)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    log_in(page, worker_url, "ops-a", "not-the-password", accepted=False)  # the form again, with a message
    page.wait_for_selector("p.error[role=alert]")
    assert page.url.startswith(f"{worker_url}/login")
    log_in(page, worker_url, "ops-a", password)
    page.wait_for_selector("#status[data-state=live]")

    sent = [
        event("eid.activations", reg.wards_by_province[mine][0], {"count": 321}, 5),
        event("eid.activations", reg.wards_by_province[other][0], {"count": 999}, 5),
    ]
    publish(p06_settings, sent)
    cell = f'#provinces tr[data-code="{mine}"] [data-metric="eid_activations"]'
    page.wait_for_function(f"document.querySelector('{cell}')?.dataset.value === '321'", timeout=FIGURES_TIMEOUT_MS)
    assert [tr.get_attribute("data-code") for tr in page.locator("#provinces tbody tr").all()] == [mine]
    assert page.locator("#nation").count() == 0 and page.locator("#provinces tfoot").count() == 0
    assert "999" not in page.inner_text("body")  # the other province's figure reached the worker, not this page
    assert reg.localities[mine].name in page.locator("h1").inner_text()
    # Log out: the form carries the session's CSRF token (from /api/me), so the worker ends the session.
    with page.expect_navigation():
        page.click("form.logout button")
    assert urlsplit(page.url).path == "/login", page.url
    assert page.request.get(f"{worker_url}/api/me").status == 401  # the session is over
    page.goto(f"{worker_url}/dashboard/")
    assert urlsplit(page.url).path == "/login", page.url  # and the page is not served from the browser's cache
    assert errors == []
