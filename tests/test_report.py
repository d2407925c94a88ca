"""`p06 report` and `p06 history` on figures the real sink archived, against an independent recount."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from kit.sinkstream import P06, archived_by_sink, publish

from schemas.metrics import INDICATORS
from schemas.registry import registry
from schemas.settings import Settings
from sinks.checks.recount import end_of, recount

REPO = Path(__file__).resolve().parent.parent
SCOPES = ("nation", "urban", "rural")


def p06(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([P06, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def national(*args: str) -> dict:
    return json.loads(p06("report", "national", "--format", "json", *args).stdout)


def assert_figures(report: dict, expected: dict) -> None:
    for scope in SCOPES:
        assert report[scope] == expected[scope], scope
    for code in registry().provinces:
        assert report["provinces"][code] == expected["provinces"].get(code, dict.fromkeys(report["nation"], 0)), code


@pytest.fixture
def archived(p06_settings: Settings, tmp_path: Path):
    events, sink = archived_by_sink(p06_settings, tmp_path / "sink.log", seed=21, n=500)
    yield events, sink
    sink.stop()


def test_national_report_equals_recount_through_the_sink_and_directly(p06_settings: Settings, archived) -> None:
    events, sink = archived
    day = date(2026, 9, 14)
    through_api = national()
    assert_figures(through_api, recount(events))
    at_date = national("--as-of", day.isoformat())
    assert_figures(at_date, recount(events, end_of(day)))
    assert at_date["nation"] != through_api["nation"]  # the date filter really cut something
    assert set(at_date["indicators"]["nation"]) == {i.name for i in INDICATORS}
    wards_seen = {e["locality"] for e in events if len(e["locality"]) == 5}
    assert at_date["completeness"]["nation"]["reporting"] <= len(wards_seen)
    assert through_api["completeness"]["nation"]["reporting"] == len(wards_seen)
    sink.stop()  # now the report opens chDB itself: same answer
    assert national("--as-of", day.isoformat()) == at_date


def test_province_report_lists_wards_with_registry_names(p06_settings: Settings, archived) -> None:
    events, _ = archived
    expected = recount(events)
    code = sorted(expected["provinces"])[0]
    report = json.loads(p06("report", "province", code, "--format", "json").stdout)
    assert report["figures"] == expected["provinces"][code]
    assert report["name"] == registry().localities[code].name
    assert set(report["wards"]) == set(registry().wards_by_province[code])
    for ward, detail in report["wards"].items():
        assert detail["figures"] == expected["wards"].get(ward, dict.fromkeys(report["figures"], 0)), ward
    md = p06("report", "province", code, "--format", "md").stdout
    assert registry().localities[code].name in md and "|" in md


def test_md_and_html_in_vietnamese_by_default_and_in_english_on_request(
    p06_settings: Settings, archived, monkeypatch
) -> None:
    """md and html speak vi (1.234; dd/mm/yyyy) unless --lang en or P06_LANG=en asks for English (1,234;
    27 Nov 2026); json and csv keep their keys and values whatever the language."""
    events, _ = archived
    day = date(2026, 9, 14)
    eid = recount(events, end_of(day))["nation"]["eid_activations"]
    assert eid >= 1000  # a number with a thousands separator to look at
    at = ("--as-of", day.isoformat())
    vi = p06("report", "national", *at, "--format", "md").stdout
    assert vi.startswith("# Báo cáo toàn quốc\n") and "Số liệu tính đến 14/09/2026 23:59 (giờ UTC+07:00)" in vi
    assert "## Chỉ tiêu" in vi and "| Phạm vi | Tỷ lệ thôn có điện |" in vi
    assert "Tài khoản định danh điện tử (VNeID) đã kích hoạt" in vi and "Thôn chưa có điện" in vi
    assert "| nation | Toàn quốc |" in vi and f" {eid:,} ".replace(",", ".") in vi
    en = p06("report", "national", *at, "--format", "md", "--lang", "en").stdout
    assert en.startswith("# National report\n") and "Figures as of 14 Sept 2026 23:59 UTC+07:00" in en
    assert "| Scope | Villages with electricity |" in en and "e-ID (VNeID) accounts activated" in en
    assert f" {eid:,} " in en and "| nation | Nation |" in en and "Báo cáo" not in en

    html_vi = p06("report", "national", *at, "--format", "html").stdout
    assert (
        '<html lang="vi">' in html_vi
        and "<h1>Báo cáo toàn quốc</h1>" in html_vi
        and "Chênh lệch thành thị – nông thôn" in html_vi
    )
    monkeypatch.setenv("P06_LANG", "en")  # the setting, for every report command that is not told otherwise
    html_en = p06("report", "national", *at, "--format", "html").stdout
    assert '<html lang="en">' in html_en and "<h1>National report</h1>" in html_en and "Urban / rural gap" in html_en
    assert f">{eid:,}<" in html_en and f">{eid:,}<".replace(",", ".") in html_vi
    assert p06("report", "national", *at, "--format", "md", "--lang", "vi").stdout == vi  # the flag wins over P06_LANG

    code = sorted({registry().localities[e["locality"]].province for e in events})[0]
    province = p06("report", "province", code, *at, "--format", "md").stdout
    assert province.startswith(f"# Report: {registry().localities[code].name} ({code})\n")
    assert national(*at) == json.loads(p06("report", "national", *at, "--format", "json", "--lang", "vi").stdout)
    csv_en = p06("report", "national", *at, "--format", "csv").stdout
    monkeypatch.delenv("P06_LANG")
    assert csv_en == p06("report", "national", *at, "--format", "csv").stdout
    assert csv_en.splitlines()[0].startswith("code,name,tasks_reported,")
    wrong = subprocess.run(
        [P06, "report", "national", "--format", "md", "--lang", "fr"], capture_output=True, text=True, timeout=120
    )
    assert wrong.returncode == 2 and "'fr' is not one of" in wrong.stderr and "'vi'" in wrong.stderr


def test_history_shows_every_version_and_the_current_one(p06_settings: Settings, archived) -> None:
    events, _ = archived
    by_entity: dict[str, list[dict]] = {}
    for e in events:
        if e["type"] == "village.status":
            by_entity.setdefault(f"{e['locality']}/village:{e['payload']['village_id']}", []).append(e)
    # The entity with the most events, one with a correction among them (the simulator's name originals).
    entity, versions = max(by_entity.items(), key=lambda kv: (any("supersedes" in e for e in kv[1]), len(kv[1])))
    result = json.loads(p06("history", entity, "--json").stdout)

    def rank(e: dict) -> tuple[datetime, str]:
        return datetime.fromisoformat(e["occurred_at"]), e["event_id"]

    def report(e: dict) -> tuple[datetime, str]:
        return rank(e.get("supersedes") or e)

    order = sorted(versions, key=lambda e: (report(e), rank(e)))  # report by report, each in event time
    assert [e["event_id"] for e in result["events"]] == [e["event_id"] for e in order]
    counting = {report(e): e for e in sorted(versions, key=rank)}  # the latest of each report
    current = max((e for e in counting.values() if not e.get("void")), key=report)
    assert [e["event_id"] for e in result["events"] if e["current"]] == [current["event_id"]]
    assert next(e for e in result["events"] if e["current"])["why"]


def test_exports_mark_figures_changed_since_the_last_one(p06_settings: Settings, archived, tmp_path: Path) -> None:
    events, sink = archived
    p06("report", "national", "--format", "csv", "--out", str(tmp_path / "first.csv"))
    ward_event = next(e for e in events if e["type"] == "eid.activations")
    correction = dict(ward_event, event_id="late-eid", payload={"count": 7})
    publish(p06_settings, [orjson.dumps(correction)])
    total = sink.health()["messages"] + 1
    sink.wait(lambda h: h["messages"] >= total and h["lag"] == 0)
    p06("report", "national", "--format", "csv", "--out", str(tmp_path / "second.csv"))
    province = registry().localities[ward_event["locality"]].province
    lines = {row.split(",")[0]: row for row in (tmp_path / "second.csv").read_text().splitlines()}
    assert lines[province].endswith("eid_activations")
    assert lines["nation"].endswith("eid_activations")
    assert not any(
        line.endswith("eid_activations")
        for code, line in lines.items()
        if code not in (province, "nation", registry().localities[ward_event["locality"]].area)
    )


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is needed: apt-get install -y chromium")
def test_html_report_draws_its_charts_offline_in_chromium(p06_settings: Settings, archived, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "national.html"
    p06("report", "national", "--format", "html", "--out", str(page_file))
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1240, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        for indicator in INDICATORS:
            section = f"#{indicator.name} + .pair"
            trend = page.locator(f"{section} svg.trend path.series")
            assert trend.count() == 1, indicator.name
            assert trend.bounding_box()["width"] > 50, indicator.name  # a line drawn across days
            bars = page.locator(f"{section} svg.ranking rect.bar")
            assert bars.count() == len(registry().provinces), indicator.name
        gap = page.locator("#urban-rural + .pair svg rect.bar")
        assert gap.count() == 2 * len(INDICATORS)
        assert max(gap.nth(i).bounding_box()["width"] for i in range(gap.count())) > 10
        assert "Hà Nội" in page.inner_text("body")
        page.screenshot(path=str(REPO / "docs" / "report.png"), full_page=False)
        browser.close()
    assert all(url.startswith("file://") for url in requests), requests  # nothing from the network


def test_one_dispatch_names_each_export_as_p06_report_and_the_api_always_have() -> None:
    """`p06 report` and /reports share sinks.reports.dispatch: the last export a report is marked against is
    the same file whichever asked, per scope and map."""
    from sinks.reports import Request

    assert Request("national").snapshot == "national"
    assert Request("national", map="2024").snapshot == "national-2024"
    assert Request("province", "01").snapshot == "province-01"
    assert Request("province", "01", map="2024").snapshot == "province-2024-01"
