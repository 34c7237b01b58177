"""`homeroom loadtest` as users run it: against a real `homeroom serve` of a seeded school."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import run_cli, serving, sqlite_env

# One worker runs the module: its tests share the seeded server of `school`.
pytestmark = [pytest.mark.live, pytest.mark.xdist_group("loadtest")]

STUDENT_ENDPOINTS = {
    "GET /auth/me",
    "GET /students/{id}/grades",
    "GET /students/{id}/attendance",
    "GET /sections",
    "GET /courses/{id}",
}
TEACHER_ENDPOINTS = {
    "GET /sections/{id}/roster",
    "GET /grades?section_id=",
    "POST /attendance/bulk",
    "POST /grades/bulk",
}
STAFF_ENDPOINTS = {"GET /students?q=", "GET /students", "GET /audit-logs"}
JOURNEY_ENDPOINTS = {"GET /analytics/me", "GET /sections", "GET /sections?term_id=", "GET /users"}


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("loadtest")
    env = sqlite_env(tmp)
    seeded = run_cli(["seed", "--students", "60", "--quiet"], env)
    assert seeded.returncode == 0, seeded.stderr
    with serving(env) as base:
        yield base, env


def loadtest(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    done = run_cli(["loadtest", *args], env)
    return done.returncode, done.stdout, done.stderr


def test_baseline_passes_and_reports(school: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, env = school
    out = tmp_path / "report"
    # This test is about the harness, on a shared 2-core machine where a few hundred requests
    # make p99 the 3rd slowest one: latency limits with room, and not a single error allowed.
    # (The verdict logic is unit-tested; the default SLA is judged by the demo-school run.)
    sla = tmp_path / "sla.json"
    sla.write_text('{"p95_ms": 250, "p99_ms": 1000, "error_rate": 0}')
    started = time.monotonic()
    code, stdout, stderr = loadtest(
        env, "--host", base, "--scenario", "baseline", "--duration", "8", "--users", "10",
        "--think-time", "0.3", "--sla", str(sla), "--out", str(out),
    )  # fmt: skip
    assert code == 0, stdout + stderr
    assert time.monotonic() - started < 45  # 8 s of load, logins and reports around it
    report = json.loads((out / "report.json").read_text())
    names = {f"{row['method']} {row['name']}" for row in report["endpoints"]}
    assert names >= STUDENT_ENDPOINTS, names
    assert names & TEACHER_ENDPOINTS and names & STAFF_ENDPOINTS, names
    assert report["overall"]["requests"] > 50
    assert report["overall"]["failures"] == 0 and report["errors"] == []
    assert all(row["failures"] == 0 for row in report["endpoints"] + report["setup"])
    # Sessions were opened before the load (10 users: 9 students, 3 teachers, 2 staff at most)
    # and no user had to log in during it.
    assert report["meta"]["logins_before_run"] == 14
    assert [(row["name"], row["requests"]) for row in report["setup"]] == [("/auth/login", 14)]
    assert report["sla"]["passed"] is True
    assert report["sla"]["thresholds"]["error_rate"] == 0
    assert report["meta"]["peak_users"] == 10 and 7 <= report["meta"]["seconds"] <= 12
    assert report["meta"]["target"]["students"] == 60
    assert report["timeline"] and report["timeline"][-1]["users"] == 10
    html = (out / "report.html").read_text()
    assert "<svg" in html and "GET /students/{id}/grades" in html
    # The table and the SLA verdicts on stdout, the live progress line on stderr.
    assert "overall (without setup)" in stdout and "SLA PASS  p95_ms" in stdout
    assert "req/s  p95" in stderr


def test_journeys_run_the_competing_lms_journeys_in_a_closed_loop(
    school: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, env = school
    out = tmp_path / "report"
    sla = tmp_path / "sla.json"
    sla.write_text('{"p95_ms": 500, "p99_ms": 2000, "error_rate": 0}')
    code, stdout, stderr = loadtest(
        env, "--host", base, "--scenario", "journeys", "--duration", "6", "--users", "12",
        "--sla", str(sla), "--out", str(out),
    )  # fmt: skip
    assert code == 0, stdout + stderr
    report = json.loads((out / "report.json").read_text())
    names = {f"{row['method']} {row['name']}" for row in report["endpoints"]}
    # Only the journeys (no /auth/me at start either), each of them.
    assert names == JOURNEY_ENDPOINTS, names
    assert report["overall"]["failures"] == 0 and report["errors"] == []
    meta = report["meta"]
    assert meta["scenario"] == "journeys" and meta["workload"] == "journeys"
    assert meta["think_time"] == 0 and meta["peak_users"] == 12
    assert meta["target"]["term_id"] is not None
    # Closed loop: far more requests than 12 users at a 1 s think time would make in 6 s.
    assert report["overall"]["requests"] > 12 * 6 * 3
    # Logged in before the load (12 users: 11 students, 3 teachers, 2 staff at most).
    assert [(row["name"], row["requests"]) for row in report["setup"]] == [("/auth/login", 16)]
    assert "think time 0 s (closed loop)" in stdout


def test_a_think_time_overrides_the_journeys_closed_loop(
    school: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, env = school
    code, stdout, stderr = loadtest(
        env, "--host", base, "--scenario", "journeys", "--duration", "3", "--users", "4",
        "--think-time", "0.5", "--out", str(tmp_path / "report"),
    )  # fmt: skip
    assert code in (0, 1), stdout + stderr  # the default SLA is not the point here
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["meta"]["think_time"] == 0.5
    assert report["overall"]["requests"] < 4 * 3 * 4  # ~2 requests per user per second


def test_a_failed_sla_exits_non_zero(school: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, env = school
    sla = tmp_path / "sla.toml"
    sla.write_text("p95_ms = 0.001\n")
    code, stdout, stderr = loadtest(
        env, "--host", base, "--duration", "3", "--users", "3", "--sla", str(sla),
        "--out", str(tmp_path / "report"),
    )  # fmt: skip
    assert code == 1, stdout + stderr
    assert "SLA FAIL  p95_ms" in stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["sla"]["passed"] is False
    assert report["sla"]["thresholds"]["p95_ms"] == 0.001
    assert (tmp_path / "report" / "report.html").exists()


def test_wrong_password_is_refused_before_any_load(
    school: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, env = school
    code, _, stderr = loadtest(
        env, "--host", base, "--password", "not-the-one", "--out", str(tmp_path / "r")
    )
    assert code == 2
    assert "cannot log in as admin@example.edu or registrar@example.edu" in stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "http://10.1.2.3:8000"], "only loopback"),
        (["--host", "http://127.0.0.1:9"], "no Homeroom answers at http://127.0.0.1:9"),
        (["--sla", "/nonexistent/sla.toml"], "cannot read SLA file"),
    ],
)
def test_refusals(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, stderr = loadtest(sqlite_env(tmp_path), *args)
    assert code == 2
    assert message in stderr
