"""Every report rendered: json, csv and md in sinks.render.text, html in sinks.render.html (its charts in
sinks.render.svg), what the 2024 map adds to each format in sinks.render.unsplit.

`render(doc, fmt, lang)` is the one entry: json and csv are machine data, the same in every language; md and
html speak `lang`.
"""

from __future__ import annotations

from sinks.render import html, text
from sinks.reports.model import Document, ReviewDocument


def render(doc: Document, fmt: str, lang: str) -> str:
    """The document in this format: json, csv, md or html (the sink's API names their content types)."""
    if fmt == "json":
        return text.as_json(doc)
    if isinstance(doc, ReviewDocument):
        if fmt == "csv":
            return text.review_csv(doc)
        return text.review_md(doc, lang) if fmt == "md" else html.review_page(doc, lang)
    if fmt == "csv":
        return text.report_csv(doc)
    return text.report_md(doc, lang) if fmt == "md" else html.report_page(doc, lang)


__all__ = ["render"]
