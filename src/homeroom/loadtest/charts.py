"""Inline SVG line charts (the HTML report needs no script and no network)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = (
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c",
    "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d",
)  # fmt: skip


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float | None]]
    color: str = PALETTE[0]
    width: float = 1.5


def nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least `value` (a readable axis top)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _fmt(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value:,.0f}"


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    y_label: str,
    x_label: str,
    x_names: Sequence[str] | None = None,
    width: int = 760,
    height: int = 300,
) -> str:
    """An SVG chart of `series`; with `x_names` the x values are indices of those names."""
    left, right, top, bottom = 64, 16, 34, 46
    legend_rows = math.ceil(len(series) / 3)
    total_height = height + 8 + legend_rows * 18
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for s in series for x, y in s.points if y is not None]
    ys = [y for s in series for _, y in s.points if y is not None]
    x_min = 0.0 if x_names else min(xs, default=0.0)
    x_max = float(len(x_names) - 1) if x_names else max(xs, default=1.0)
    x_max = x_max if x_max > x_min else x_min + 1
    y_max = nice_ceiling(max(ys, default=1.0))

    def px(x: float) -> float:
        return left + (x - x_min) / (x_max - x_min) * plot_w

    def py(y: float) -> float:
        return top + plot_h - y / y_max * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_height}" '
        f'viewBox="0 0 {width} {total_height}" role="img" aria-label="{escape(title)}" '
        'font-family="system-ui, sans-serif" font-size="11">',
        f'<text x="{left}" y="18" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    leading = round(y_max / 10.0 ** math.floor(math.log10(y_max)), 2)
    divisions = 5 if leading in (2.5, 5.0) else 4  # round tick values: 0, 5, 10 .. 25
    for i in range(divisions + 1):
        value = y_max * i / divisions
        y = py(value)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>'
        )
    if x_names:
        ticks = [(float(i), name) for i, name in enumerate(x_names)]
    else:
        ticks = [(x_min + (x_max - x_min) * i / 6, _fmt(round(x_min + (x_max - x_min) * i / 6)))
                 for i in range(7)]  # fmt: skip
    for x, name in ticks:
        out.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
    out.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#9ca3af"/>'
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#9ca3af"/>'
        f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 34}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    for s in series:
        for run in _runs(s.points):
            if len(run) == 1:
                ((x, y),) = run
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2" fill="{s.color}"/>')
                continue
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
            out.append(
                f'<polyline fill="none" stroke="{s.color}" stroke-width="{s.width}" '
                f'points="{path}"/>'
            )
    for i, s in enumerate(series):
        x = left + (i % 3) * (plot_w / 3)
        y = height + 12 + (i // 3) * 18
        out.append(
            f'<rect x="{x:.1f}" y="{y - 9}" width="12" height="4" fill="{s.color}"/>'
            f'<text x="{x + 16:.1f}" y="{y - 4}">{escape(s.label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _runs(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Consecutive points with a value (a missing value breaks the line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x, y))
    return [run for run in runs if run]
