"""The message catalogue (schemas/messages.toml): complete in both languages, every key the code and the
dashboard use is there, none is dead, and numbers and dates come out the Vietnamese or the English way."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from string import Formatter

import pytest

from schemas.i18n import LANGUAGES, Texts, catalogue, for_browser
from schemas.metrics import INDICATORS, METRICS
from schemas.settings import SettingsError, load_settings

REPO = Path(__file__).resolve().parents[1]
PYTHON = [
    *REPO.glob("sinks/**/*.py"),
    *REPO.glob("streams/view/*.py"),
    *REPO.glob("schemas/*.py"),
    *REPO.glob("auth/*.py"),
]
DASHBOARD = REPO / "streams" / "view" / "dashboard"
# Keys built at run time from data, section by section: what each section must hold, exactly.
DYNAMIC = {
    "metric": set(METRICS),
    "metric_short": set(METRICS),
    "indicator": {i.name for i in INDICATORS},
    "indicator_short": {i.name for i in INDICATORS},
    "goal": {"eid_activations", "reporting_share", "timely_share"},
    "scope": {"nation", "urban", "rural"},
    "status": {"reached", "no_data", "not_at_this_pace"},  # sinks.reports.review.projection's statuses
    "language": set(LANGUAGES),
    "unit": {"province", "ward"},  # what a review ranks
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def static_keys() -> dict[str, set[str]]:
    """key -> files that name it literally: tr("k"), tr.markup("k", …), self("k") in Python; t("k") and
    data-i18n="k" in the dashboard."""
    found: dict[str, set[str]] = {}
    patterns = [
        (PYTHON, r'''\b(?:tr|tr\.markup|self)\(\s*["']([a-z_]+\.[a-z_]+)["']'''),
        ([DASHBOARD / "dashboard.js"], r'''\bt\(\s*["'`]([a-z_]+\.[a-z_]+)["'`]'''),
        ([DASHBOARD / "index.html", DASHBOARD / "dashboard.js"], r'''data-i18n(?:-[a-z-]+)?="([a-z_]+\.[a-z_]+)"'''),
    ]
    for files, pattern in patterns:
        for path in files:
            for key in re.findall(pattern, path.read_text(encoding="utf-8")):
                found.setdefault(key, set()).add(path.name)
    return found


def dynamic_sections() -> set[str]:
    """Sections the code indexes with a computed name: tr(f"metric.{m}") and the like."""
    sections = set()
    for path in [*PYTHON, DASHBOARD / "dashboard.js"]:
        text = path.read_text(encoding="utf-8")
        sections |= set(re.findall(r'''\b(?:tr|self)\(\s*f"([a-z_]+)\.\{''', text))  # Python f-strings
        sections |= set(re.findall(r'''\bt\(\s*`([a-z_]+)\.\$\{''', text))  # JS template literals
    return sections


def test_every_message_is_in_every_language_with_the_same_placeholders() -> None:
    assert catalogue(), "the catalogue is empty"
    for key, texts in catalogue().items():
        assert set(texts) == set(LANGUAGES), f"{key}: has {sorted(texts)}, needs {sorted(LANGUAGES)}"
        for lang, text in texts.items():
            assert isinstance(text, str) and text.strip(), f"{key}: empty in {lang}"
        assert placeholders(texts["vi"]) == placeholders(texts["en"]), f"{key}: placeholders differ"


def test_vietnamese_messages_are_written_with_diacritics() -> None:
    """A vi text that is the en text, or plain ASCII where Vietnamese needs its marks, was left untranslated."""
    allowed_same = {"language.vi", "language.en", "metric_short.eid_activations", "dashboard.part_of"}
    for key, texts in catalogue().items():
        if key in allowed_same:
            continue
        assert texts["vi"] != texts["en"], f"{key}: the vi text is the English one"
        words = re.sub(r"\{\w+\}|VNeID|internet|p06|UTC|STT", "", texts["vi"])
        if re.search(r"[a-zA-Z]{2}", words):
            assert re.search(r"[^\x00-\x7f]", words), f"{key}: no Vietnamese letter in {texts['vi']!r}"


def test_every_key_the_code_uses_exists_and_none_is_dead() -> None:
    known = set(catalogue())
    used = static_keys()
    missing = {key: files for key, files in used.items() if key not in known}
    assert not missing, f"keys used but not in schemas/messages.toml: {missing}"
    assert "report.title_national" in used and "dashboard.heading" in used  # the scan really finds keys
    computed = dynamic_sections()
    assert computed <= set(DYNAMIC), f"sections indexed at run time without a rule here: {computed - set(DYNAMIC)}"
    for section, names in DYNAMIC.items():
        have = {k.split(".", 1)[1] for k in known if k.startswith(section + ".")}
        assert names <= have, f"{section}: missing {names - have}"
    dead = {k for k in known if k not in used and k.split(".", 1)[1] not in DYNAMIC.get(k.split(".", 1)[0], ())}
    assert not dead, f"keys nothing uses: {sorted(dead)}"


class _Text(HTMLParser):
    """Collects the visible text and the text attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_data(self, data: str) -> None:
        if re.search(r"\w", data):  # a dash standing for "no value yet" is no text
            self.found.append(data.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [
            f"{name}={value}" for name, value in attrs if name in ("title", "aria-label", "placeholder") and value
        ]


def test_the_dashboard_page_holds_no_text_of_its_own() -> None:
    """Every string the operators read comes from the catalogue: index.html only names the keys."""
    parser = _Text()
    parser.feed((DASHBOARD / "index.html").read_text(encoding="utf-8"))
    assert parser.found == []


def test_numbers_and_dates_the_vietnamese_and_the_english_way() -> None:
    vi, en = Texts("vi"), Texts("en")
    assert (vi.number(1234.5), en.number(1234.5)) == ("1.234,5", "1,234.5")
    assert (vi.number(1234567), en.number(1234567)) == ("1.234.567", "1,234,567")
    assert (vi.signed(-1234), en.signed(1234)) == ("-1.234", "+1,234")
    assert (vi.share(0.0444), en.share(0.0444)) == ("4,4%", "4.4%")
    assert (vi.points(0.015), en.points(-0.015)) == ("+1,5 điểm %", "-1.5 pts")
    assert (vi.share(None), vi.number(None)) == ("—", "—")
    assert (vi.day("2026-11-27"), en.day(date(2026, 11, 27))) == ("27/11/2026", "27 Nov 2026")
    at = datetime(2026, 9, 14, 16, 59, 59, tzinfo=UTC)  # on the country's clock (P06_TIMEZONE): 23:59+07:00
    assert (vi.moment(at), en.moment(at.isoformat())) == (
        "14/09/2026 23:59 (giờ UTC+07:00)",
        "14 Sept 2026 23:59 UTC+07:00",
    )  # CLDR's British "Sept"
    assert en.moment(at, zone="UTC") == "14 Sept 2026 16:59 UTC+00:00"
    assert vi("report.title_province", name="Thành phố Hà Nội", code="01") == "Báo cáo Thành phố Hà Nội (01)"
    assert (
        vi.markup("report.backed_by", ("events",), events="1.234")
        == "Dựa trên <b>1.234</b> sự kiện riêng biệt đã lưu trữ."
    )
    with pytest.raises(KeyError, match="no message 'report.nothing'"):
        vi("report.nothing")


def test_the_browser_gets_the_same_catalogue_and_locale() -> None:
    body = for_browser("en")
    assert body["locale"] == "en-GB" and body["messages"]["report.title_national"] == "National report"
    assert body["languages"] == {"vi": "Tiếng Việt", "en": "English"}
    assert for_browser("vi")["messages"]["scope.nation"] == "Toàn quốc"
    with pytest.raises(ValueError, match="use one of vi, en"):
        for_browser("fr")


def test_p06_lang_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("P06_LANG", raising=False)
    assert load_settings().lang == "vi"
    monkeypatch.setenv("P06_LANG", "en")
    assert load_settings().lang == "en"
    monkeypatch.setenv("P06_LANG", "fr")
    with pytest.raises(SettingsError, match="P06_LANG.*use one of vi, en"):
        load_settings()
