"""The one way a report is asked for, built and rendered: `p06 report` (sinks.cli) and the sink's /reports
(sinks.web.api) both call `produce`. Each keeps its own way of reading the arguments and of saying an error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from schemas.maps import CURRENT
from schemas.settings import Settings
from sinks.render import render
from sinks.reports import oldmap, report, review
from sinks.reports.model import Document, NationalDocument, ProvinceDocument, ReviewDocument, Scope
from sinks.warehouse.reader import Reader


@dataclass(frozen=True)
class Request:
    """What is asked: national or one province (`code`), at a date (`as_of`, None: now) or between two
    (`period`), on which map, in which format and language (md and html only)."""

    scope: Scope
    code: str | None = None
    as_of: date | None = None
    period: tuple[date, date] | None = None
    map: str = CURRENT
    fmt: str = "json"
    lang: str = "vi"

    @property
    def snapshot(self) -> str:
        """The name of its last export (`last-export-NAME.json`): one per scope and map."""
        if self.scope == "national":
            return "national" if self.map == CURRENT else "national-2024"
        return f"province-{self.code}" if self.map == CURRENT else f"province-2024-{self.code}"


@dataclass(frozen=True)
class Produced:
    doc: Document
    text: str


def build(reader: Reader, settings: Settings, request: Request) -> Document:
    """The report's data, typed by kind; a ValueError names a wrong code or period."""
    on_old = request.map != CURRENT
    code = str(request.code)
    if request.period is not None:
        start, end = request.period
        if request.scope == "national":
            data = (oldmap.review_national if on_old else review.national)(reader, settings, start, end)
        else:
            data = (oldmap.review_province if on_old else review.province)(reader, settings, code, start, end)
        return ReviewDocument(data, request.map)
    if request.scope == "national":
        national = (oldmap.national if on_old else report.national)(reader, settings, request.as_of)
        return NationalDocument(national, request.map)
    province = (oldmap.province if on_old else report.province)(reader, settings, code, request.as_of)
    return ProvinceDocument(province, request.map)


def produce(reader: Reader, settings: Settings, request: Request) -> Produced:
    """Build, mark a report at a date against its last export (a review has none), render."""
    doc = build(reader, settings, request)
    if not isinstance(doc, ReviewDocument):
        report.mark_changes(doc, snapshot_path(settings, request))
    return Produced(doc, render(doc, request.fmt, request.lang))


def snapshot_path(settings: Settings, request: Request) -> Path:
    return report.snapshot_path(settings, request.snapshot)


def record_export(settings: Settings, request: Request, produced: Produced) -> int | None:
    """After a report at a date was written to a file: the next one marks changes against it. Returns how
    many scopes changed since the previous export (None for a review, which records none)."""
    doc = produced.doc
    if isinstance(doc, ReviewDocument):
        return None
    report.record_export(doc, snapshot_path(settings, request))
    return len(doc.data.get("changed_since_last_export", {}))


__all__ = ["Produced", "Request", "build", "produce", "record_export"]
