"""Charts drawn on the server as SVG (no chart library in the browser): lines, horizontal bars, paired bars and a
heatmap. Every label goes through escaping; every chart carries a title for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, label: object, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT} {extra}>{escape(str(label))}</text>'


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]


def line_chart(title: str, series: Sequence[Series], x_label: str, width: int = 560, height: int = 240) -> Markup:
    """Lines on shared axes (e.g. loss and accuracy per epoch), with a legend."""
    points = [p for s in series for p in s.points]
    if not points:
        return Markup("")
    left, right, top, bottom = 48, 120, 16, 32
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = (min(xs), max(xs)) if max(xs) > min(xs) else (min(xs) - 0.5, min(xs) + 0.5)  # one epoch: centred
    y0, y1 = min(0.0, min(ys)), max(ys) if max(ys) > 0 else 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>']
    for tick in _ticks(y0, y1):
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(tick):.1f}" y2="{sy(tick):.1f}" stroke="#eee"/>')
        body.append(_text(left - 4, sy(tick) + 4, f"{tick:.3g}", "end"))
    for tick in _ticks(x0, x1):
        body.append(_text(sx(tick), top + plot_h + 14, f"{tick:.3g}", "middle"))
    body.append(_text(left + plot_w / 2, height - 4, x_label, "middle"))
    for index, line in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line.points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in line.points:
            body.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}"><title>'
                        f"{escape(line.name)} {x:g}: {y:.4g}</title></circle>")  # fmt: skip
        legend_y = top + 12 + index * 16
        body.append(f'<rect x="{width - right + 10}" y="{legend_y - 8}" width="10" height="10" fill="{color}"/>')
        body.append(_text(width - right + 24, legend_y + 1, line.name))
    return _svg(width, height, title, body)


def bar_chart(title: str, bars: Sequence[tuple[str, float, bool]], value_label: str, width: int = 560) -> Markup:
    """Horizontal bars, one per (label, value, highlighted); highlighted bars are drawn in the strong colour."""
    if not bars:
        return Markup("")
    label_w, row_h, top = 180, 18, 20
    peak = max(value for _, value, _ in bars) or 1.0
    plot_w = width - label_w - 70
    height = top + row_h * len(bars) + 8
    body = [_text(label_w, 12, value_label)]
    for index, (label, value, strong) in enumerate(bars):
        y = top + index * row_h
        bar_w = max(1.0, value / peak * plot_w)
        fill = PALETTE[0] if strong else "#93c5fd"
        body.append(_text(label_w - 6, y + 12, label, "end"))
        body.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_w:.1f}" height="{row_h - 5}" fill="{fill}">'
                    f"<title>{escape(label)}: {value:.4g}</title></rect>")  # fmt: skip
        body.append(_text(label_w + bar_w + 4, y + 12, f"{value:.4g}"))
    return _svg(width, height, title, body)


def widths_chart(title: str, layers: Sequence[tuple[str, int, int]], width: int = 560) -> Markup:
    """Per layer: the original width as a pale bar and the kept width over it, with ``kept/of``."""
    if not layers:
        return Markup("")
    label_w, row_h, top = 180, 18, 20
    peak = max(of for _, _, of in layers) or 1
    plot_w = width - label_w - 80
    height = top + row_h * len(layers) + 8
    body = [
        f'<rect x="{label_w}" y="4" width="10" height="10" fill="#e5e7eb"/>',
        _text(label_w + 14, 13, "original"),
        f'<rect x="{label_w + 80}" y="4" width="10" height="10" fill="{PALETTE[2]}"/>',
        _text(label_w + 94, 13, "kept"),
    ]
    for index, (layer, kept, of) in enumerate(layers):
        y = top + index * row_h
        full_w, kept_w = of / peak * plot_w, kept / peak * plot_w
        body.append(_text(label_w - 6, y + 12, layer, "end"))
        body.append(f'<rect x="{label_w}" y="{y + 2}" width="{full_w:.1f}" height="{row_h - 5}" fill="#e5e7eb"/>')
        body.append(f'<rect x="{label_w}" y="{y + 2}" width="{kept_w:.1f}" height="{row_h - 5}" '
                    f'fill="{PALETTE[2]}"><title>{escape(layer)}: {kept} of {of}</title></rect>')  # fmt: skip
        body.append(_text(label_w + full_w + 4, y + 12, f"{kept}/{of}"))
    return _svg(width, height, title, body)


def _heat_colour(value: float) -> str:
    """0 -> red, 1 -> green, through yellow."""
    value = max(0.0, min(1.0, value))
    red = 220 if value < 0.5 else int(220 - (value - 0.5) * 2 * 180)
    green = int(60 + value * 2 * 140) if value < 0.5 else 200
    return f"rgb({red},{green},80)"


def heatmap(
    title: str, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float | None]]
) -> Markup:
    """A rows x columns grid of values in [0, 1] (accuracy), each cell coloured and labelled."""
    if not rows or not columns:
        return Markup("")
    label_w, cell_w, cell_h, top = 130, 64, 20, 22
    width, height = label_w + cell_w * len(columns) + 8, top + cell_h * len(rows) + 8
    body = [_text(label_w + i * cell_w + cell_w / 2, 14, column, "middle") for i, column in enumerate(columns)]
    for r, row in enumerate(rows):
        y = top + r * cell_h
        body.append(_text(label_w - 6, y + 14, row, "end"))
        for c, value in enumerate(values[r]):
            x = label_w + c * cell_w
            fill = "#f3f4f6" if value is None else _heat_colour(value)
            shown = "-" if value is None else f"{value:.3f}"
            body.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}">'
                        f"<title>{escape(row)}, {escape(columns[c])}: {shown}</title></rect>")  # fmt: skip
            body.append(_text(x + cell_w / 2 - 1, y + 13, shown, "middle"))
    return _svg(width, height, title, body)
