"""Service-level thresholds: loaded from TOML or JSON, checked against a run's figures, overall
and optionally per endpoint."""

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_P95_MS = 100.0
DEFAULT_P99_MS = 250.0
DEFAULT_ERROR_RATE = 0.001  # 0.1 %
METRICS = ("p95_ms", "p99_ms", "error_rate")


class SLAFileError(ValueError):
    """The SLA file cannot be read or holds something other than the known thresholds."""


@dataclass(frozen=True)
class SLA:
    """Maxima: a run passes a threshold when its figure is at most the threshold.

    `endpoints` adds thresholds for single endpoints, by the report's name ("GET /sections").
    """

    p95_ms: float = DEFAULT_P95_MS
    p99_ms: float = DEFAULT_P99_MS
    error_rate: float = DEFAULT_ERROR_RATE  # a fraction: 0.001 is 0.1 %
    endpoints: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def overall(self) -> dict[str, float]:
        return {metric: getattr(self, metric) for metric in METRICS}

    def as_dict(self) -> dict[str, Any]:
        return {**self.overall(), "endpoints": {k: dict(v) for k, v in self.endpoints.items()}}


@dataclass(frozen=True)
class Check:
    metric: str
    threshold: float
    actual: float | None
    passed: bool
    endpoint: str | None = None  # None: the overall figures


def _thresholds(path: Path, table: Mapping[str, Any], where: str) -> dict[str, float]:
    unknown = sorted(set(table) - set(METRICS))
    if unknown:
        raise SLAFileError(f"{path}: unknown thresholds {unknown}{where}; known: {list(METRICS)}")
    values: dict[str, float] = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SLAFileError(f"{path}: {key}{where} must be a number")
        if not math.isfinite(value):
            raise SLAFileError(f"{path}: {key}{where} must be a number")
        if value < 0 or (key == "error_rate" and value > 1):
            raise SLAFileError(f"{path}: {key}{where} out of range")
        values[key] = float(value)
    return values


def load_sla(path: Path | None) -> SLA:
    """Thresholds from a `.toml` or `.json` file (top level or an `[sla]` table); defaults else.

    Per-endpoint thresholds go in an `endpoints` table: `[endpoints."GET /sections"]`."""
    if path is None:
        return SLA()
    try:
        text = path.read_text()
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise SLAFileError(f"cannot read SLA file {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("sla"), dict):
        data = data["sla"]
    if not isinstance(data, dict):
        raise SLAFileError(f"{path}: expected a table of thresholds")
    data = dict(data)
    raw_endpoints = data.pop("endpoints", {})
    if not isinstance(raw_endpoints, dict) or not all(
        isinstance(v, dict) for v in raw_endpoints.values()
    ):
        raise SLAFileError(f"{path}: endpoints must map endpoint names to tables of thresholds")
    endpoints = {
        name: _thresholds(path, table, f" of {name}") for name, table in raw_endpoints.items()
    }
    return SLA(**_thresholds(path, data, ""), endpoints=endpoints)


def _check(
    metric: str, threshold: float, figures: Mapping[str, Any] | None, endpoint: str | None
) -> Check:
    # Without a single completed request nothing was shown to hold: the check fails.
    measured = figures is not None and int(figures.get("requests", 0)) > 0
    actual = figures.get(metric) if figures is not None and measured else None
    return Check(metric, threshold, actual, actual is not None and actual <= threshold, endpoint)


def evaluate(
    sla: SLA, overall: Mapping[str, Any], endpoints: Sequence[Mapping[str, Any]] = ()
) -> list[Check]:
    """One check per overall threshold, then per endpoint threshold (rows of the report)."""
    checks = [_check(metric, limit, overall, None) for metric, limit in sla.overall().items()]
    rows = {f"{row['method']} {row['name']}": row for row in endpoints}
    for name, thresholds in sla.endpoints.items():
        checks += [_check(m, limit, rows.get(name), name) for m, limit in thresholds.items()]
    return checks
