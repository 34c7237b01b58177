"""Service-level thresholds: loaded from TOML or JSON, checked against a run's overall figures."""

import json
import math
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_P95_MS = 100.0
DEFAULT_P99_MS = 250.0
DEFAULT_ERROR_RATE = 0.001  # 0.1 %


class SLAFileError(ValueError):
    """The SLA file cannot be read or holds something other than the known thresholds."""


@dataclass(frozen=True)
class SLA:
    """Maxima: a run passes a threshold when its figure is at most the threshold."""

    p95_ms: float = DEFAULT_P95_MS
    p99_ms: float = DEFAULT_P99_MS
    error_rate: float = DEFAULT_ERROR_RATE  # a fraction: 0.001 is 0.1 %


@dataclass(frozen=True)
class Check:
    metric: str
    threshold: float
    actual: float | None
    passed: bool


def load_sla(path: Path | None) -> SLA:
    """Thresholds from a `.toml` or `.json` file (top level or an `[sla]` table); defaults else."""
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
    known = set(SLA.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise SLAFileError(f"{path}: unknown thresholds {unknown}; known: {sorted(known)}")
    values: dict[str, float] = {}
    for key, value in data.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise SLAFileError(f"{path}: {key} must be a number")
        if value < 0 or (key == "error_rate" and value > 1):
            raise SLAFileError(f"{path}: {key} out of range")
        values[key] = float(value)
    return SLA(**values)


def evaluate(sla: SLA, overall: dict[str, Any]) -> list[Check]:
    """One check per threshold against the overall figures (p95_ms, p99_ms, error_rate, requests).

    A run without a single completed request fails every check: nothing was shown to hold.
    """
    measured = int(overall.get("requests", 0)) > 0
    checks = []
    for metric, threshold in asdict(sla).items():
        actual = overall.get(metric)
        passed = measured and actual is not None and actual <= threshold
        checks.append(Check(metric, threshold, actual if measured else None, passed))
    return checks
