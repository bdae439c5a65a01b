"""Small SVG charts drawn on the server (no script, no CDN). Each has a title and a text
description for screen readers, and the page shows the same figures in a table beside it."""

from __future__ import annotations

from html import escape

from markupsafe import Markup


def bars(
    data: list[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 220,
    color: str = "#1d4f91",
    lines: list[tuple[float, str]] | None = None,
    label_every: int = 1,
) -> Markup:
    """A vertical bar chart of (label, value). ``lines`` draws dashed reference lines."""
    n = max(len(data), 1)
    top = max([v for _, v in data] + [v for v, _ in (lines or [])] + [1])
    left, bottom, pad = 40, 36, 8
    plot_w, plot_h = width - left - pad, height - bottom - pad
    bw = plot_w / n
    desc = "; ".join(f"{escape(str(k))}: {v:g}{unit}" for k, v in data) or "no data"
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="t-{id(data)} d-{id(data)}"'
        f' xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f'<title id="t-{id(data)}">{escape(title)}</title><desc id="d-{id(data)}">{desc}</desc>',
        f'<line x1="{left}" y1="{pad + plot_h}" x2="{width - pad}" y2="{pad + plot_h}" stroke="#333"/>',
        f'<text x="{left - 6}" y="{pad + 10}" text-anchor="end" font-size="12">{top:g}</text>',
        f'<text x="{left - 6}" y="{pad + plot_h}" text-anchor="end" font-size="12">0</text>',
    ]
    for i, (label, value) in enumerate(data):
        h = plot_h * (value / top) if top else 0
        x = left + i * bw
        out.append(
            f'<rect x="{x + bw * 0.12:.1f}" y="{pad + plot_h - h:.1f}" width="{bw * 0.76:.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{escape(str(label))}: {value:g}{unit}</title></rect>'
        )
        if i % label_every == 0:
            out.append(
                f'<text x="{x + bw / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="12">{escape(str(label))}</text>'
            )
    for value, label in lines or []:
        y = pad + plot_h - plot_h * (value / top)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - pad}" y2="{y:.1f}" stroke="#8a1c1c" '
            f'stroke-dasharray="6 4" stroke-width="2"/>'
            f'<text x="{width - pad}" y="{y - 4:.1f}" text-anchor="end" font-size="12" fill="#8a1c1c">'
            f"{escape(label)}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def hbars(
    data: list[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    row: int = 26,
    label_width: int = 250,
    color: str = "#1d4f91",
) -> Markup:
    """A horizontal bar chart of (label, value), for long labels (need categories)."""
    top = max([v for _, v in data] + [1])
    pad = 8
    height = pad * 2 + row * max(len(data), 1)
    plot_w = width - label_width - pad - 40
    key = f"h{id(data)}"
    desc = "; ".join(f"{escape(str(k))}: {v:g}{unit}" for k, v in data) or "no data"
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="t-{key} d-{key}"'
        f' xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f'<title id="t-{key}">{escape(title)}</title><desc id="d-{key}">{desc}</desc>',
        f'<line x1="{label_width}" y1="{pad}" x2="{label_width}" y2="{height - pad}" stroke="#333"/>',
    ]
    if not data:
        out.append(f'<text x="{label_width + 8}" y="{pad + row * 0.65:.1f}" font-size="13">None yet</text>')
    for i, (label, value) in enumerate(data):
        y = pad + i * row
        w = plot_w * (value / top) if top else 0
        out.append(
            f'<text x="{label_width - 6}" y="{y + row * 0.65:.1f}" text-anchor="end" font-size="13">'
            f"{escape(str(label))}</text>"
            f'<rect x="{label_width}" y="{y + row * 0.15:.1f}" width="{w:.1f}" height="{row * 0.7:.1f}" '
            f'fill="{color}"><title>{escape(str(label))}: {value:g}{unit}</title></rect>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + row * 0.65:.1f}" font-size="13">'
            f"{value:g}{unit}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def gauge(
    share: float | None,
    target: float,
    *,
    label: str,
    width: int = 300,
    height: int = 56,
    color: str | None = None,
    target_label: str = "target",
) -> Markup:
    """A horizontal bar for a share (0..1) with the target marked. Green when the target is met,
    red when not; ``color`` gives one neutral colour instead (a benchmark, not a standard)."""
    s = 0.0 if share is None else max(0.0, min(1.0, share))
    ok = share is not None and share >= target
    fill = color or ("#1f6f3a" if ok else "#a11d1d")
    text = "no data" if share is None else f"{share * 100:.1f}%"
    tx = 8 + (width - 16) * target
    return Markup(
        f'<svg class="gauge" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}: {text}, '
        f'{escape(target_label)} {target * 100:g}%" xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="8" y="8" width="{width - 16}" height="24" fill="#e6e6e6" stroke="#333"/>'
        f'<rect x="8" y="8" width="{(width - 16) * s:.1f}" height="24" fill="{fill}"/>'
        f'<line x1="{tx:.1f}" y1="2" x2="{tx:.1f}" y2="38" stroke="#000" stroke-width="3"/>'
        f'<text x="8" y="52" font-size="13">{escape(text)} ({escape(target_label)} {target * 100:g}%)</text></svg>'
    )
