"""Report data: at a date (sinks.reports.report), a review between two dates (sinks.reports.review), both on
the 2024 map (sinks.reports.oldmap), typed in sinks.reports.model; one entity's history
(sinks.reports.history). sinks.reports.dispatch builds and renders any of them for the CLI and the API."""

from sinks.reports.dispatch import Produced, Request, build, produce, record_export
from sinks.reports.model import Document, NationalDocument, ProvinceDocument, ReviewDocument

__all__ = [
    "Document",
    "NationalDocument",
    "ProvinceDocument",
    "Produced",
    "Request",
    "ReviewDocument",
    "build",
    "produce",
    "record_export",
]
