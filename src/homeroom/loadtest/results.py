"""A run's figures from what locust left behind: the stats dump of our locustfile (exact
response-time histograms per endpoint) and locust's CSV stats history (the timeline)."""

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Sessions: logging in happens once per virtual user, before the load (argon2 by design costs
# ~100 ms of CPU), and tokens are refreshed in long runs. Reported on their own rows and kept
# out of the overall figures the SLA is checked against.
SETUP_REQUESTS = frozenset({("POST", "/auth/login"), ("POST", "/auth/refresh")})
PERCENTILES = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
MAX_TIMELINE_POINTS = 600

Histogram = Mapping[int, int]


def histogram(raw: Mapping[Any, Any]) -> Counter[int]:
    """locust's {rounded ms: count} (JSON turns the keys into strings)."""
    return Counter({int(float(ms)): int(count) for ms, count in raw.items()})


def percentile(hist: Histogram, fraction: float) -> float | None:
    """The smallest recorded time at or below which `fraction` of the requests completed."""
    total = sum(hist.values())
    if total == 0:
        return None
    wanted = max(1, math.ceil(total * fraction))
    seen = 0
    for ms in sorted(hist):
        seen += hist[ms]
        if seen >= wanted:
            return float(ms)
    return float(max(hist))


def figures(
    requests: int,
    failures: int,
    total_ms: float,
    max_ms: float,
    hist: Histogram,
    seconds: float,
) -> dict[str, Any]:
    return {
        "requests": requests,
        "failures": failures,
        "rps": round(requests / seconds, 2) if seconds > 0 else 0.0,
        "error_rate": round(failures / requests, 6) if requests else 0.0,
        "avg_ms": round(total_ms / requests, 2) if requests else None,
        "p50_ms": percentile(hist, 0.50),
        "p95_ms": percentile(hist, 0.95),
        "p99_ms": percentile(hist, 0.99),
        "max_ms": round(max_ms, 2) if requests else None,
    }


def merge_entries(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (method, name): the runner's logins join any the users made themselves."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        key = (entry["method"], entry["name"])
        hist = histogram(entry["response_times"])
        if key not in merged:
            merged[key] = {**entry, "response_times": hist}
            continue
        into = merged[key]
        into["response_times"] = into["response_times"] + hist
        for field in ("num_requests", "num_failures", "total_response_time"):
            into[field] = into[field] + entry[field]
        into["max_response_time"] = max(
            into["max_response_time"] or 0, entry["max_response_time"] or 0
        )
    return [merged[key] for key in sorted(merged, key=_by_name)]


def _by_name(key: tuple[str, str]) -> tuple[str, str]:
    method, name = key
    return name, method


def summarize(
    dump: Mapping[str, Any],
    setup_entries: Iterable[Mapping[str, Any]] = (),
    setup_seconds: float | None = None,
) -> dict[str, Any]:
    """Per-endpoint rows, the setup (session) rows, the overall figures and percentile curves.

    `setup_entries` are requests made before the run (the runner's logins); the setup rows'
    rates are over `setup_seconds` when given."""
    seconds = max(float(dump["stopped"]) - float(dump["started"]), 1e-9)
    endpoints, setup = [], []
    merged: Counter[int] = Counter()
    requests = failures = 0
    total_ms = max_ms = 0.0
    curves: dict[str, list[tuple[float, float | None]]] = {}
    for entry in merge_entries([*dump["entries"], *setup_entries]):
        is_setup = (entry["method"], entry["name"]) in SETUP_REQUESTS
        hist = entry["response_times"]
        row = {
            "method": entry["method"],
            "name": entry["name"],
            **figures(
                int(entry["num_requests"]),
                int(entry["num_failures"]),
                float(entry["total_response_time"]),
                float(entry["max_response_time"] or 0),
                hist,
                setup_seconds if is_setup and setup_seconds else seconds,
            ),
        }
        if is_setup:
            setup.append(row)
            continue
        endpoints.append(row)
        curves[f"{entry['method']} {entry['name']}"] = curve(hist)
        merged.update(hist)
        requests += row["requests"]
        failures += row["failures"]
        total_ms += float(entry["total_response_time"])
        max_ms = max(max_ms, float(entry["max_response_time"] or 0))
    overall = figures(requests, failures, total_ms, max_ms, merged, seconds)
    return {
        "seconds": round(seconds, 2),
        "overall": overall,
        "endpoints": endpoints,
        "setup": setup,
        "percentiles": {"overall": curve(merged), "endpoints": curves},
        "errors": [
            {
                "method": error["method"],
                "name": error["name"],
                "error": str(error["error"]),
                "occurrences": int(error["occurrences"]),
            }
            for error in sorted(dump.get("errors", []), key=lambda e: -int(e["occurrences"]))
        ],
    }


def curve(hist: Histogram) -> list[tuple[float, float | None]]:
    return [(fraction * 100, percentile(hist, fraction)) for fraction in PERCENTILES]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:  # locust writes "N/A" before the first response
        return None
    return value if math.isfinite(value) else None


def timeline(rows: Iterable[Mapping[str, str]]) -> list[dict[str, float | None]]:
    """The Aggregated rows of locust's stats history: every second, users, req/s, failures/s
    and p50/p95 over locust's sliding window (set to a few seconds by our locustfile)."""
    points: list[dict[str, float | None]] = []
    start: float | None = None
    for row in rows:
        if row.get("Name") != "Aggregated":
            continue
        stamp = _number(row["Timestamp"]) or 0.0
        start = stamp if start is None else start
        points.append(
            {
                "t": stamp - start,
                "users": _number(row["User Count"]),
                "rps": _number(row["Requests/s"]),
                "failures_per_s": _number(row["Failures/s"]),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
            }
        )
    step = math.ceil(len(points) / MAX_TIMELINE_POINTS) if points else 1
    return points[::step]


def read_timeline(history_csv: Path) -> list[dict[str, float | None]]:
    if not history_csv.exists():
        return []
    with history_csv.open(newline="") as fh:
        return timeline(csv.DictReader(fh))


def read_dump(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
