"""`p06 report --from --to` (a review between two dates) and the events behind each figure, on what the
real sink archived. Expected figures come from the independent recount (sinks/checks/recount.py); the shares,
rankings, backwards provinces and projected dates are derived from them here, by the rules as written
in the brief, never by the code under test."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from kit.sinkstream import P06, archived_by_sink, publish

from schemas.registry import registry
from schemas.settings import Settings
from sinks.checks.recount import end_of, identity, period, zone

START, END = date(2026, 9, 8), date(2026, 9, 22)
TASKS_PER_PROVINCE = 225  # the programme's tasks, each province's own
# indicator -> (target, +1 when it must rise / -1 when it must fall, a share of flows?)
TARGETS = {
    "villages_with_electricity_share": (1.0, 1, False),
    "villages_with_internet_share": (1.0, 1, False),
    "tasks_completed_share": (1.0, 1, False),
    "dossiers_online_share": (1.0, 1, True),
    "dossiers_on_time_share": (1.0, 1, True),
    "systems_failed_share": (0.0, -1, False),
}
HEADLINE = ("nation", "urban", "rural")


def vi_number(n: int) -> str:
    """A count written the Vietnamese way: 1.234."""
    return f"{n:,}".replace(",", ".")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([P06, *args], capture_output=True, text=True, timeout=300)


def p06(*args: str) -> str:
    done = run(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def review(*args: str, fmt: str = "json", start: date = START, end: date = END) -> str:
    return p06("report", *args, "--from", start.isoformat(), "--to", end.isoformat(), "--format", fmt)


def zero() -> dict[str, int]:
    return dict.fromkeys(
        [
            "tasks_reported",
            "tasks_completed",
            "villages",
            "villages_without_electricity",
            "villages_without_internet",
            "eid_activations",
            "dossiers_received",
            "dossiers_online",
            "dossiers_on_time",
            "systems_assessed",
            "systems_failed",
            "open_findings",
        ],
        0,
    )


def shares(f: dict[str, int], provinces: int) -> dict[str, float | None]:
    ratio = lambda a, b: a / b if b else None  # noqa: E731
    return {
        "villages_with_electricity_share": ratio(f["villages"] - f["villages_without_electricity"], f["villages"]),
        "villages_with_internet_share": ratio(f["villages"] - f["villages_without_internet"], f["villages"]),
        "tasks_completed_share": ratio(f["tasks_completed"], TASKS_PER_PROVINCE * provinces),
        "dossiers_online_share": ratio(f["dossiers_online"], f["dossiers_received"]),
        "dossiers_on_time_share": ratio(f["dossiers_on_time"], f["dossiers_received"]),
        "systems_failed_share": ratio(f["systems_failed"], f["systems_assessed"]),
    }


def expected_period(events: list[dict], start: date = START, end: date = END) -> dict[str, dict]:
    counted = period(events, start, end)
    empty = {"from": zero(), "to": zero(), "change": zero()}
    codes = [*HEADLINE, *registry().provinces]
    return {code: counted.get(code, empty) for code in codes}


def provinces_in(scope: str) -> int:
    return len(registry().provinces) if scope == "nation" else 0 if scope in ("urban", "rural") else 1


def progress(fig: dict[str, dict], scope: str) -> dict[str, float | None]:
    before, after = shares(fig["from"], provinces_in(scope)), shares(fig["to"], provinces_in(scope))
    return {
        name: None if before[name] is None or after[name] is None else (after[name] - before[name]) * sign
        for name, (_, sign, _) in TARGETS.items()
    }


def projection(fig: dict[str, dict], scope: str, name: str, start: date = START, end: date = END) -> str:
    goal, sign, flows = TARGETS[name]
    before, after = shares(fig["from"], provinces_in(scope))[name], shares(fig["to"], provinces_in(scope))[name]
    if before is None or after is None:
        return "no data"
    if after * sign >= goal * sign:
        return "reached"
    days = (end - start).days + (1 if flows else 0)
    pace = (after - before) * sign / days if days else 0.0
    if pace <= 0:
        return "not at this pace"
    return (end + timedelta(days=math.ceil(abs(goal - after) / pace))).isoformat()


def ranked(values: dict[str, float | None]) -> list[str]:
    return sorted(values, key=lambda code: (values[code] is None, -(values[code] or 0), code))


def event_counts(events: list[dict], until: datetime, since: datetime | None = None) -> dict[str, int]:
    """Distinct events (locality, event_id, UTC day) per scope, occurred in [since, until]."""
    reg = registry()
    counts: dict[str, int] = {}
    for loc, _, _ in {
        identity(e)
        for e in events
        if (since is None or datetime.fromisoformat(e["occurred_at"]) >= since)
        and datetime.fromisoformat(e["occurred_at"]) <= until
    }:
        place = reg.localities[loc]
        for scope in ("nation", place.province, *((place.area, loc) if place.level == "ward" else ())):
            counts[scope] = counts.get(scope, 0) + 1
    return counts


def period_start() -> datetime:
    return datetime.combine(START, datetime.min.time(), tzinfo=zone())  # the country's day (the recount's rule)


@pytest.fixture
def archived(p06_settings: Settings, tmp_path: Path):
    events, sink = archived_by_sink(p06_settings, tmp_path / "sink.log", seed=33, n=600)
    yield events, sink
    sink.stop()


def assert_review_figures(report: dict, events: list[dict]) -> None:
    expected = expected_period(events)
    for code, entry in {**report["scopes"], **report["units"]}.items():
        assert entry["figures"] == expected[code], code
        for name, exp in shares(expected[code]["to"], provinces_in(code)).items():
            assert entry["indicators"][name]["to"] == exp, (code, name)
        for name in TARGETS:
            assert projected(entry, name) == projection(expected[code], code, name), (code, name)


def projected(entry: dict, name: str) -> str:
    p = entry["indicators"][name]["projected"]
    return p["date"] if p["status"] == "projected" else p["status"]


def test_review_between_two_dates_equals_the_recount(p06_settings: Settings, archived) -> None:
    events, _ = archived
    report = json.loads(review("national"))
    assert (report["from"], report["to"]) == (START.isoformat(), END.isoformat())
    assert set(report["units"]) == set(registry().provinces)
    assert_review_figures(report, events)
    expected = expected_period(events)
    assert expected["nation"]["change"]["eid_activations"] > 0  # the period really holds flows
    assert expected["nation"]["from"] != expected["nation"]["to"]

    moves = {p: progress(expected[p], p) for p in registry().provinces}
    for name in TARGETS:
        order = [r["code"] for r in report["rankings"][name]]
        assert order == ranked({p: moves[p][name] for p in moves}), name
    eid = ranked({p: expected[p]["change"]["eid_activations"] for p in registry().provinces})
    assert [r["code"] for r in report["rankings"]["eid_activations"]] == eid
    worse = {p: sorted(n for n, v in moves[p].items() if v is not None and v < 0) for p in moves}
    assert any(worse.values())  # the stream really sets some province back
    assert {b["code"]: sorted(b["indicators"]) for b in report["backwards"]} == {p: w for p, w in worse.items() if w}

    until = end_of(END)
    at_end, before = event_counts(events, until), event_counts(events, end_of(START - timedelta(days=1)))
    for code in (*HEADLINE, *registry().provinces):
        assert report_entry(report, code)["events"]["to"] == at_end.get(code, 0), code
        assert report_entry(report, code)["events"]["period"] == at_end.get(code, 0) - before.get(code, 0), code
    in_period = event_counts(events, until, since=period_start())
    reporting = {
        p: sum(1 for w in registry().wards_by_province[p] if in_period.get(w)) / len(registry().wards_by_province[p])
        for p in registry().provinces
    }
    assert [r["code"] for r in report["rankings"]["reporting_share"]] == ranked(reporting)
    recent = event_counts(events, until, since=until - timedelta(hours=p06_settings.silent_after_hours))
    timely = {
        p: sum(1 for w in registry().wards_by_province[p] if recent.get(w)) / len(registry().wards_by_province[p])
        for p in registry().provinces
    }
    assert [r["code"] for r in report["rankings"]["timely_share"]] == ranked(timely)

    code = sorted(p for p in registry().provinces if expected[p]["to"] != zero())[0]
    province = json.loads(review("province", code))
    assert province["scopes"][code]["figures"] == expected[code]
    wards = period(events, START, END)
    for ward, entry in province["units"].items():
        assert entry["figures"] == wards.get(ward, {"from": zero(), "to": zero(), "change": zero()}), ward
        assert entry["events"]["to"] == at_end.get(ward, 0), ward
    assert set(province["units"]) == set(registry().wards_by_province[code])

    table = list(csv.DictReader(io.StringIO(review("national", fmt="csv"))))
    rows = {row["code"]: row for row in table}
    assert set(rows) == {*HEADLINE, *registry().provinces}
    for scope in (*HEADLINE, *registry().provinces):
        for metric, value in expected[scope]["change"].items():
            assert int(rows[scope][f"{metric}_change"]) == value, (scope, metric)
        assert int(rows[scope]["events_to"]) == at_end.get(scope, 0)
    for place, p in enumerate(eid, 1):
        assert int(rows[p]["rank_eid_activations"]) == place
    md = review("national", fmt="md")  # Vietnamese by default: dd/mm/yyyy, 1.234
    assert "## Đơn vị sụt giảm" in md and f"| {END:%d/%m/%Y} |" in md and "## Xếp hạng: Tỷ lệ thôn có điện" in md
    for b in report["backwards"]:
        assert f"- {b['name']} ({b['code']})" in md
    assert vi_number(expected["nation"]["to"]["eid_activations"]) in md
    english = review("national", "--lang", "en", fmt="md")
    assert (
        "## Went backwards" in english
        and "| 22 Sept 2026 |" in english
        and "## Ranking: Villages with electricity" in english
    )
    assert f"{expected['nation']['to']['eid_activations']:,}" in english and "Đơn vị sụt giảm" not in english
    assert review("national", "--lang", "en", fmt="csv") == review("national", fmt="csv")  # machine data: one language


def report_entry(report: dict, code: str) -> dict:
    return report["scopes"].get(code) or report["units"][code]


def test_late_events_change_the_reported_period_as_the_recount_says(p06_settings: Settings, archived) -> None:
    """A period is reported, then events that belong to it arrive: stamped +07:00, the country's day decides."""
    events, sink = archived
    first = json.loads(review("national"))
    assert_review_figures(first, events)
    reg = registry()
    province = sorted({reg.localities[e["locality"]].province for e in events})[0]
    villages = {
        (e["locality"], e["payload"]["village_id"])
        for e in events
        if e["type"] == "village.status"
        and reg.localities[e["locality"]].province == province
        and datetime.fromisoformat(e["occurred_at"]) <= end_of(END)
    }
    ward = sorted(loc for loc, _ in villages)[0]
    late = [  # 23:59:59+07:00 on the 22nd (16:59:59 UTC): the period's last second in Hà Nội, inside it
        {
            "event_id": f"late-v-{n}",
            "type": "village.status",
            "locality": loc,
            "occurred_at": "2026-09-22T23:59:59+07:00",
            "payload": {"village_id": village, "electricity": False, "internet": False},
        }
        for n, (loc, village) in enumerate(sorted(villages))
    ]
    late += [
        {
            "event_id": "late-eid-in",
            "type": "eid.activations",
            "locality": ward,
            "occurred_at": "2026-09-15T10:00:00+07:00",
            "payload": {"count": 1000},
        },
        # 23:30 on the 7th in Hà Nội (16:30 UTC): before the period, in its opening figure
        {
            "event_id": "late-eid-before",
            "type": "eid.activations",
            "locality": ward,
            "occurred_at": "2026-09-07T23:30:00+07:00",
            "payload": {"count": 300},
        },
        # 00:00+07:00 on the 23rd is 17:00 UTC on the 22nd: after the period in Hà Nội, in no figure of it
        {
            "event_id": "late-eid-after",
            "type": "eid.activations",
            "locality": ward,
            "occurred_at": "2026-09-23T00:00:00+07:00",
            "payload": {"count": 50},
        },
    ]
    total = sink.health()["messages"] + len(late)
    publish(p06_settings, [orjson.dumps(e) for e in late])
    sink.wait(lambda h: h["messages"] >= total and h["lag"] == 0)

    second = json.loads(review("national"))
    everything = [*events, *late]
    assert_review_figures(second, everything)
    before, after = expected_period(events), expected_period(everything)
    nation = second["scopes"]["nation"]["figures"]
    assert (
        nation["change"]["eid_activations"] - first["scopes"]["nation"]["figures"]["change"]["eid_activations"]
        == after["nation"]["change"]["eid_activations"] - before["nation"]["change"]["eid_activations"]
        == 1000
    )
    assert nation["from"]["eid_activations"] - first["scopes"]["nation"]["figures"]["from"]["eid_activations"] == 300
    assert (
        second["scopes"]["nation"]["events"]["period"] - first["scopes"]["nation"]["events"]["period"]
        == len(villages) + 1
    )
    assert after[province]["to"]["villages_without_electricity"] == after[province]["to"]["villages"]
    worse = [n for n, v in progress(after[province], province).items() if v is not None and v < 0]
    assert "villages_with_electricity_share" in worse  # the scenario really sets the province back
    named = {b["code"]: b["indicators"] for b in second["backwards"]}
    assert sorted(named[province]) == sorted(worse)


def test_review_html_draws_charts_offline(p06_settings: Settings, archived) -> None:
    page = review("national", fmt="html")
    for name in TARGETS:
        section = page.split(f'<h2 id="{name}">', 1)[1].split("<h2", 1)[0]
        assert section.count('<svg class="chart trend"') == 1, name
        assert section.count('class="bar"') == len(registry().provinces), name
        assert "<path class=\"series\"" in section, name
    for goal in ("eid_activations", "reporting_share", "timely_share"):
        assert f'<h2 id="{goal}">' in page
    assert 'id="backwards"' in page and 'id="projections"' in page
    assert "Hà Nội" in page
    without_namespace = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?:", without_namespace)  # nothing to load from a network
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    code = sorted({registry().localities[e["locality"]].province for e in archived[0]})[0]
    province = review("province", code, fmt="html")
    assert "<svg" in province and not re.search(r"https?:", province.replace('xmlns="http://www.w3.org/2000/svg"', ""))


def test_reports_at_a_date_state_the_events_behind_each_figure(p06_settings: Settings, archived) -> None:
    events, _ = archived
    day = date(2026, 9, 14)
    expected = event_counts(events, end_of(day))
    report = json.loads(p06("report", "national", "--as-of", day.isoformat(), "--format", "json"))
    assert {s: report["events"][s] for s in HEADLINE} == {s: expected.get(s, 0) for s in HEADLINE}
    assert report["events"]["provinces"] == {p: expected.get(p, 0) for p in registry().provinces}
    assert report["events"]["nation"] < len({identity(e) for e in events})  # the date cut some
    rows = {
        r["code"]: r
        for r in csv.DictReader(io.StringIO(p06("report", "national", "--as-of", day.isoformat(), "--format", "csv")))
    }
    assert {c: int(r["events"]) for c, r in rows.items()} == {c: expected.get(c, 0) for c in rows}
    code = sorted(p for p in registry().provinces if expected.get(p))[0]
    province = json.loads(p06("report", "province", code, "--as-of", day.isoformat(), "--format", "json"))
    assert province["events"] == expected[code]
    md = p06("report", "province", code, "--as-of", day.isoformat(), "--format", "md")
    assert f"Dựa trên {vi_number(expected[code])} sự kiện riêng biệt đã lưu trữ." in md
    md = p06("report", "province", code, "--as-of", day.isoformat(), "--format", "md", "--lang", "en")
    assert f"Backed by {expected[code]:,} distinct archived events." in md
    html = p06("report", "national", "--format", "html")
    assert f"Dựa trên <b>{vi_number(len({identity(e) for e in events}))}</b> sự kiện riêng biệt" in html


def test_period_options_say_what_to_do_when_wrong(p06_settings: Settings) -> None:
    wrong = run("report", "national", "--from", "2026-09-22", "--to", "2026-09-08")
    assert wrong.returncode == 2 and "--from 2026-09-22 is after --to 2026-09-08" in wrong.stderr
    assert "give the review's first day to --from" in wrong.stderr
    future = run("report", "province", "01", "--from", "2999-01-01")
    assert future.returncode == 2 and "(today, Asia/Ho_Chi_Minh)" in future.stderr
    alone = run("report", "national", "--to", "2026-09-08")
    assert alone.returncode == 2 and "--to needs --from" in alone.stderr
    both = run("report", "national", "--as-of", "2026-09-08", "--from", "2026-09-01")
    assert both.returncode == 2 and "use one or the other" in both.stderr
    today = datetime.now(zone()).date()
    open_ended = json.loads(p06("report", "national", "--from", "2026-09-01", "--format", "json"))
    assert open_ended["to"] == today.isoformat()
    assert open_ended["scopes"]["nation"]["figures"]["to"] == zero()  # nothing archived in this test


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is needed: apt-get install -y chromium")
def test_review_html_renders_offline_in_chromium(p06_settings: Settings, archived, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    expected = expected_period(archived[0])
    moves = {p: progress(expected[p], p) for p in registry().provinces}
    page_file = tmp_path / "review.html"
    p06(
        "report",
        "national",
        "--from",
        START.isoformat(),
        "--to",
        END.isoformat(),
        "--format",
        "html",
        "--out",
        str(page_file),
    )
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1240, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        for name in TARGETS:
            assert page.locator(f"#{name} + .pair svg.trend path.series").bounding_box()["width"] > 50, name
            bars = page.locator(f"#{name} + .pair svg.ranking rect.bar")
            widest = max(bars.nth(i).bounding_box()["width"] for i in range(bars.count()))
            assert widest > 10 if any(moves[p][name] for p in moves) else widest == 0, name
        browser.close()
    assert all(url.startswith("file://") for url in requests), requests  # nothing from the network


def test_a_pace_that_needs_more_than_a_century_is_not_a_date() -> None:
    """Found on a year of national reporting: a share moving by a hair overflowed the calendar."""
    from schemas.metrics import INDICATORS
    from sinks.reports.review import projection, target

    rising = next(i for i in INDICATORS if target(i) > 0)
    end = date(2025, 12, 31)
    assert projection(rising, 0.5, 0.5000001, 30, end)["status"] == "not at this pace"  # past year 9999
    assert projection(rising, 0.5, 0.50015, 30, end)["status"] == "not at this pace"  # some 274 years
    # 0.1 in 30 days: the rest to the target at that pace (a day either way for float rounding)
    expected = end + timedelta(days=(target(rising) - 0.6) / (0.1 / 30))
    got = projection(rising, 0.5, 0.6, 30, end)
    assert got["status"] == "projected" and abs((date.fromisoformat(got["date"]) - expected).days) <= 1, got
