"""The run's report: a table for the terminal, report.json, and a self-contained report.html."""

import json
from collections.abc import Sequence
from dataclasses import asdict
from html import escape
from pathlib import Path
from typing import Any

from homeroom.loadtest.charts import PALETTE, Series, line_chart
from homeroom.loadtest.sla import SLA, Check

REPORT_VERSION = 1
CURVES_IN_CHART = 8


def build_report(
    meta: dict[str, Any],
    summary: dict[str, Any],
    timeline: list[dict[str, float | None]],
    sla: SLA,
    checks: Sequence[Check],
) -> dict[str, Any]:
    return {
        "version": REPORT_VERSION,
        "meta": meta,
        "overall": summary["overall"],
        "endpoints": summary["endpoints"],
        "setup": summary["setup"],
        "errors": summary["errors"],
        "sla": {
            "passed": all(check.passed for check in checks),
            "thresholds": sla.as_dict(),
            "checks": [asdict(check) for check in checks],
        },
        "timeline": timeline,
        "percentiles": summary["percentiles"],
    }


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f}%"


def _actual(check: dict[str, Any]) -> str:
    if check["actual"] is None:
        return "no requests"
    return (
        _pct(check["actual"]) if check["metric"] == "error_rate" else f"{_ms(check['actual'])} ms"
    )


def _label(check: dict[str, Any]) -> str:
    endpoint = check.get("endpoint")
    return f"{endpoint} {check['metric']}" if endpoint else str(check["metric"])


def _threshold(check: dict[str, Any]) -> str:
    value = check["threshold"]
    return _pct(value) if check["metric"] == "error_rate" else f"{value:g} ms"


COLUMNS = ("endpoint", "requests", "req/s", "errors", "p50", "p95", "p99", "max")


def _cells(label: str, row: dict[str, Any]) -> list[str]:
    return [
        label,
        f"{row['requests']:,}",
        f"{row['rps']:,.1f}",
        _pct(row["error_rate"]),
        _ms(row["p50_ms"]),
        _ms(row["p95_ms"]),
        _ms(row["p99_ms"]),
        _ms(row["max_ms"]),
    ]


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = [_cells(f"{r['method']} {r['name']}", r) for r in report["endpoints"]]
    rows += [_cells(f"{r['method']} {r['name']} (setup)", r) for r in report["setup"]]
    rows.append(_cells("overall (without setup)", report["overall"]))
    return rows


def _think(meta: dict[str, Any]) -> str:
    return f"{meta['think_time']:g} s" + (" (closed loop)" if not meta["think_time"] else "")


def _cores(meta: dict[str, Any]) -> str:
    cores = meta.get("generator_cpu_cores")
    return "-" if cores is None else f"{cores:.2f} cores"


def render_text(report: dict[str, Any]) -> str:
    """The per-endpoint table (times in ms) and the SLA verdicts, for the terminal."""
    rows = [list(COLUMNS), *table_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    first_width, *cell_widths = widths

    def line(row: list[str]) -> str:
        first, *cells = row
        return "  ".join(
            [
                first.ljust(first_width),
                *(cell.rjust(w) for cell, w in zip(cells, cell_widths, strict=True)),
            ]
        )

    header, *endpoints, overall = rows
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in endpoints]
    out += ["  ".join("-" * w for w in widths), line(overall), ""]
    meta = report["meta"]
    out.append(
        f"{meta['scenario']}: {report['overall']['requests']:,} requests in {meta['seconds']:g} s, "
        f"peak {meta['peak_users']} users, think time {_think(meta)}, "
        f"generator CPU {_cores(meta)}"
    )
    for check in report["sla"]["checks"]:
        verdict = "PASS" if check["passed"] else "FAIL"
        out.append(f"SLA {verdict}  {_label(check):<10} {_actual(check)} (max {_threshold(check)})")
    for e in report["errors"][:10]:
        out.append(f"error  {e['occurrences']:>6}x  {e['method']} {e['name']}: {e['error']}")
    return "\n".join(out)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


def charts(report: dict[str, Any]) -> list[str]:
    points = report["timeline"]
    over_time = [
        line_chart(
            "Latency over time (p50 and p95 over a sliding window of 3 s)",
            [
                Series("p50", [(p["t"], p["p50_ms"]) for p in points], PALETTE[0]),
                Series("p95", [(p["t"], p["p95_ms"]) for p in points], PALETTE[1]),
            ],
            y_label="ms",
            x_label="seconds",
        ),
        line_chart(
            "Throughput and users over time",
            [
                Series("requests/s", [(p["t"], p["rps"]) for p in points], PALETTE[2]),
                Series("failures/s", [(p["t"], p["failures_per_s"]) for p in points], PALETTE[1]),
                Series("users", [(p["t"], p["users"]) for p in points], PALETTE[8]),
            ],
            y_label="per second / users",
            x_label="seconds",
        ),
    ]
    curves = report["percentiles"]
    overall = curves["overall"]
    names = [f"{pct:g}" for pct, _ in overall]

    def slowness(item: tuple[str, list[tuple[float, float | None]]]) -> float:
        _, curve = item
        return -max((ms or 0) for _, ms in curve[:-1])  # by p99.99, max aside

    slowest = sorted(curves["endpoints"].items(), key=slowness)[:CURVES_IN_CHART]
    series = [Series("overall", [(i, ms) for i, (_, ms) in enumerate(overall)], "#111827", 3)]
    series += [
        Series(name, [(i, ms) for i, (_, ms) in enumerate(curve)], PALETTE[n % len(PALETTE)])
        for n, (name, curve) in enumerate(slowest)
    ]
    percentile_chart = line_chart(
        f"Response time by percentile (overall and the {len(slowest)} slowest endpoints)",
        series,
        y_label="ms",
        x_label="percentile",
        x_names=names,
    )
    return [*over_time, percentile_chart]


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 980px; color: #111827; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e5e7eb; text-align: right; }
th:first-child, td:first-child { text-align: left; font-family: ui-monospace, monospace; }
tr.total td { font-weight: 600; border-top: 2px solid #9ca3af; }
.pass { color: #15803d; font-weight: 600; } .fail { color: #b91c1c; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 0.9rem; }
dt { color: #6b7280; } figure { margin: 1rem 0; }
"""


def render_html(report: dict[str, Any]) -> str:
    meta = report["meta"]
    passed = report["sla"]["passed"]
    verdict = '<span class="pass">PASSED</span>' if passed else '<span class="fail">FAILED</span>'
    facts = [
        ("host", meta["host"]),
        ("scenario", meta["scenario"]),
        ("started", meta["started_at"]),
        (
            "duration",
            f"{meta['seconds']:g} s" + (" (interrupted)" if meta.get("interrupted") else ""),
        ),
        ("peak users", str(meta["peak_users"])),
        ("think time", _think(meta)),
        ("generator CPU", _cores(meta)),
        ("locust", meta.get("locust_version") or "-"),
    ]
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    rows = table_rows(report)
    body = "".join(
        f"<tr{' class=total' if i == len(rows) - 1 else ''}>"
        + "".join(f"<td>{escape(cell)}</td>" for cell in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    checks = "".join(
        f"<tr><td>{escape(_label(c))}</td><td>{escape(_actual(c))}</td>"
        f"<td>{escape(_threshold(c))}</td>"
        + ('<td class="pass">pass</td></tr>' if c["passed"] else '<td class="fail">FAIL</td></tr>')
        for c in report["sla"]["checks"]
    )
    error_rows = "".join(
        f"<tr><td>{escape(e['method'])} {escape(e['name'])}</td><td>{e['occurrences']:,}</td>"
        f"<td style='text-align:left'>{escape(e['error'])}</td></tr>"
        for e in report["errors"]
    )
    errors = (
        "<h2>Errors</h2><table><tr><th>request</th><th>count</th><th>error</th></tr>"
        f"{error_rows}</table>"
        if error_rows
        else ""
    )
    figures = "".join(f"<figure>{svg}</figure>" for svg in charts(report))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Homeroom load test: {escape(meta["scenario"])} {escape(meta["started_at"])}</title>
<style>{STYLE}</style></head>
<body>
<h1>Homeroom load test: {escape(meta["scenario"])}, SLA {verdict}</h1>
<dl>{"".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)}</dl>
<h2>Service levels (logins excluded)</h2>
<table><tr><th>threshold</th><th>actual</th><th>maximum</th><th>verdict</th></tr>{checks}</table>
<h2>Endpoints (times in ms)</h2>
<table><tr>{head}</tr>{body}</table>
<p>Each virtual user's session is opened before the load starts: one login each (argon2 by
design, about 100 ms of server CPU), timed on the setup row. The overall row, the SLA and the
charts leave the logins out.</p>
<h2>Charts</h2>
{figures}
{errors}
</body></html>
"""


def write_html(report: dict[str, Any], path: Path) -> None:
    path.write_text(render_html(report))
