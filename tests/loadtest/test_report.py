"""Report generation from a recorded run (tests/loadtest/fixtures: our locustfile's stats dump
and locust's CSV stats history of a 10-user baseline) and from hand-made histograms."""

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from homeroom.loadtest import report as report_writer
from homeroom.loadtest.charts import Series, line_chart, nice_ceiling
from homeroom.loadtest.results import percentile, read_dump, read_timeline, summarize, timeline
from homeroom.loadtest.runner import Progress
from homeroom.loadtest.sla import SLA, evaluate

FIXTURES = Path(__file__).with_name("fixtures")
META = {
    "host": "http://127.0.0.1:8000",
    "scenario": "baseline",
    "stages": [],
    "peak_users": 10,
    "seconds": 10.11,
    "think_time": 1.0,
    "started_at": "2026-11-22T06:07:13+00:00",
    "generator_cpu_cores": 0.07,
    "locust_version": "2.47.0",
}


def entry(method: str, name: str, times: dict[int, int], failures: int = 0) -> dict[str, Any]:
    return {
        "method": method,
        "name": name,
        "num_requests": sum(times.values()),
        "num_failures": failures,
        "total_response_time": sum(ms * n for ms, n in times.items()),
        "max_response_time": max(times) + 0.4,
        "response_times": {str(ms): n for ms, n in times.items()},  # as JSON has them
    }


DUMP = {
    "started": 1000.0,
    "stopped": 1010.0,
    "entries": [
        entry("GET", "/students/{id}/grades", {2: 50, 3: 45, 10: 4, 100: 1}),
        entry("POST", "/grades/bulk", {20: 9, 400: 1}, failures=1),
        entry("POST", "/auth/login", {300: 5, 900: 5}),
    ],
    "errors": [
        {"method": "POST", "name": "/grades/bulk", "error": "HTTPError(422)", "occurrences": 1}
    ],
}


def recorded() -> dict[str, Any]:
    summary = summarize(read_dump(FIXTURES / "stats.json"))
    points = read_timeline(FIXTURES / "stats_history.csv")
    return report_writer.build_report(
        META, summary, points, SLA(), evaluate(SLA(), summary["overall"])
    )


class TestPercentiles:
    def test_from_a_histogram(self) -> None:
        hist = {2: 50, 3: 45, 10: 4, 100: 1}
        assert [percentile(hist, f) for f in (0.5, 0.51, 0.95, 0.96, 0.99, 1.0)] == [
            2,
            3,
            3,
            10,
            10,
            100,
        ]

    def test_empty(self) -> None:
        assert percentile({}, 0.95) is None


class TestSummarize:
    def test_endpoints_and_overall_without_logins(self) -> None:
        summary = summarize(DUMP)
        assert [(r["method"], r["name"]) for r in summary["endpoints"]] == [
            ("POST", "/grades/bulk"),
            ("GET", "/students/{id}/grades"),
        ]
        assert [r["name"] for r in summary["setup"]] == ["/auth/login"]
        overall = summary["overall"]
        assert overall["requests"] == 110
        assert overall["failures"] == 1
        assert overall["rps"] == 11.0
        assert overall["error_rate"] == round(1 / 110, 6)
        assert overall["p50_ms"] == 3  # the logins' 300-900 ms are not in it
        assert overall["p99_ms"] == 100
        assert overall["max_ms"] == 400.4

    def test_endpoint_row(self) -> None:
        grades = summarize(DUMP)["endpoints"][1]
        assert grades == {
            "method": "GET",
            "name": "/students/{id}/grades",
            "requests": 100,
            "failures": 0,
            "rps": 10.0,
            "error_rate": 0.0,
            "avg_ms": 3.75,
            "p50_ms": 2,
            "p95_ms": 3,
            "p99_ms": 10,
            "max_ms": 100.4,
        }

    def test_errors_and_percentile_curves(self) -> None:
        summary = summarize(DUMP)
        assert summary["errors"] == DUMP["errors"]
        curve = dict(summary["percentiles"]["endpoints"]["POST /grades/bulk"])
        assert curve[50] == 20 and curve[100] == 400


class TestTimeline:
    def test_aggregated_rows_relative_to_the_first(self) -> None:
        rows = [
            {"Timestamp": "100", "Name": "Aggregated", "User Count": "0", "Requests/s": "0",
             "Failures/s": "0", "50%": "N/A", "95%": "N/A"},
            {"Timestamp": "101", "Name": "/sections", "User Count": "5", "Requests/s": "9",
             "Failures/s": "0", "50%": "2", "95%": "4"},
            {"Timestamp": "102", "Name": "Aggregated", "User Count": "5", "Requests/s": "12.5",
             "Failures/s": "0.5", "50%": "3", "95%": "17"},
        ]  # fmt: skip
        assert timeline(rows) == [
            {"t": 0, "users": 0, "rps": 0, "failures_per_s": 0, "p50_ms": None, "p95_ms": None},
            {"t": 2, "users": 5, "rps": 12.5, "failures_per_s": 0.5, "p50_ms": 3, "p95_ms": 17},
        ]

    def test_recorded_history(self) -> None:
        points = read_timeline(FIXTURES / "stats_history.csv")
        assert len(points) == 11
        assert max(p["users"] or 0 for p in points) == 10
        assert any(p["p95_ms"] for p in points)

    def test_missing_history(self, tmp_path: Path) -> None:
        assert read_timeline(tmp_path / "none.csv") == []


class TestReport:
    def test_json_report(self, tmp_path: Path) -> None:
        report_writer.write_json(recorded(), tmp_path / "report.json")
        report = json.loads((tmp_path / "report.json").read_text())
        names = {f"{r['method']} {r['name']}" for r in report["endpoints"]}
        assert {"GET /students/{id}/grades", "GET /sections", "POST /attendance/bulk"} <= names
        assert "POST /auth/login" not in names
        assert report["overall"]["requests"] == sum(r["requests"] for r in report["endpoints"])
        assert report["overall"]["failures"] == 0
        assert report["sla"]["passed"] is True
        assert [c["metric"] for c in report["sla"]["checks"]] == ["p95_ms", "p99_ms", "error_rate"]
        assert report["meta"]["scenario"] == "baseline"
        assert len(report["timeline"]) == 11

    def test_html_is_self_contained(self, tmp_path: Path) -> None:
        report_writer.write_html(recorded(), tmp_path / "report.html")
        html = (tmp_path / "report.html").read_text()
        assert html.startswith("<!doctype html>")
        assert html.count("<svg") == 3  # latency over time, throughput, percentiles
        assert "<polyline" in html
        assert "<script" not in html
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
        assert "/students/{id}/grades" in html
        assert 'SLA <span class="pass">PASSED</span>' in html

    def test_html_escapes_names(self) -> None:
        summary = summarize(
            {**DUMP, "entries": [entry("GET", "/x?<script>alert(1)</script>", {1: 1})]}
        )
        report = report_writer.build_report(META, summary, [], SLA(), [])
        html = report_writer.render_html(report)
        assert "<script>" not in html and "&lt;script&gt;" in html

    def test_failed_sla_in_text_and_html(self) -> None:
        summary = summarize(DUMP)
        sla = SLA(p95_ms=0.001)
        report = report_writer.build_report(
            META, summary, [], sla, evaluate(sla, summary["overall"])
        )
        assert report["sla"]["passed"] is False
        text = report_writer.render_text(report)
        assert "SLA FAIL  p95_ms     20 ms (max 0.001 ms)" in text
        assert "SLA PASS  p99_ms     100 ms (max 250 ms)" in text
        assert "SLA FAIL  error_rate 0.91% (max 0.10%)" in text
        assert "error       1x  POST /grades/bulk: HTTPError(422)" in text
        assert "FAILED" in report_writer.render_html(report)

    def test_text_table(self) -> None:
        text = report_writer.render_text(recorded())
        lines = text.splitlines()
        assert lines[0].split() == [
            "endpoint",
            "requests",
            "req/s",
            "errors",
            "p50",
            "p95",
            "p99",
            "max",
        ]
        assert any(line.startswith("POST /auth/login (setup)") for line in lines)
        assert any(line.startswith("overall (without setup)") for line in lines)
        assert "generator CPU 0.07 cores" in text


class TestCharts:
    def test_nice_ceiling(self) -> None:
        assert [nice_ceiling(v) for v in (0, 0.3, 7, 13, 24, 26, 101)] == [
            1, 0.5, 10, 20, 25, 50, 200
        ]  # fmt: skip

    def test_gaps_break_the_line(self) -> None:
        svg = line_chart(
            "t",
            [Series("p95", [(0, 1.0), (1, 2.0), (2, None), (3, 4.0), (4, 5.0), (5, None), (6, 1)])],
            y_label="ms",
            x_label="s",
        )
        assert svg.count("<polyline") == 2 and svg.count("<circle") == 1

    def test_empty_chart(self) -> None:
        assert line_chart("t", [], y_label="ms", x_label="s").endswith("</svg>")


class TestProgress:
    def test_a_line_every_few_seconds_when_not_a_terminal(self) -> None:
        stream = io.StringIO()
        progress = Progress(stream)
        line = {
            "elapsed": 3,
            "users": 10,
            "rps": 41.26,
            "p95_ms": 12,
            "requests": 200,
            "failures": 1,
        }
        progress.show(line)
        progress.show(line)  # within 5 s: not repeated
        progress.done()
        assert (
            stream.getvalue()
            == "     3 s  users   10      41.3 req/s  p95    12 ms  errors 0.50%\n"
        )


@pytest.mark.parametrize("value", [None, 0.4, 7.25, 12.6, 1234.0])
def test_millisecond_cells(value: float | None) -> None:
    assert (
        report_writer._ms(value)
        == {None: "-", 0.4: "0.4", 7.25: "7.2", 12.6: "13", 1234.0: "1,234"}[value]
    )


def test_endpoint_thresholds_in_the_report() -> None:
    summary = summarize(DUMP)
    sla = SLA(endpoints={"POST /grades/bulk": {"p99_ms": 100}})
    report = report_writer.build_report(
        META, summary, [], sla, evaluate(sla, summary["overall"], summary["endpoints"])
    )
    assert report["sla"]["thresholds"]["endpoints"] == {"POST /grades/bulk": {"p99_ms": 100}}
    assert report["sla"]["checks"][-1] == {
        "metric": "p99_ms",
        "threshold": 100,
        "actual": 400,
        "passed": False,
        "endpoint": "POST /grades/bulk",
    }
    assert "SLA FAIL  POST /grades/bulk p99_ms 400 ms (max 100 ms)" in report_writer.render_text(
        report
    )
