"""Line charts as inline SVG text: no plotting library, no image file, nothing fetched when shown.

A chart is drawn from ``(x, y)`` series; points that are not finite are left out (a diverged step
must not hide the rest of the curve), and vertical markers show events on the same x axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 26, 34  # margins around the plot area
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
MARKER_COLOURS = {"warning": "#d9a400", "restart": "#d62728", "event": "#7f7f7f"}


@dataclass
class Series:
    """One line: ``points`` are (x, y); ``dashed`` for a smoothed or secondary curve."""

    name: str
    points: list[tuple[float, float]]
    dashed: bool = False


@dataclass
class Marker:
    """A vertical line at ``x``; ``kind`` picks the colour (warning, restart, event)."""

    x: float
    label: str
    kind: str = "event"


def line_chart(
    title: str,
    series: list[Series],
    markers: list[Marker] | None = None,
    y_label: str = "",
    log_y: bool = False,
) -> str:
    """An SVG chart of ``series`` against step, with a legend and ``markers``; empty series are skipped."""
    finite = [
        Series(
            s.name,
            [(x, y) for x, y in s.points if _finite(x) and _finite(y) and (y > 0 or not log_y)],
            s.dashed,
        )
        for s in series
    ]
    finite = [s for s in finite if s.points]
    markers = markers or []
    if not finite:
        return _empty(title)
    ys = [y for s in finite for _, y in s.points]
    xs = [x for s in finite for x, _ in s.points] + [m.x for m in markers]
    axis_x, axis_y = _Axis(min(xs), max(xs)), _Axis(min(ys), max(ys), log=log_y)
    parts = [_frame(title, y_label), *_ticks(axis_x, axis_y)]
    parts += [_marker(m, axis_x) for m in markers if _finite(m.x)]
    for i, s in enumerate(finite):
        parts.append(_polyline(s, COLOURS[i % len(COLOURS)], axis_x, axis_y))
    parts.append(_legend(finite))
    return _svg(title, "".join(parts))


class _Axis:
    """Maps data values to pixels along one axis (linear or log10), padded so lines do not touch edges."""

    def __init__(self, low: float, high: float, log: bool = False) -> None:
        self.log = log
        low, high = (math.log10(low), math.log10(high)) if log else (low, high)
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
        pad = 0.0 if log else 0.04 * (high - low)
        self.low, self.high = low - pad, high + pad

    def fraction(self, value: float) -> float:
        value = math.log10(value) if self.log else value
        return (value - self.low) / (self.high - self.low)

    def ticks(self, count: int = 5) -> list[float]:
        if self.log:
            return [10.0**e for e in range(math.floor(self.low), math.ceil(self.high) + 1)]
        step = _nice_step((self.high - self.low) / count)
        first = math.ceil(self.low / step) * step
        return [first + i * step for i in range(count + 2) if first + i * step <= self.high]


def _nice_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _px(axis: _Axis, value: float, start: float, length: float, flip: bool = False) -> float:
    f = axis.fraction(value)
    return start + (1 - f if flip else f) * length


def _plot_box() -> tuple[float, float, float, float]:
    return LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def _frame(title: str, y_label: str) -> str:
    x, y, w, h = _plot_box()
    return (
        f'<text x="{LEFT}" y="16" class="t">{escape(title)}</text>'
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#999"/>'
        f'<text x="{x + w / 2}" y="{HEIGHT - 4}" text-anchor="middle">step</text>'
        f'<text transform="translate(12 {y + h / 2}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )


def _ticks(axis_x: _Axis, axis_y: _Axis) -> list[str]:
    x0, y0, w, h = _plot_box()
    out = []
    for value in axis_x.ticks():
        px = _px(axis_x, value, x0, w)
        out.append(f'<line x1="{px:.1f}" y1="{y0 + h}" x2="{px:.1f}" y2="{y0 + h + 4}" stroke="#999"/>')
        out.append(f'<text x="{px:.1f}" y="{y0 + h + 16}" text-anchor="middle">{_number(value)}</text>')
    for value in axis_y.ticks():
        py = _px(axis_y, value, y0, h, flip=True)
        out.append(f'<line x1="{x0}" y1="{py:.1f}" x2="{x0 + w}" y2="{py:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 4}" y="{py + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    return out


def _polyline(s: Series, colour: str, axis_x: _Axis, axis_y: _Axis) -> str:
    x0, y0, w, h = _plot_box()
    coords = [(_px(axis_x, x, x0, w), _px(axis_y, y, y0, h, flip=True)) for x, y in s.points]
    if len(coords) == 1:
        ((cx, cy),) = coords
        return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}"/>'
    text = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
    dash = ' stroke-dasharray="5 3"' if s.dashed else ""
    dots = (
        "".join(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{colour}"/>' for cx, cy in coords)
        if len(coords) <= 30
        else ""
    )
    return f'<polyline points="{text}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>{dots}'


def _marker(m: Marker, axis_x: _Axis) -> str:
    x0, y0, w, h = _plot_box()
    px = _px(axis_x, m.x, x0, w)
    colour = MARKER_COLOURS.get(m.kind, MARKER_COLOURS["event"])
    return (
        f'<line x1="{px:.1f}" y1="{y0}" x2="{px:.1f}" y2="{y0 + h}" stroke="{colour}" stroke-width="1.5" '
        f'stroke-dasharray="2 2"><title>{escape(m.label)}</title></line>'
    )


def _legend(series: list[Series]) -> str:
    out, x = [], LEFT + 8
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        out.append(f'<rect x="{x}" y="{TOP + 6}" width="12" height="3" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{TOP + 11}">{escape(s.name)}</text>')
        x += 28 + 7 * len(s.name)
    return "".join(out)


def _empty(title: str) -> str:
    return _svg(
        title,
        f'<text x="{LEFT}" y="16" class="t">{escape(title)}</text>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">nothing logged yet</text>',
    )


def _svg(title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title)}" font-size="11" font-family="sans-serif">'
        f"<style>.t{{font-weight:bold;font-size:13px}}</style>{body}</svg>"
    )


def _number(value: float) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.0e}"
    return f"{value:.4g}"


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
