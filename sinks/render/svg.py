"""Small inline SVG charts, drawn here so a report opens with no network and no script."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from schemas.i18n import Texts

W, H, PAD = 560, 220, 40
LABEL_MIN, LABEL_MAX, CHAR_PX = 180, 300, 6  # the bars start after their labels, the longest one included


def line_chart(points: list[tuple[str, float | None]], title: str, tr: Texts, target: float | None = None) -> str:
    """A share (0..1) over days, labelled (date text, value); gaps where the indicator is undefined."""
    known = [(i, v) for i, (_, v) in enumerate(points) if v is not None]
    x = lambda i: PAD + (W - 2 * PAD) * (i / max(len(points) - 1, 1))  # noqa: E731
    y = lambda v: H - PAD - (H - 2 * PAD) * v  # noqa: E731
    parts = [_frame(title, tr)]
    if target is not None:
        parts.append(
            f'<line class="target" x1="{PAD}" x2="{W - PAD}" y1="{y(target):.1f}" y2="{y(target):.1f}"'
            ' stroke="#c0392b" stroke-dasharray="4 3"/>'
        )
    if known:
        path = " ".join(f"{'M' if n == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for n, (i, v) in enumerate(known))
        parts.append(f'<path class="series" d="{path}" fill="none" stroke="#1f6feb" stroke-width="2"/>')
        parts += [
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2" fill="#1f6feb">'
            f"<title>{escape(points[i][0])}: {tr.share(v)}</title></circle>"
            for i, v in known
        ]
        parts.append(f'<text x="{PAD}" y="{H - 8}" font-size="11">{escape(points[0][0])}</text>')
        parts.append(f'<text x="{W - PAD}" y="{H - 8}" font-size="11" text-anchor="end">{escape(points[-1][0])}</text>')
    else:
        parts.append(
            f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" font-size="13">{escape(tr("chart.no_data"))}</text>'
        )
    return _svg(parts, "trend")


def _left(items: list[tuple[str, float | None]]) -> int:
    """Where the bars start: after the longest label, within bounds."""
    return max(LABEL_MIN, min(LABEL_MAX, 8 + CHAR_PX * max((len(label) for label, _ in items), default=0)))


def bar_chart(
    items: list[tuple[str, float | None]], title: str, tr: Texts, colors: tuple[str, ...] = ("#2da44e",)
) -> str:
    """Horizontal bars of shares, in the order given (a ranking when sorted)."""
    row = 16
    height = PAD + row * max(len(items), 1) + 10
    left = _left(items)
    parts = [f'<text x="8" y="18" font-size="13" font-weight="bold">{escape(title)}</text>']
    for n, (label, value) in enumerate(items):
        top = PAD - 10 + n * row
        width = (W - left - 50) * (value or 0)
        parts.append(f'<text x="8" y="{top + 11}" font-size="11">{escape(label)}</text>')
        parts.append(
            f'<rect class="bar" x="{left}" y="{top}" width="{width:.1f}" height="{row - 4}"'
            f' fill="{colors[n % len(colors)]}"><title>{escape(label)}: {tr.share(value)}</title></rect>'
        )
        parts.append(f'<text x="{left + 4 + width:.1f}" y="{top + 11}" font-size="11">{tr.share(value)}</text>')
    return _svg(parts, "ranking", height)


def signed_bars(items: list[tuple[str, float | None]], title: str, label: Callable[[float | None], str]) -> str:
    """Horizontal bars from a zero line, in the order given: gains to the right (green), losses to the left (red)."""
    row = 16
    height = PAD + row * max(len(items), 1) + 10
    known = [v for _, v in items if v is not None]
    low, high = min([0.0, *known]), max([0.0, *known])
    left = _left(items)
    scale = (W - left - 80) / ((high - low) or 1)
    zero = left + -low * scale
    parts = [
        f'<text x="8" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{PAD - 12}" y2="{height - 8}" stroke="#888"/>',
    ]
    for n, (name, value) in enumerate(items):
        top, v = PAD - 10 + n * row, value or 0.0
        color = "#2da44e" if v >= 0 else "#cf222e"
        parts.append(f'<text x="8" y="{top + 11}" font-size="11">{escape(name)}</text>')
        parts.append(
            f'<rect class="bar" x="{zero + min(v, 0) * scale:.1f}" y="{top}" width="{abs(v) * scale:.1f}"'
            f' height="{row - 4}"'
            f' fill="{color}"><title>{escape(name)}: {escape(label(value))}</title></rect>'
        )
        parts.append(
            f'<text x="{zero + max(v, 0) * scale + 4:.1f}" y="{top + 11}" font-size="11">{escape(label(value))}</text>'
        )
    return _svg(parts, "ranking", height)


def _frame(title: str, tr: Texts) -> str:
    axes = (
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#888"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#888"/>'
    )
    labels = (
        f'<text x="{PAD - 4}" y="{PAD + 4}" font-size="10" text-anchor="end">{tr.share(1.0, 0)}</text>'
        f'<text x="{PAD - 4}" y="{H - PAD}" font-size="10" text-anchor="end">{tr.share(0.0, 0)}</text>'
    )
    return f'<text x="8" y="18" font-size="13" font-weight="bold">{escape(title)}</text>{axes}{labels}'


def _svg(parts: list[str], kind: str, height: int = H) -> str:
    return (
        f'<svg class="chart {kind}" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}"'
        f' viewBox="0 0 {W} {height}">{"".join(parts)}</svg>'
    )
