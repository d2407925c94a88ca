"""The interface's two languages: Vietnamese (the default) and English.

Every user-facing string of the dashboard and of the html/markdown reports is in one catalogue,
schemas/messages.toml; numbers and dates are formatted by Babel in the language's manner (vi: 1.234,5
and 27/11/2026; en: 1,234.5 and 27 Nov 2026). The dashboard gets the same catalogue as JSON
(for_browser) with the Intl options that format as Babel does here. JSON and CSV outputs are
machine data: never translated.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from .calendar import Calendar, calendar, utc_offset

CATALOGUE = Path(__file__).with_name("messages.toml")
DEFAULT = "vi"
MISSING = "—"  # a value that cannot be computed (no denominator): the same dash in both languages


@dataclass(frozen=True)
class Language:
    babel: str  # Babel's locale
    bcp47: str  # the browser's locale, for Intl
    day: str  # Babel's pattern for a date
    moment: str  # Babel's pattern for a date and time
    intl_day: dict[str, str] = field(default_factory=dict)  # Intl.DateTimeFormat options giving `day`


LANGUAGES: dict[str, Language] = {
    "vi": Language(
        "vi_VN", "vi-VN", "dd/MM/yyyy", "dd/MM/yyyy HH:mm", {"day": "2-digit", "month": "2-digit", "year": "numeric"}
    ),
    "en": Language(
        "en_GB", "en-GB", "d MMM y", "d MMM y HH:mm", {"day": "numeric", "month": "short", "year": "numeric"}
    ),
}


def check(lang: str) -> str:
    """The language code, or a ValueError that names the ones there are."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return lang


def pick(*asked: str | None) -> str:
    """The first of the languages asked for that there is (a ?lang=, a setting...), else the default."""
    return next((lang for lang in asked if lang in LANGUAGES), DEFAULT)


def lang_in(path: str) -> str | None:
    """The ?lang= of a path (where a login returns to), if it has one."""
    return parse_qs(urlsplit(path).query).get("lang", [None])[0]


def with_lang(path: str, lang: str) -> str:
    """The path with its ?lang= set to lang: where a login in that language returns to."""
    parts = urlsplit(path)
    query = parse_qs(parts.query) | {"lang": [lang]}
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """ "section.name" -> {language: text}, as messages.toml has them."""
    data = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    return {f"{section}.{name}": texts for section, entries in data.items() for name, texts in entries.items()}


@lru_cache(maxsize=len(LANGUAGES))
def messages(lang: str) -> dict[str, str]:
    return {key: texts[lang] for key, texts in catalogue().items()}


def for_browser(lang: str) -> dict[str, Any]:
    """What the dashboard needs to speak `lang`: its messages and how to format numbers and dates."""
    language = LANGUAGES[check(lang)]
    names = messages(lang)
    return {
        "lang": lang,
        "locale": language.bcp47,
        "day": language.intl_day,
        "timezone": calendar().name,  # moments are shown on the country's clock, not the browser's
        "messages": names,
        "languages": {code: names[f"language.{code}"] for code in LANGUAGES},
    }


def _instant(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Texts:
    """One language's messages and formats: tr("report.title_national"), tr.number(1234), tr.day(...)."""

    def __init__(self, lang: str = DEFAULT) -> None:
        self.lang = check(lang)
        self._language = LANGUAGES[lang]
        self._messages = messages(lang)

    def __call__(self, key: str, **values: object) -> str:
        try:
            text = self._messages[key]
        except KeyError:
            raise KeyError(f"no message {key!r} in {CATALOGUE.name}: add it there, in every language") from None
        return text.format(**values)

    def markup(self, key: str, bold: tuple[str, ...] = (), **values: object) -> str:
        """The message as HTML: its text and values escaped, the values named in `bold` in <b>."""
        text = escape(self(key, **{k: "{" + k + "}" for k in values}))
        return text.format(
            **{k: f"<b>{escape(str(v))}</b>" if k in bold else escape(str(v)) for k, v in values.items()}
        )

    def metric(self, name: str) -> str:
        return self(f"metric.{name}")

    def indicator(self, name: str) -> str:
        return self(f"indicator.{name}")

    def scope(self, code: str) -> str:
        """A headline scope's name (nation, urban, rural); any other code is a registry name, kept."""
        return self(f"scope.{code}") if f"scope.{code}" in self._messages else code

    def number(self, value: float | None) -> str:
        return MISSING if value is None else format_decimal(value, locale=self._language.babel)

    def signed(self, value: float | None) -> str:
        """A change: +1.234 / -5 (vi), +1,234 / -5 (en)."""
        return MISSING if value is None else format_decimal(value, "+#,##0;-#,##0", locale=self._language.babel)

    def share(self, value: float | None, digits: int = 1) -> str:
        """A share of one as a percentage: 4,4% (vi), 4.4% (en)."""
        pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
        return MISSING if value is None else format_percent(value, pattern, locale=self._language.babel)

    def points(self, change: float | None) -> str:
        """A share's change in percentage points: +1,5 điểm % (vi), +1.5 pts (en)."""
        if change is None:
            return MISSING
        return self("unit.points", value=format_decimal(change * 100, "+#,##0.0;-#,##0.0", locale=self._language.babel))

    def day(self, value: str | date) -> str:
        """A date (ISO text or a date): 27/11/2026 (vi), 27 Nov 2026 (en)."""
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(day, self._language.day, locale=self._language.babel)

    def moment(self, value: str | datetime, zone: str | None = None) -> str:
        """An instant on the country's clock (P06_TIMEZONE), with its offset: 14/09/2026 23:59 (giờ UTC+07:00)."""
        local = (Calendar(zone) if zone else calendar()).local(_instant(value))
        text = format_datetime(local, self._language.moment, tzinfo=local.tzinfo, locale=self._language.babel)
        return self("unit.zone", moment=text, zone=utc_offset(local))
