"""Charts as inline SVG, drawn on the server: small pure functions from figures to markup.

The geometry (`bar_rects`, `line_points`) is separate from the drawing (`bar_chart`,
`line_chart`), so it can be checked by coordinates. No style attribute (the page's CSP
forbids inline style): colours and sizes are SVG presentation attributes and classes. Each
chart is an image with an accessible name and description (role="img", aria-labelledby
its <title> and <desc>); the page shows the same figures as a table beside it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 240
# Room around the plot: labels of the value axis on the left, of the categories below.
LEFT = 44
RIGHT = 24  # room for half of the last day's label (centred on its point)
TOP = 12
BOTTOM = 32


@dataclass(frozen=True, slots=True)
class Plot:
    """The drawing area inside the chart's frame, in SVG user units."""

    left: float = LEFT
    top: float = TOP
    width: float = WIDTH - LEFT - RIGHT
    height: float = HEIGHT - TOP - BOTTOM

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float


def scale(value: float, top: float, length: float) -> float:
    """How far along `length` `value` reaches when `top` fills it; 0 for nothing to scale
    (a zero or negative top, a negative value), never past the end."""
    if top <= 0 or value <= 0:
        return 0.0
    return min(value, top) / top * length


def nice_top(largest: float) -> float:
    """The value the axis ends at: the smallest of 1, 2, 2.5 or 5 times a power of ten at
    or above `largest` (a count of 7 draws up to 10, of 0 up to 1)."""
    if largest <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= largest:
        power *= 10
    while power > largest:
        power /= 10
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= largest:
            return step * power
    return 10 * power  # pragma: no cover (10 x power always reaches it)


def bar_rects(values: Sequence[float], top: float, plot: Plot = Plot()) -> list[Rect]:
    """One bar per value, side by side across the plot, each in an equal slot with a gap
    of a fifth of the slot on each side, rising from the bottom to its scaled height."""
    if not values:
        return []
    slot = plot.width / len(values)
    gap = slot / 5
    rects = []
    for i, value in enumerate(values):
        height = scale(value, top, plot.height)
        x = plot.left + i * slot + gap
        top_y = plot.bottom - height
        rects.append(Rect(round(x, 2), round(top_y, 2), round(slot - 2 * gap, 2), round(height, 2)))
    return rects


def _x_of(i: int, count: int, plot: Plot) -> float:
    """Where the i-th of `count` evenly spread points stands (one alone: the middle)."""
    if count == 1:
        return round(plot.left + plot.width / 2, 2)
    return round(plot.left + i * plot.width / (count - 1), 2)


def line_points(
    values: Sequence[float | None], top: float, plot: Plot = Plot()
) -> list[tuple[float, float] | None]:
    """A point per value, spread evenly across the plot (one value: in the middle), its
    height scaled; None where there is no value (the line breaks there)."""
    count = len(values)
    points: list[tuple[float, float] | None] = []
    for i, value in enumerate(values):
        if value is None:
            points.append(None)
            continue
        y = plot.bottom - scale(value, top, plot.height)
        points.append((_x_of(i, count, plot), round(y, 2)))
    return points


def _runs(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """The points split where a value is missing: each run is one polyline."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _number(value: float) -> str:
    return f"{value:g}"


def _open(chart_id: str, title: str, description: str) -> list[str]:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
    ]


def _axis(top: float, label: str, plot: Plot) -> list[str]:
    """Grid lines at nothing, half and the top of the value axis, with their labels."""
    parts = []
    for fraction in (0.0, 0.5, 1.0):
        y = round(plot.bottom - fraction * plot.height, 2)
        right = plot.left + plot.width
        parts.append(
            f'<line class="grid" x1="{_number(plot.left)}" y1="{_number(y)}" '
            f'x2="{_number(right)}" y2="{_number(y)}" stroke="#d5dae3" stroke-width="1"/>'
        )
        text = escape(label.format(fraction * top))
        parts.append(
            f'<text x="{_number(plot.left - 6)}" y="{_number(y + 4)}" text-anchor="end" '
            f'font-size="12" fill="#5a6478">{text}</text>'
        )
    return parts


def _category_label(x: float, text: str, plot: Plot) -> str:
    return (
        f'<text x="{_number(x)}" y="{_number(plot.bottom + 18)}" text-anchor="middle" '
        f'font-size="12" fill="#1d2433">{escape(text)}</text>'
    )


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float]],
    *,
    value_label: str = "{:g}",
) -> Markup:
    """Vertical bars, one per (label, value), on an axis from 0 to a round top; with no
    bars, the empty frame (the description says why)."""
    plot = Plot()
    values = [value for _, value in bars]
    top = nice_top(max(values, default=0.0))
    parts = _open(chart_id, title, description) + _axis(top, value_label, plot)
    for (label, value), rect in zip(bars, bar_rects(values, top, plot), strict=True):
        middle = round(rect.x + rect.width / 2, 2)
        parts.append(
            f'<rect class="bar" x="{_number(rect.x)}" y="{_number(rect.y)}" '
            f'width="{_number(rect.width)}" height="{_number(rect.height)}" fill="#1f5fbf">'
            f"<title>{escape(label)}: {escape(value_label.format(value))}</title></rect>"
        )
        parts.append(_category_label(middle, label, plot))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text and attribute above is escaped)


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    points: Sequence[tuple[str, float | None]],
    *,
    top: float = 1.0,
    value_label: str = "{:.0%}",
) -> Markup:
    """A line through (label, value) points on an axis from 0 to `top` (a rate: 100%), a
    dot on each (one point: a dot alone); a missing value breaks the line. Labels below:
    the first, the last and evenly between, at most seven."""
    plot = Plot()
    values = [value for _, value in points]
    xy = line_points(values, top, plot)
    parts = _open(chart_id, title, description) + _axis(top, value_label, plot)
    for run in _runs(xy):
        if len(run) > 1:
            coordinates = " ".join(f"{_number(x)},{_number(y)}" for x, y in run)
            parts.append(
                f'<polyline class="line" points="{coordinates}" fill="none" '
                'stroke="#1f5fbf" stroke-width="2.5"/>'
            )
    every = max(1, -(-len(points) // 7))
    for i, ((label, value), point) in enumerate(zip(points, xy, strict=True)):
        if point is not None:
            x, y = point
            shown = escape(value_label.format(value))
            parts.append(
                f'<circle class="dot" cx="{_number(x)}" cy="{_number(y)}" r="4" '
                f'fill="#1f5fbf"><title>{escape(label)}: {shown}</title></circle>'
            )
        if i % every == 0 or i == len(points) - 1:
            parts.append(_category_label(_x_of(i, len(points), plot), label, plot))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text and attribute above is escaped)
