"""SLA thresholds: read from TOML or JSON, checked as maxima against the overall figures."""

from pathlib import Path

import pytest

from homeroom.loadtest.sla import SLA, SLAFileError, evaluate, load_sla

OVERALL = {"requests": 1000, "p95_ms": 40.0, "p99_ms": 90.0, "error_rate": 0.0}


def verdicts(sla: SLA, overall: dict[str, float]) -> dict[str, bool]:
    return {check.metric: check.passed for check in evaluate(sla, overall)}


class TestLoadSLA:
    def test_defaults_without_a_file(self) -> None:
        assert load_sla(None) == SLA(p95_ms=100, p99_ms=250, error_rate=0.001)

    def test_toml_top_level_keeps_defaults_for_the_rest(self, tmp_path: Path) -> None:
        path = tmp_path / "sla.toml"
        path.write_text("p95_ms = 50\nerror_rate = 0\n")
        assert load_sla(path) == SLA(p95_ms=50, p99_ms=250, error_rate=0)

    def test_toml_sla_table(self, tmp_path: Path) -> None:
        path = tmp_path / "sla.toml"
        path.write_text("[sla]\np99_ms = 120.5\n")
        assert load_sla(path).p99_ms == 120.5

    def test_json(self, tmp_path: Path) -> None:
        path = tmp_path / "sla.json"
        path.write_text('{"p95_ms": 0.001, "p99_ms": 1, "error_rate": 0.5}')
        assert load_sla(path) == SLA(p95_ms=0.001, p99_ms=1, error_rate=0.5)

    @pytest.mark.parametrize(
        ("name", "text", "message"),
        [
            ("sla.toml", "p90_ms = 10\n", "unknown thresholds ['p90_ms']"),
            ("sla.toml", 'p95_ms = "fast"\n', "p95_ms must be a number"),
            ("sla.toml", "p95_ms = true\n", "p95_ms must be a number"),
            ("sla.toml", "p95_ms = -1\n", "p95_ms out of range"),
            ("sla.json", '{"error_rate": 2}', "error_rate out of range"),
            ("sla.json", '{"p95_ms": NaN}', "p95_ms must be a number"),
            ("sla.json", "[1, 2]", "expected a table"),
            ("sla.toml", "p95_ms = = 1\n", "cannot read SLA file"),
        ],
    )
    def test_refuses_what_it_cannot_check(
        self, tmp_path: Path, name: str, text: str, message: str
    ) -> None:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(SLAFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_sla(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(SLAFileError, match="cannot read SLA file"):
            load_sla(tmp_path / "nowhere.toml")


class TestEvaluate:
    def test_within_every_threshold(self) -> None:
        checks = evaluate(SLA(), OVERALL)
        assert [(c.metric, c.threshold, c.actual, c.passed) for c in checks] == [
            ("p95_ms", 100, 40.0, True),
            ("p99_ms", 250, 90.0, True),
            ("error_rate", 0.001, 0.0, True),
        ]

    def test_thresholds_are_maxima(self) -> None:
        assert verdicts(SLA(p95_ms=40, p99_ms=90, error_rate=0), OVERALL) == {
            "p95_ms": True,
            "p99_ms": True,
            "error_rate": True,
        }

    def test_each_threshold_fails_on_its_own(self) -> None:
        assert verdicts(SLA(p95_ms=39.9), OVERALL) == {
            "p95_ms": False,
            "p99_ms": True,
            "error_rate": True,
        }
        assert verdicts(SLA(p99_ms=89), OVERALL)["p99_ms"] is False
        assert verdicts(SLA(), {**OVERALL, "error_rate": 0.0011})["error_rate"] is False

    def test_a_tiny_p95_threshold_fails(self) -> None:
        assert verdicts(SLA(p95_ms=0.001), OVERALL)["p95_ms"] is False

    def test_no_requests_proves_nothing(self) -> None:
        checks = evaluate(SLA(), {"requests": 0, "p95_ms": None, "p99_ms": None, "error_rate": 0})
        assert [(c.actual, c.passed) for c in checks] == [(None, False)] * 3


class TestEndpointThresholds:
    ROWS = [
        {"method": "GET", "name": "/sections", "requests": 10, "p95_ms": 12.0, "p99_ms": 30.0,
         "error_rate": 0.0},
        {"method": "POST", "name": "/grades/bulk", "requests": 5, "p95_ms": 80.0, "p99_ms": 90.0,
         "error_rate": 0.2},
    ]  # fmt: skip

    def test_loaded_from_an_endpoints_table(self, tmp_path: Path) -> None:
        path = tmp_path / "sla.toml"
        path.write_text(
            'p95_ms = 80\n[endpoints."GET /sections"]\np95_ms = 10\n'
            '[endpoints."POST /grades/bulk"]\nerror_rate = 0.5\np99_ms = 100\n'
        )
        sla = load_sla(path)
        assert sla.p95_ms == 80 and sla.p99_ms == 250
        assert sla.endpoints == {
            "GET /sections": {"p95_ms": 10},
            "POST /grades/bulk": {"error_rate": 0.5, "p99_ms": 100},
        }

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ('[endpoints."GET /sections"]\np90_ms = 1\n', "unknown thresholds ['p90_ms'] of GET"),
            ('[endpoints."GET /sections"]\np95_ms = "x"\n', "p95_ms of GET /sections must be"),
            ("endpoints = 3\n", "endpoints must map endpoint names"),
        ],
    )
    def test_refused(self, tmp_path: Path, text: str, message: str) -> None:
        path = tmp_path / "sla.toml"
        path.write_text(text)
        with pytest.raises(SLAFileError) as caught:
            load_sla(path)
        assert message in str(caught.value)

    def test_checked_against_the_endpoint_rows(self) -> None:
        sla = SLA(
            endpoints={
                "GET /sections": {"p95_ms": 10, "p99_ms": 30},
                "POST /grades/bulk": {"error_rate": 0.5},
            }
        )
        checks = evaluate(sla, OVERALL, self.ROWS)
        assert [(c.endpoint, c.metric, c.actual, c.passed) for c in checks[3:]] == [
            ("GET /sections", "p95_ms", 12.0, False),
            ("GET /sections", "p99_ms", 30.0, True),
            ("POST /grades/bulk", "error_rate", 0.2, True),
        ]
        assert all(c.endpoint is None for c in checks[:3])

    def test_an_endpoint_that_was_never_called_fails(self) -> None:
        checks = evaluate(SLA(endpoints={"GET /analytics/dashboard": {"p95_ms": 50}}), OVERALL)
        assert (checks[-1].actual, checks[-1].passed) == (None, False)
