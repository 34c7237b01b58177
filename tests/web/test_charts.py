"""The dashboard's SVG charts: geometry by coordinates, drawing by what a reader gets."""

import re

import pytest

from homeroom.web.dashboard import charts
from homeroom.web.dashboard.charts import Plot, Rect

PLOT = Plot(left=0, top=0, width=100, height=50)


class TestScale:
    @pytest.mark.parametrize(
        ("value", "top", "expected"),
        [(5, 10, 50.0), (10, 10, 100.0), (0, 10, 0.0), (20, 10, 100.0), (-1, 10, 0.0), (3, 0, 0.0)],
    )
    def test_a_value_reaches_its_share_of_the_length_and_never_past_it(
        self, value: float, top: float, expected: float
    ) -> None:
        assert charts.scale(value, top, 100) == expected

    @pytest.mark.parametrize(
        ("largest", "top"),
        [(0, 1), (1, 1), (7, 10), (12, 20), (21, 25), (30, 50), (100, 100), (101, 200), (0.3, 0.5)],
    )
    def test_the_axis_ends_at_a_round_value_at_or_above_the_largest(
        self, largest: float, top: float
    ) -> None:
        assert charts.nice_top(largest) == pytest.approx(top)


class TestBars:
    def test_bars_share_the_width_and_rise_to_their_value(self) -> None:
        rects = charts.bar_rects([10, 5, 0, 10], 10, PLOT)
        # Four slots of 25, a gap of a fifth of the slot each side: bars 15 wide.
        assert rects == [
            Rect(5.0, 0.0, 15.0, 50.0),
            Rect(30.0, 25.0, 15.0, 25.0),
            Rect(55.0, 50.0, 15.0, 0.0),
            Rect(80.0, 0.0, 15.0, 50.0),
        ]

    def test_no_values_no_bars(self) -> None:
        assert charts.bar_rects([], 10, PLOT) == []

    def test_one_bar_fills_its_slot_in_the_middle(self) -> None:
        assert charts.bar_rects([2], 4, PLOT) == [Rect(20.0, 25.0, 60.0, 25.0)]

    def test_the_chart_is_an_image_named_by_its_title_and_description(self) -> None:
        svg = charts.bar_chart("letters", "Letter distribution", "A: 3, F: 1", [("A", 3), ("F", 1)])
        assert svg.startswith('<svg class="chart" id="letters" role="img" ')
        assert 'aria-labelledby="letters-title letters-desc"' in svg
        assert '<title id="letters-title">Letter distribution</title>' in svg
        assert '<desc id="letters-desc">A: 3, F: 1</desc>' in svg
        assert svg.count('<rect class="bar"') == 2
        assert "<title>A: 3</title>" in svg and "<title>F: 1</title>" in svg
        assert "style=" not in svg  # the CSP forbids inline style

    def test_an_empty_chart_is_its_frame_with_an_axis(self) -> None:
        svg = charts.bar_chart("x", "Letters", "No final grades yet.", [])
        assert "<rect" not in svg
        assert svg.count('<line class="grid"') == 3
        assert svg.endswith("</svg>")

    def test_text_is_escaped(self) -> None:
        svg = charts.bar_chart("x", "<b>&", 'say "hi"', [("<A>", 1)])
        assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
        assert "&lt;A&gt;" in svg


class TestLine:
    def test_points_spread_from_edge_to_edge_scaled_to_the_top(self) -> None:
        points = charts.line_points([1.0, 0.5, 0.0], 1.0, PLOT)
        assert points == [(0.0, 0.0), (50.0, 25.0), (100.0, 50.0)]

    def test_one_point_stands_in_the_middle(self) -> None:
        assert charts.line_points([0.8], 1.0, PLOT) == [(50.0, 10.0)]

    def test_a_missing_value_has_no_point(self) -> None:
        assert charts.line_points([1.0, None, 1.0], 1.0, PLOT) == [(0.0, 0.0), None, (100.0, 0.0)]

    def test_no_values_no_points(self) -> None:
        assert charts.line_points([], 1.0, PLOT) == []

    def test_the_line_breaks_where_a_value_is_missing(self) -> None:
        svg = charts.line_chart(
            "trend", "Attendance trend", "d", [("a", 1.0), ("b", 0.9), ("c", None), ("d", 0.5)]
        )
        assert svg.count("<polyline") == 1  # a-b; d alone is a dot
        assert svg.count('<circle class="dot"') == 3
        assert "<title>b: 90%</title>" in svg
        assert 'role="img"' in svg and 'aria-labelledby="trend-title trend-desc"' in svg

    def test_one_point_is_a_dot_without_a_line(self) -> None:
        svg = charts.line_chart("t", "T", "d", [("11-20", 0.75)])
        # The plot is 572 wide from x=44 and 196 high down to y=208: 208 - 0.75 * 196 = 61.
        assert "<polyline" not in svg
        assert re.search(r'<circle class="dot" cx="330" cy="61"', svg), svg

    def test_labels_below_at_most_seven_and_the_last(self) -> None:
        points = [(f"d{i}", 0.9) for i in range(30)]
        svg = charts.line_chart("t", "T", "d", points)
        labels = re.findall(r'text-anchor="middle"[^>]*>([^<]+)</text>', svg)
        assert len(labels) <= 8 and labels[0] == "d0" and labels[-1] == "d29"
