"""The school-day journeys (`mix`, bench/README.md) as locust users, and the competing
LMS's own journeys (`journeys`, the scenario of that name): one set of user classes runs,
chosen by the scenario's workload.

Loaded only by the locust subprocess that `homeroom loadtest` starts (locust patches the
standard library with gevent). Its settings come as JSON in HOMEROOM_LOADTEST_CONFIG. Requests
are named by endpoint template (without the /api/v1 prefix) so statistics group by endpoint.
"""

import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import gevent
import locust.stats
from locust import LoadTestShape, between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.exception import StopUser

CONFIG: dict[str, Any] = json.loads(os.environ.get("HOMEROOM_LOADTEST_CONFIG", "{}"))
JOURNEYS = CONFIG.get("workload") == "journeys"
API = "/api/v1"
PROGRESS_PREFIX = "HOMEROOM-LOADTEST-PROGRESS "
SEARCH_TERMS = ("an", "ar", "be", "ch", "da", "el", "jo", "ma", "mi", "ri", "sa", "th", "S0001")

# p50/p95 "now" (the progress line, the stats history) over 3 s instead of locust's 10 s.
locust.stats.CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW = 3


def _think_time() -> Any:
    seconds = float(CONFIG.get("think_time", 1.0))
    return constant(0) if seconds <= 0 else between(seconds * 0.5, seconds * 1.5)


def _accounts(count: int) -> Iterator[int]:
    """Account numbers 1..count in a random order, then again: users spread over many N."""
    while True:
        numbers = list(range(1, max(count, 1) + 1))
        random.shuffle(numbers)
        yield from numbers


STUDENT_NUMBERS = _accounts(int(CONFIG.get("students", 1)))
TEACHER_NUMBERS = _accounts(int(CONFIG.get("teachers", 1)))


def _sessions() -> dict[str, list[dict[str, Any]]]:
    """The sessions `homeroom loadtest` opened before the run, per role (see sessions.py)."""
    path = CONFIG.get("sessions_path")
    if not path:
        return {}
    with open(path) as fh:
        sessions: dict[str, list[dict[str, Any]]] = json.load(fh)
    return sessions


SESSIONS = _sessions()
REFRESH_MARGIN_SECONDS = 60


class SchoolUser(FastHttpUser):
    abstract = True
    wait_time = _think_time()
    role: str
    session: dict[str, Any]
    headers: dict[str, str]
    me: dict[str, Any]

    def begin(self, email: str, me: bool = True) -> None:
        """Takes a session opened before the run (one user at a time holds it), or logs in;
        reads /auth/me unless told not to (the journeys need nothing from it)."""
        pool = SESSIONS.setdefault(self.role, [])
        self.session = pool.pop() if pool else self.login(email)
        self.use(self.session)
        self.me = (self.get("/auth/me", "/auth/me") or {}) if me else {}

    def on_stop(self) -> None:
        if getattr(self, "session", None):
            SESSIONS[self.role].append(self.session)  # for a user started later

    def use(self, session: dict[str, Any]) -> None:
        token = session["access_token"]
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def login(self, email: str) -> dict[str, Any]:
        body = {"email": email, "password": CONFIG.get("password", "homeroom")}
        with self.client.post(
            f"{API}/auth/login", json=body, name="/auth/login", catch_response=True
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"login as {email}: HTTP {resp.status_code}")
                raise StopUser()
            return self.session_from(resp.json())

    @staticmethod
    def session_from(pair: dict[str, Any]) -> dict[str, Any]:
        return {
            "access_token": pair["access_token"],
            "refresh_token": pair["refresh_token"],
            "expires_at": time.time() + float(pair["expires_in"]),
        }

    def keep_fresh(self) -> None:
        """Rotates the tokens shortly before the access token expires (long soaks)."""
        if time.time() < self.session["expires_at"] - REFRESH_MARGIN_SECONDS:
            return
        body = {"refresh_token": self.session["refresh_token"]}
        resp = self.client.post(f"{API}/auth/refresh", json=body, name="/auth/refresh")
        if resp.status_code == 200:
            self.session.update(self.session_from(resp.json()))
            self.use(self.session)

    def get(self, path: str, name: str, **query: Any) -> Any:
        """GET a JSON document (None when it failed: locust has counted the failure)."""
        self.keep_fresh()
        url = f"{API}{path}" + (f"?{urlencode(query)}" if query else "")
        resp = self.client.get(url, name=name, headers=self.headers)
        return resp.json() if resp.status_code == 200 else None

    def post(self, path: str, name: str, body: Any) -> Any:
        self.keep_fresh()
        resp = self.client.post(f"{API}{path}", name=name, json=body, headers=self.headers)
        return resp.json() if 200 <= (resp.status_code or 0) < 300 else None


class Student(SchoolUser):
    """My dashboard, my grades, my attendance, my sections, a course page."""

    abstract = JOURNEYS
    weight = 80
    role = "student"
    sections: list[dict[str, Any]]

    def on_start(self) -> None:
        self.begin(f"student{next(STUDENT_NUMBERS)}@example.edu")
        page = self.get("/sections", "/sections", limit=50)
        self.sections = page["items"] if page else []

    @property
    def student_id(self) -> Any:
        return self.me.get("student_id")

    @task(2)
    def dashboard(self) -> None:
        self.get("/auth/me", "/auth/me")

    @task(3)
    def grades(self) -> None:
        if not self.student_id:
            return self.dashboard()  # every task makes a request: no busy loop at think time 0
        self.get(f"/students/{self.student_id}/grades", "/students/{id}/grades")

    @task(2)
    def attendance(self) -> None:
        if not self.student_id:
            return self.dashboard()
        self.get(f"/students/{self.student_id}/attendance", "/students/{id}/attendance")

    @task(2)
    def my_sections(self) -> None:
        page = self.get("/sections", "/sections", limit=50)
        if page:
            self.sections = page["items"]

    @task(2)
    def course_page(self) -> None:
        if not self.sections:
            return self.my_sections()
        section = random.choice(self.sections)
        self.get(f"/courses/{section['course_id']}", "/courses/{id}")


class Teacher(SchoolUser):
    """Section roster, gradebook, bulk attendance, bulk grade entry, a student's page."""

    abstract = JOURNEYS
    weight = 15
    role = "teacher"
    sections: list[dict[str, Any]]
    rosters: dict[int, list[dict[str, Any]]]
    assessments: dict[int, list[dict[str, Any]]]

    def on_start(self) -> None:
        self.begin(f"teacher{next(TEACHER_NUMBERS)}@example.edu")
        self.rosters, self.assessments = {}, {}
        page = self.get("/sections", "/sections", limit=100)
        self.sections = page["items"] if page else []

    def section_id(self) -> int | None:
        return int(random.choice(self.sections)["id"]) if self.sections else None

    def roster(self, section_id: int) -> list[dict[str, Any]]:
        page = self.get(
            f"/sections/{section_id}/roster", "/sections/{id}/roster", status="enrolled", limit=200
        )
        if page:
            self.rosters[section_id] = page["items"]
        return self.rosters.get(section_id, [])

    @task(2)
    def my_sections(self) -> None:
        page = self.get("/sections", "/sections", limit=100)
        if page:
            self.sections = page["items"]

    @task(3)
    def section_roster(self) -> None:
        if (section_id := self.section_id()) is None:
            return self.my_sections()  # every task makes a request: no busy loop at think time 0
        self.roster(section_id)

    @task(3)
    def gradebook(self) -> None:
        if (section_id := self.section_id()) is None:
            return self.my_sections()
        self.get("/grades", "/grades?section_id=", section_id=section_id, limit=200)

    @task(1)
    def take_attendance(self) -> None:
        section_id = self.section_id()
        if section_id is None:
            return self.my_sections()
        students = self.rosters.get(section_id) or self.roster(section_id)
        if not students:
            return None
        statuses = ("present",) * 17 + ("absent", "late", "excused")
        records = [{"student_id": s["id"], "status": random.choice(statuses)} for s in students]
        body = {"section_id": section_id, "date": dt.date.today().isoformat(), "records": records}
        self.post("/attendance/bulk", "/attendance/bulk", body)

    @task(1)
    def enter_grades(self) -> None:
        section_id = self.section_id()
        if section_id is None:
            return self.my_sections()
        if section_id not in self.assessments:
            page = self.get("/assessments", "/assessments?section_id=", section_id=section_id)
            self.assessments[section_id] = page["items"] if page else []
        students = self.rosters.get(section_id) or self.roster(section_id)
        if not self.assessments[section_id] or not students:
            return None
        assessment = random.choice(self.assessments[section_id])
        top = float(assessment["max_points"])
        grades = [
            {"student_id": s["id"], "score": round(random.uniform(top * 0.5, top), 1)}
            for s in students
        ]
        self.post(
            "/grades/bulk", "/grades/bulk", {"assessment_id": assessment["id"], "grades": grades}
        )

    @task(2)
    def student_page(self) -> None:
        rosters = [students for students in self.rosters.values() if students]
        if not rosters:
            return self.section_roster()
        student = random.choice(random.choice(rosters))
        self.get(f"/students/{student['id']}", "/students/{id}")


class Staff(SchoolUser):
    """Student search and paging, a student's record, the dashboard and a CSV export where the
    server has them (else the audit log)."""

    abstract = JOURNEYS
    weight = 5
    role = "staff"
    seen: list[int]

    def on_start(self) -> None:
        self.begin(random.choice(CONFIG.get("staff_logins") or ["admin@example.edu"]))
        self.seen = []

    def remember(self, page: Any) -> None:
        if page:
            self.seen = [int(s["id"]) for s in page["items"]][:50] or self.seen

    @task(3)
    def search(self) -> None:
        self.remember(self.get("/students", "/students?q=", q=random.choice(SEARCH_TERMS)))

    @task(2)
    def browse(self) -> None:
        page = self.get("/students", "/students", limit=50)
        self.remember(page)
        for _ in range(3):
            if not page or not page.get("next_cursor"):
                break
            page = self.get("/students", "/students?cursor=", limit=50, cursor=page["next_cursor"])

    @task(3)
    def student_record(self) -> None:
        if not self.seen:
            return self.search()
        self.get(f"/students/{random.choice(self.seen)}", "/students/{id}")

    @task(1)
    def overview(self) -> None:
        if CONFIG.get("dashboard"):
            self.get(CONFIG["dashboard"], CONFIG["dashboard"])
        else:
            self.get("/audit-logs", "/audit-logs", limit=50)

    @task(1)
    def export(self) -> None:
        if CONFIG.get("export"):
            self.client.get(f"{API}{CONFIG['export']}", name=CONFIG["export"], headers=self.headers)
        else:
            self.get("/audit-logs", "/audit-logs", limit=50)


# --- the competing LMS's journeys (scenario `journeys`) -------------------------------------------


class JourneyStudent(SchoolUser):
    """Their dashboard (`/analytics/me`) and their courses (`/sections`: the sections they are
    enrolled in, each with its course and teacher)."""

    abstract = not JOURNEYS
    weight = 80
    role = "student"

    def on_start(self) -> None:
        self.begin(f"student{next(STUDENT_NUMBERS)}@example.edu", me=False)

    @task
    def dashboard(self) -> None:
        self.get("/analytics/me", "/analytics/me")

    @task
    def my_courses(self) -> None:
        self.get("/sections", "/sections", limit=50)


class JourneyTeacher(SchoolUser):
    """Their course list: their sections of the current term."""

    abstract = not JOURNEYS
    weight = 15
    role = "teacher"

    def on_start(self) -> None:
        self.begin(f"teacher{next(TEACHER_NUMBERS)}@example.edu", me=False)

    @task
    def course_list(self) -> None:
        term = CONFIG.get("term_id")
        if term is None:
            self.get("/sections", "/sections", limit=50)
        else:
            self.get("/sections", "/sections?term_id=", term_id=term, limit=50)


class JourneyAdmin(SchoolUser):
    """The user list, first page (with its total)."""

    abstract = not JOURNEYS
    weight = 5
    role = "staff"  # the school's admin and registrar logins

    def on_start(self) -> None:
        self.begin(random.choice(CONFIG.get("staff_logins") or ["admin@example.edu"]), me=False)

    @task
    def user_list(self) -> None:
        self.get("/users", "/users", limit=50)


class Scenario(LoadTestShape):
    """The stages `homeroom loadtest` planned: (until seconds, users, spawn rate)."""

    stages = [tuple(stage) for stage in CONFIG.get("stages", [[60, 10, 10]])]

    def tick(self) -> tuple[int, float] | None:
        elapsed: float = self.get_run_time()  # type: ignore[no-untyped-call]
        for until, users, rate in self.stages:
            if elapsed < until:
                return int(users), float(rate)
        return None


_run: dict[str, float] = {}


def _report_progress(environment: Environment) -> None:
    interval = float(CONFIG.get("progress_interval", 1.0))
    while True:
        gevent.sleep(interval)
        total = environment.stats.total
        line = {
            "elapsed": round(time.time() - _run["started"], 1),
            "users": environment.runner.user_count if environment.runner else 0,
            "rps": round(total.current_rps, 1),
            "p95_ms": total.get_current_response_time_percentile(0.95),
            "requests": total.num_requests,
            "failures": total.num_failures,
        }
        sys.stdout.write(PROGRESS_PREFIX + json.dumps(line) + "\n")
        sys.stdout.flush()


@events.test_start.add_listener
def _started(environment: Environment, **_: Any) -> None:
    _run["started"] = time.time()
    if CONFIG.get("progress", True):
        gevent.spawn(_report_progress, environment)


@events.test_stop.add_listener
@events.quitting.add_listener
def _stopped(environment: Environment, **_: Any) -> None:
    """Exact per-endpoint histograms for the report (the CSVs only carry fixed percentiles)."""
    if not CONFIG.get("stats_path"):
        return
    stats = environment.stats
    dump = {
        "started": _run.get("started", stats.total.start_time),
        "stopped": time.time(),
        "entries": [entry.serialize() for entry in stats.entries.values()],
        "errors": list(stats.serialize_errors().values()),
    }
    with open(CONFIG["stats_path"], "w") as fh:
        json.dump(dump, fh)
