"""Runs one load test: checks the target, starts locust on our locustfile as a subprocess,
shows a live progress line, then writes the report and checks the SLA."""

import contextlib
import datetime as dt
import importlib.metadata
import importlib.util
import ipaddress
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from homeroom.loadtest import report as report_writer
from homeroom.loadtest.results import read_dump, read_timeline, summarize
from homeroom.loadtest.scenarios import DEFAULTS, Plan, ScenarioName, plan
from homeroom.loadtest.sessions import Sessions, open_sessions, sessions_needed
from homeroom.loadtest.sla import evaluate, load_sla

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PROGRESS_PREFIX = "HOMEROOM-LOADTEST-PROGRESS "  # the same as in locustfile.py
STAFF_LOGINS = ("admin@example.edu", "registrar@example.edu")
DASHBOARD_PATH = "/analytics/dashboard"
EXPORT_PATH = "/export/students/csv"
GRACE_SECONDS = 60  # past the planned duration before locust is stopped by force

EXIT_OK, EXIT_SLA_FAILED, EXIT_ERROR = 0, 1, 2


class LoadTestError(Exception):
    """The test cannot run (bad options, no server, no logins, locust failed)."""


@dataclass(frozen=True)
class Options:
    host: str = "http://127.0.0.1:8000"
    scenario: ScenarioName = "baseline"
    users: int | None = None
    spawn_rate: float | None = None
    duration: float | None = None
    think_time: float | None = None  # None: the scenario's (1 s; journeys 0, a closed loop)
    password: str = "homeroom"  # noqa: S105 (the demo seed's)
    sla_path: Path | None = None
    out: Path | None = None
    allow_remote: bool = False


@dataclass(frozen=True)
class Target:
    """What the running server offers: account ranges and optional endpoints."""

    students: int
    teachers: int
    staff_logins: list[str] = field(default_factory=list)
    dashboard: str | None = None
    export: str | None = None
    term_id: int | None = None  # the current term (a teacher's journey lists its sections)


def check_host(host: str, allow_remote: bool) -> str:
    """The base URL without a trailing slash; only loopback unless allowed otherwise."""
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoadTestError(f"--host must be an http(s) URL, not {host!r}")
    if not allow_remote and not _is_loopback(parts.hostname):
        raise LoadTestError(
            f"refusing to load {parts.hostname}: only loopback addresses (127.0.0.0/8, ::1, "
            "localhost) unless --allow-remote"
        )
    return host.rstrip("/")


def _is_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _call(url: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (http(s) checked)
    with urllib.request.urlopen(request, timeout=15) as resp:  # noqa: S310
        return json.loads(resp.read())


def discover(host: str, password: str) -> Target:
    """Logs in as the seed's admin/registrar to learn how many students and teachers to spread
    the virtual users over, and reads the OpenAPI schema for the optional endpoints."""
    try:
        paths = set(_call(f"{host}/openapi.json").get("paths", {}))
    except (OSError, ValueError) as exc:
        raise LoadTestError(f"no Homeroom answers at {host}: {exc}") from None
    token, staff = None, []
    for email in STAFF_LOGINS:
        try:
            pair = _call(f"{host}/api/v1/auth/login", {"email": email, "password": password})
        except urllib.error.HTTPError:
            continue
        staff.append(email)
        token = token or pair["access_token"]
    if token is None:
        raise LoadTestError(
            f"cannot log in as {' or '.join(STAFF_LOGINS)} with the given --password: "
            "seed the server first (homeroom seed --students N --password P)"
        )
    students = int(_call(f"{host}/api/v1/students?limit=1", token=token)["total"])
    teachers = int(_call(f"{host}/api/v1/teachers?limit=1", token=token)["total"])
    if students == 0 or teachers == 0:
        raise LoadTestError(f"{host} has {students} students and {teachers} teachers: seed it")

    def offered(path: str) -> str | None:
        return path if f"/api/v1{path}" in paths else None

    terms = _call(f"{host}/api/v1/terms?limit=100", token=token)["items"]
    return Target(
        students,
        teachers,
        staff,
        offered(DASHBOARD_PATH),
        offered(EXPORT_PATH),
        current_term(terms, dt.date.today()),
    )


def current_term(terms: list[dict[str, Any]], today: dt.date) -> int | None:
    """The term holding `today`, else the latest one that started (None without terms)."""
    day = today.isoformat()
    for term in terms:
        if term["start_date"] <= day <= term["end_date"]:
            return int(term["id"])
    started = [t for t in terms if t["start_date"] <= day] or terms
    return int(max(started, key=lambda t: t["start_date"])["id"]) if started else None


class Progress:
    """One live line on stderr: rewritten in place on a terminal, a line every 5 s otherwise."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.last_printed = 0.0

    def show(self, line: dict[str, Any]) -> None:
        requests = int(line.get("requests") or 0)
        errors = (int(line.get("failures") or 0) / requests) if requests else 0.0
        p95 = line.get("p95_ms")
        text = (
            f"{line.get('elapsed', 0):6.0f} s  users {line.get('users', 0):4d}  "
            f"{line.get('rps', 0):8.1f} req/s  p95 {'-' if p95 is None else p95:>5} ms  "
            f"errors {errors * 100:.2f}%"
        )
        if self.live:
            self.stream.write(f"\r{text}\x1b[K")
        elif time.monotonic() - self.last_printed >= 5:
            self.stream.write(text + "\n")
            self.last_printed = time.monotonic()
        else:
            return
        self.stream.flush()

    def done(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def default_out_dir() -> Path:
    return Path("var") / "loadtest" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def locust_command(host: str, out: Path) -> list[str]:
    # No --run-time/--users: the locustfile's shape class runs the planned stages and stops.
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
        "--csv", str(out / "locust"), "--csv-full-history", "--only-summary",
        "--loglevel", "WARNING", "--logfile", str(out / "locust.log"),
        "--exit-code-on-error", "0",
    ]  # fmt: skip


def run_locust(
    command: list[str], config: dict[str, Any], out: Path, timeout: float, progress: Progress
) -> tuple[float, bool]:
    """Runs locust to the end; returns the CPU seconds it used (the generator's share) and
    whether it was interrupted (Ctrl-C)."""
    interrupted = False
    env = {**os.environ, "HOMEROOM_LOADTEST_CONFIG": json.dumps(config)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (
        (out / "locust.stdout").open("w") as stdout_log,
        (out / "locust.stderr").open("w") as stderr_log,
    ):
        proc = subprocess.Popen(  # noqa: S603 (our own interpreter and locustfile)
            command, env=env, stdout=subprocess.PIPE, stderr=stderr_log, text=True
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                if raw.startswith(PROGRESS_PREFIX):
                    with contextlib.suppress(ValueError):
                        progress.show(json.loads(raw[len(PROGRESS_PREFIX) :]))
                else:
                    stdout_log.write(raw)
            proc.wait()
        except KeyboardInterrupt:
            interrupted = True
            # Ctrl-C reaches locust too (our process group): it stops its users and writes its
            # statistics. Told once more only if the interrupt came to this process alone (a
            # second one during its shutdown would cut the statistics short).
            for nudge in (signal.SIGINT, signal.SIGKILL):
                try:
                    proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    proc.send_signal(nudge)
            proc.wait()
        finally:
            timer.cancel()
            progress.done()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, interrupted


def run(options: Options, echo: Callable[[str], None], stderr: IO[str] = sys.stderr) -> int:
    """The whole load test; returns the process exit code (1 when an SLA failed)."""
    host = check_host(options.host, options.allow_remote)
    sla = load_sla(options.sla_path)
    if importlib.util.find_spec("locust") is None:
        raise LoadTestError("locust is not installed: pip install 'homeroom[loadtest]'")
    scenario = plan(options.scenario, options.users, options.spawn_rate, options.duration)
    defaults = DEFAULTS[scenario.scenario]
    think_time = defaults.think_time if options.think_time is None else options.think_time
    if scenario.capped:
        echo(f"note: {scenario.scenario} runs at most {scenario.duration:g} s; capped")
    target = discover(host, options.password)
    out = options.out or default_out_dir()
    out.mkdir(parents=True, exist_ok=True)
    stats_path = out / "stats.json"
    stats_path.unlink(missing_ok=True)
    sessions = _log_in(host, options.password, scenario, target, echo)
    sessions_path = out / "sessions.json"
    sessions_path.touch(mode=0o600)
    sessions_path.write_text(json.dumps(sessions.by_role))
    config = {
        "password": options.password,
        "students": target.students,
        "teachers": target.teachers,
        "staff_logins": target.staff_logins,
        "dashboard": target.dashboard,
        "export": target.export,
        "term_id": target.term_id,
        "workload": defaults.workload,
        "think_time": think_time,
        "stages": [[s.until, s.users, s.spawn_rate] for s in scenario.stages],
        "stats_path": str(stats_path.resolve()),
        "sessions_path": str(sessions_path.resolve()),
    }
    echo(
        f"{scenario.scenario}: up to {scenario.peak_users()} users for {scenario.duration:g} s "
        f"against {host} ({target.students} students, {target.teachers} teachers), "
        f"{defaults.workload}, think time {think_time:g} s"
    )
    started = dt.datetime.now(dt.UTC)
    wall = time.monotonic()
    try:
        cpu, interrupted = run_locust(
            locust_command(host, out),
            config,
            out,
            scenario.duration + GRACE_SECONDS,
            Progress(stderr),
        )
    finally:
        sessions_path.unlink(missing_ok=True)  # live tokens: not left lying around
    wall = time.monotonic() - wall
    if not stats_path.exists():
        raise LoadTestError(f"locust ended without statistics; see {out / 'locust.stderr'}")
    summary = summarize(read_dump(stats_path), [sessions.entry], sessions.seconds)
    meta = _meta(think_time, host, scenario, target, started, summary["seconds"], cpu / wall)
    meta["interrupted"] = interrupted
    meta["logins_before_run"] = sessions.entry["num_requests"]
    meta["login_seconds"] = round(sessions.seconds, 2)
    checks = evaluate(sla, summary["overall"], summary["endpoints"])
    report = report_writer.build_report(
        meta, summary, read_timeline(out / "locust_stats_history.csv"), sla, checks
    )
    report_writer.write_json(report, out / "report.json")
    report_writer.write_html(report, out / "report.html")
    echo(report_writer.render_text(report))
    if interrupted:
        echo(f"interrupted after {summary['seconds']:g} of {scenario.duration:g} s")
    echo(f"report: {out / 'report.html'} and {out / 'report.json'}")
    return EXIT_OK if report["sla"]["passed"] else EXIT_SLA_FAILED


def _log_in(
    host: str, password: str, scenario: Plan, target: Target, echo: Callable[[str], None]
) -> Sessions:
    needed = sessions_needed(scenario.peak_users())
    echo(f"logging in {sum(needed.values())} virtual users before the load ...")
    available = {"student": target.students, "teacher": target.teachers}
    sessions = open_sessions(host, password, needed, available, target.staff_logins)
    failed = sessions.entry["failed"]
    example = next(iter(failed), None)
    echo(
        f"logged in {sum(len(s) for s in sessions.by_role.values())} in {sessions.seconds:.1f} s"
        + (f"; {len(failed)} failed, e.g. {example}" if failed else "")
    )
    if not sessions.by_role.get("student"):
        raise LoadTestError("no student could log in: is the server seeded with this --password?")
    return sessions


def _meta(
    think_time: float,
    host: str,
    scenario: Plan,
    target: Target,
    started: dt.datetime,
    seconds: float,
    generator_cores: float,
) -> dict[str, Any]:
    return {
        "host": host,
        "scenario": scenario.scenario,
        "stages": [asdict(stage) for stage in scenario.stages],
        "peak_users": scenario.peak_users(),
        "spawn_rate": scenario.spawn_rate,
        "planned_seconds": scenario.duration,
        "seconds": seconds,
        "think_time": think_time,
        "started_at": started.isoformat(timespec="seconds"),
        "generator_cpu_cores": round(generator_cores, 2),
        "cpu_count": os.cpu_count(),
        "locust_version": importlib.metadata.version("locust"),
        "target": asdict(target),
        "workload": DEFAULTS[scenario.scenario].workload,
        "mix": {"student": 80, "teacher": 15, "staff": 5},
    }
