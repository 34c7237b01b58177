"""`mix` and `journeys` benchmarks: a request mix on the `district` dataset, beside `ceiling`.

One command, one run, per backend (SQLite and/or PostgreSQL):

    .venv/bin/python bench/mix.py [--workload mix|journeys] [--backend sqlite|postgresql|both]
                                  [--duration S] [--connections C] [--record]

`--workload mix` (the default) is the school day below; `--workload journeys` the competing
LMS's own journeys (bench/README.md): 80% students (their dashboard `GET
/analytics/me`, their courses `GET /sections`), 15% teachers (their sections of the current
term), 5% admins (the first page of `GET /users`), with the same logins, wrk script, report
and ceiling, and its own targets (>= 3,400 req/s, p99 <= 70 ms, 0 errors).

1. reuses (or builds) the `district` dataset exactly as bench/reads.py does;
2. starts Homeroom (`homeroom serve --workers 2`) and the `ceiling` app (bench/raw_app.py)
   on 127.0.0.1 with the same worker count;
3. logs in once per virtual user (students, teachers and the school's staff; at most ~300
   logins, a few in parallel: argon2 costs ~100 ms each) and gathers each user's ids BEFORE
   the measured run: a student's own id, sections and a course; a teacher's section of the
   current term, its roster, one of its assessments; real keyset cursors, search terms and
   student ids for staff. Every request of every user is then sent once (pre-flight): it must
   answer 2xx, and the writes create today's attendance session and the assessment's grades
   so that the measured run only updates them;
4. writes one wrk Lua script (bench/out/wrk-mix.lua) whose tables hold every user's prebuilt
   requests: each wrk request picks a role (80% students, 15% teachers, 5% staff), a user of
   that role and one of the role's request types at random; a `response()` hook counts the
   non-2xx answers by status and keeps a few bodies;
5. runs ceiling then mix (2 s warm-up, then --duration s each; wrk t1 c64), and prints per
   request type counts, req/s, p50/p99, errors, the CPU of wrk, of the server and of the rest
   of the machine, then LAST the ratio mix/ceiling per backend with the targets
   (mix >= 10% of ceiling, p99 < 50 ms, 0 errors). --record appends to bench/RESULTS.md.

`--breakdown` adds one short wrk run per request type alone (same users, same connections),
to see which types are the expensive ones.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import reads
from homeroom.cli import DEFAULT_SERVER, SERVERS
from homeroom.seed.plan import DOMAIN, Logins
from reads import (
    OUT,
    RESULTS,
    ROOT,
    SEED_PASSWORD,
    Server,
    free_port,
    http_json,
    log,
    machine,
    machine_busy_seconds,
)

API = "/api/v1"
WITHOUT = ""  # request types left out by --without (a diagnostic run, not the benchmark)
USERS: dict[str, int] = {}  # virtual users per role, as gathered
UNLOADED: dict[str, dict[str, list[float]]] = {}  # backend -> request type -> ms


# --- virtual users -----------------------------------------------------------------------------


@dataclass
class Request:
    kind: str  # request type, one of TYPES[role]
    method: str
    path: str
    body: str | None = None  # JSON text


@dataclass
class User:
    role: str  # one of the workload's roles: student, teacher, staff (mix) or admin (journeys)
    email: str
    token: str = ""
    requests: list[Request] = field(default_factory=list)


@dataclass
class Workload:
    """A request mix: its roles with their share of the wrk requests (percent), each role's
    request types in the order of the report, how each role's virtual users are made (each
    logged in once and holding one prebuilt request of each type), and its targets."""

    name: str
    shares: tuple[tuple[str, int], ...]
    types: dict[str, list[str]]
    # (base, e-mail, current term, today) -> a student / a teacher, or None to skip that one
    student: Callable[[str, str, int, date], User | None]
    teacher: Callable[[str, str, int, date], User | None]
    # (base, the school's staff logins, random) -> the third role's users
    staff: Callable[[str, list[str], random.Random], list[User]]
    # (the workload's run, ceiling's run) -> (checks as text, all met)
    targets: Callable[[Result, Result], tuple[list[str], bool]]


def _get(base: str, path: str, token: str) -> Any:
    status, body = http_json("GET", base + path, token)
    if status != 200:
        raise RuntimeError(f"GET {path} -> {status}: {body}")
    return body


def _login(base: str, email: str) -> str:
    status, body = http_json(
        "POST", base + API + "/auth/login", body={"email": email, "password": SEED_PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"login as {email} failed ({status}): {body}")
    token: str = body["access_token"]
    return token


def current_term(base: str, token: str, today: date) -> int:
    terms = _get(base, API + "/terms?limit=100", token)["items"]
    if not terms:
        sys.exit("the dataset has no terms")
    for term in terms:
        if term["start_date"] <= today.isoformat() <= term["end_date"]:
            return int(term["id"])
    # No term holds today: the latest one that started.
    return int(max(terms, key=lambda t: t["start_date"])["id"])


def student_user(base: str, email: str, term_id: int, today: date) -> User | None:
    """None when the student has no section."""
    user = User("student", email, _login(base, email))
    sid = _get(base, API + "/auth/me", user.token)["student_id"]
    sections = _get(base, API + "/sections?limit=100", user.token)["items"]
    if sid is None or not sections:
        return None
    now = [s for s in sections if s["term_id"] == term_id] or sections
    course = random.Random(sid).choice(now)["course_id"]
    user.requests = [
        Request("me", "GET", API + "/auth/me"),
        Request("my grades", "GET", f"{API}/students/{sid}/grades"),
        Request("my attendance", "GET", f"{API}/students/{sid}/attendance"),
        Request("my sections", "GET", API + "/sections?limit=50"),
        Request("a course", "GET", f"{API}/courses/{course}"),
    ]
    return user


def teacher_user(base: str, email: str, term_id: int, today: date) -> User | None:
    """None when the teacher has no section with students and assessments this term."""
    user = User("teacher", email, _login(base, email))
    tid = _get(base, API + "/auth/me", user.token)["teacher_id"]
    sections = _get(base, f"{API}/sections?teacher_id={tid}&limit=100", user.token)["items"]
    sections = sorted(
        (s for s in sections if s["term_id"] == term_id and s["enrolled_count"] > 0),
        key=lambda s: -s["enrolled_count"],
    )
    rnd = random.Random(tid)
    for section in sections:
        sec = section["id"]
        roster = _get(base, f"{API}/sections/{sec}/roster?limit=1000", user.token)["items"]
        ids = [r["id"] for r in roster if r["status"] == "enrolled"]
        assessments = _get(base, f"{API}/assessments?section_id={sec}&limit=100", user.token)[
            "items"
        ]
        if not ids or not assessments:
            continue
        assessment = rnd.choice(assessments)
        attendance = {
            "section_id": sec,
            "date": today.isoformat(),
            "records": [
                {"student_id": i, "status": rnd.choice(("present",) * 8 + ("absent", "late"))}
                for i in ids
            ],
        }
        top = float(assessment["max_points"])
        grades = {
            "assessment_id": assessment["id"],
            "grades": [{"student_id": i, "score": round(rnd.uniform(0, top), 1)} for i in ids],
        }
        user.requests = [
            Request("roster", "GET", f"{API}/sections/{sec}/roster?limit=100"),
            Request("gradebook", "GET", f"{API}/grades?section_id={sec}&limit=100"),
            Request("attendance bulk", "POST", API + "/attendance/bulk", json.dumps(attendance)),
            Request("grades bulk", "POST", API + "/grades/bulk", json.dumps(grades)),
            Request("a student", "GET", f"{API}/students/{rnd.choice(ids)}"),
        ]
        return user
    return None


def _openapi_extras(base: str) -> list[Request]:
    """The dashboard and a CSV export of a filtered student list, when Homeroom has them."""
    status, spec = http_json("GET", base + "/openapi.json")
    if status != 200:
        return []
    extras = []
    for path, ops in spec.get("paths", {}).items():
        get = ops.get("get")
        if get is None or "{" in path:
            continue
        params = {p["name"]: p for p in get.get("parameters", []) if p.get("in") == "query"}
        if "dashboard" in path:
            extras.append(Request("dashboard", "GET", path))
        elif "export" in path and "student" in path and path.endswith("/csv"):
            query = []
            if "format" in params:
                query.append("format=csv")
            if "grade_level" in params:
                query.append("grade_level=10")
            if "status" in params:
                query.append("status=active")
            extras.append(Request("csv export", "GET", path + ("?" + "&".join(query))))
    return extras


def http_status(method: str, url: str, token: str, body: str | None = None) -> tuple[int, str]:
    """The status of a request whose answer need not be JSON (a CSV export), and its body's
    start as text (for the log); the whole answer is read."""
    data = None if body is None else body.encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            text = response.read()
            return response.status, text[:300].decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def staff_users(base: str, emails: list[str], rnd: random.Random) -> list[User]:
    users = [User("staff", e, _login(base, e)) for e in emails]
    token = users[0].token
    names: list[str] = []
    ids: list[int] = []
    cursors: list[str] = []
    cursor: str | None = None
    for _ in range(6):  # a few 1000-row pages: ids, last names and real cursors along the list
        page = _get(
            base, API + "/students?limit=1000" + (f"&cursor={cursor}" if cursor else ""), token
        )
        names += [s["last_name"] for s in page["items"]]
        ids += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    extras = []
    for extra in _openapi_extras(base):  # optional: kept only when it answers 2xx as documented
        status, answer = http_status("GET", base + extra.path, token)
        if 200 <= status < 300:
            extras.append(extra)
        else:
            log(f"  {extra.kind} {extra.path} -> {status}, left out of the mix: {answer}"[:300])
    if extras:
        WORKLOAD.types["staff"] = WORKLOAD.types["staff"][:3] + [r.kind for r in extras]
    for user in users:
        for _ in range(4):
            term = quote(rnd.choice(names)[:4].lower())
            user.requests.append(Request("search", "GET", f"{API}/students?q={term}&limit=20"))
            page = rnd.choice(cursors) if cursors else None
            user.requests.append(
                Request(
                    "cursor page",
                    "GET",
                    f"{API}/students?limit=50" + (f"&cursor={page}" if page else ""),
                )
            )
            user.requests.append(
                Request("student detail", "GET", f"{API}/students/{rnd.choice(ids)}")
            )
        user.requests += extras
    return users


def virtual_users(base: str, args: argparse.Namespace, today: date) -> list[User]:
    """Log in every virtual user once and gather its ids, a few logins at a time."""
    rnd = random.Random(args.seed)
    logins = Logins()
    admin_token = _login(base, logins.admin)
    term_id = current_term(base, admin_token, today)
    # Seeded logins: student1..N and teacher1..M @DOMAIN (see homeroom.seed.plan).
    student_numbers = rnd.sample(range(1, args.students + 1), args.student_users)
    teacher_total = int(
        _get(base, API + "/teachers?limit=1", admin_token)["total"]  # all of the school's
    )
    teacher_numbers = rnd.sample(
        range(1, teacher_total + 1), min(teacher_total, args.teacher_users)
    )
    started = time.monotonic()
    work = WORKLOAD
    with ThreadPoolExecutor(max_workers=args.login_parallel) as pool:
        students = [
            s
            for s in pool.map(
                lambda n: work.student(base, f"student{n}@{DOMAIN}", term_id, today),
                student_numbers,
            )
            if s is not None
        ]
        teachers = [
            t
            for t in pool.map(
                lambda n: work.teacher(base, f"teacher{n}@{DOMAIN}", term_id, today),
                teacher_numbers,
            )
            if t is not None
        ]
    staff = work.staff(base, [logins.admin, logins.registrar], rnd)
    third = work.shares[2][0]
    log(
        f"  virtual users: {len(students)} students, {len(teachers)} teachers, {len(staff)} "
        f"{third} (term {term_id}), logged in and gathered in "
        f"{time.monotonic() - started:.0f} s"
    )
    if not students or not teachers:
        sys.exit(f"no {'student' if not students else 'teacher'} could join the workload")
    USERS.update({"student": len(students), "teacher": len(teachers), third: len(staff)})
    users = students + teachers + staff
    if args.without:
        dropped = {w.strip() for w in args.without.split(",")}
        for user in users:
            user.requests = [r for r in user.requests if f"{user.role}: {r.kind}" not in dropped]
        users = [u for u in users if u.requests]
        log(f"  left out of the mix (--without): {', '.join(sorted(dropped))}")
    return users


# --- the journeys of the competing LMS ----------------------------------------------------------


def journeys_student(base: str, email: str, term_id: int, today: date) -> User | None:
    """Their dashboard and their courses. Homeroom's "my courses" is `GET /sections`: for a
    student it lists the sections they are enrolled in, each with its course's code and title
    and the teacher (a section is the class a student takes; `GET /courses` is the school's
    whole catalog, and `GET /enrollments` has no course names). The district's students are
    enrolled in the current term only, so no term filter is needed."""
    user = User("student", email, _login(base, email))
    if _get(base, API + "/auth/me", user.token)["student_id"] is None:
        return None
    user.requests = [
        Request("dashboard", "GET", API + "/analytics/me"),
        Request("my courses", "GET", API + "/sections?limit=50"),
    ]
    return user


def journeys_teacher(base: str, email: str, term_id: int, today: date) -> User | None:
    """Their course list: their sections of the current term (a teacher sees only their own
    sections; the term filter leaves out other terms). None when they teach none this term."""
    user = User("teacher", email, _login(base, email))
    path = f"{API}/sections?term_id={term_id}&limit=50"
    if not _get(base, path, user.token)["items"]:
        return None
    user.requests = [Request("course list", "GET", path)]
    return user


def journeys_admins(base: str, emails: list[str], rnd: random.Random) -> list[User]:
    """The user list, first page (its total counts every login of the school)."""
    users = [User("admin", email, _login(base, email)) for email in emails]
    for user in users:
        user.requests = [Request("user list", "GET", API + "/users?limit=50")]
    return users


JOURNEYS_RPS = 3400
JOURNEYS_P99_MS = 70.0
MIX_RATIO = 0.10
MIX_P99_MS = 50.0


def mix_targets(mix: Result, ceiling: Result) -> tuple[list[str], bool]:
    ratio = mix.rps / ceiling.rps
    checks = [
        f"mix/ceiling {ratio:.3f} ({'ok' if ratio >= MIX_RATIO else 'BELOW 0.10'})",
        f"p99 {mix.p99_ms:.1f} ms ({'ok' if mix.p99_ms < MIX_P99_MS else 'NOT < 50 ms'})",
        f"errors {mix.errors} ({'ok' if mix.errors == 0 else 'NOT 0'})",
    ]
    return checks, ratio >= MIX_RATIO and mix.p99_ms < MIX_P99_MS and mix.errors == 0


def journeys_targets(run: Result, ceiling: Result) -> tuple[list[str], bool]:
    fast = run.rps >= JOURNEYS_RPS
    short = run.p99_ms <= JOURNEYS_P99_MS
    checks = [
        f"journeys {run.rps:,.0f} req/s ({'ok' if fast else f'BELOW {JOURNEYS_RPS:,}'})",
        f"p99 {run.p99_ms:.1f} ms ({'ok' if short else 'NOT <= 70 ms'})",
        f"errors {run.errors} ({'ok' if run.errors == 0 else 'NOT 0'})",
        f"journeys/ceiling {run.rps / ceiling.rps:.3f}",
    ]
    return checks, fast and short and run.errors == 0


def workloads() -> dict[str, Workload]:
    """Fresh definitions (the mix's staff types grow with what the server offers)."""
    return {
        "mix": Workload(
            "mix",
            (("student", 80), ("teacher", 15), ("staff", 5)),
            {
                "student": ["me", "my grades", "my attendance", "my sections", "a course"],
                "teacher": ["roster", "gradebook", "attendance bulk", "grades bulk", "a student"],
                # + dashboard and export when the server has them
                "staff": ["search", "cursor page", "student detail"],
            },
            student_user,
            teacher_user,
            staff_users,
            mix_targets,
        ),
        "journeys": Workload(
            "journeys",
            (("student", 80), ("teacher", 15), ("admin", 5)),
            {
                "student": ["dashboard", "my courses"],
                "teacher": ["course list"],
                "admin": ["user list"],
            },
            journeys_student,
            journeys_teacher,
            journeys_admins,
            journeys_targets,
        ),
    }


WORKLOAD = workloads()["mix"]  # the one this run measures (--workload)


def preflight(base: str, users: list[User], backend: str) -> None:
    """Every request of every user, sequentially, twice: each must answer 2xx. The first pass's
    writes create today's attendance sessions and the assessments' grades, so the measured run
    (and the second pass) only update them. The second pass is timed: each request type's
    latency with nothing else running (kept in UNLOADED for the report)."""
    started = time.monotonic()
    timings: dict[str, list[float]] = {}
    for n in range(2):
        failures = []
        for user in users:
            for r in user.requests:
                t0 = time.perf_counter()
                status, answer = http_status(r.method, base + r.path, user.token, r.body)
                elapsed = (time.perf_counter() - t0) * 1000
                if not 200 <= status < 300:
                    failures.append(f"{user.email} {r.method} {r.path} -> {status}: {answer}"[:400])
                elif n == 1:
                    timings.setdefault(f"{user.role}: {r.kind}", []).append(elapsed)
        if failures:
            sys.exit("pre-flight failed:\n  " + "\n  ".join(failures[:20]))
    UNLOADED[backend] = timings
    count = sum(len(u.requests) for u in users)
    log(f"  pre-flight: {count} requests x 2, all 2xx, in {time.monotonic() - started:.0f} s")


def unloaded_table() -> list[str]:
    """Each request type's latency one request at a time (the pre-flight's second pass)."""
    if not UNLOADED:
        return []
    backends = list(UNLOADED)
    lines = [
        "unloaded latency, one request at a time (pre-flight, second pass), ms:",
        "| request type | " + " | ".join(f"{b} median | {b} max" for b in backends) + " |",
        "|---|" + "---:|---:|" * len(backends),
    ]
    for role, kind in type_list():
        name = f"{role}: {kind}"
        cells = []
        for b in backends:
            got = sorted(UNLOADED[b].get(name, []))
            cells += [f"{got[len(got) // 2]:.1f}", f"{got[-1]:.1f}"] if got else ["-", "-"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


# --- wrk ---------------------------------------------------------------------------------------


def _lua_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


LUA = """-- generated by bench/mix.py: the `%(workload)s` workload, a random request per wrk request
local type_names = {%(type_names)s}
-- users[role][u] = {auth, {{type, method, path, body}, ...}}
local users = {
%(users)s
}
local shares = {%(shares)s}  -- cumulative percent per role
local only = %(only)s  -- a single request type (breakdown runs), or nil
local prebuilt = {}  -- prebuilt[role][u][k] = {type, raw request}

counts = {}   -- requests sent per type (read by done() through thread:get)
%(results)s
init = function(args)
  math.randomseed(%(seed)d + (id or 0))
  for role = 1, #users do
    prebuilt[role] = {}
    for u = 1, #users[role] do
      local auth, reqs = users[role][u][1], users[role][u][2]
      local list = {}
      for k = 1, #reqs do
        local r = reqs[k]
        if only == nil or r[1] == only then
          local headers = {["Authorization"] = auth}
          if r[4] then headers["Content-Type"] = "application/json" end
          list[#list + 1] = {r[1], wrk.format(r[2], r[3], headers, r[4])}
        end
      end
      if #list > 0 then prebuilt[role][#prebuilt[role] + 1] = list end
    end
  end
  for t = 1, #type_names do counts[t] = 0 end
end

request = function()
  local role = 1
  if only == nil then
    local p = math.random(100)
    while p > shares[role] do role = role + 1 end
  else
    while #prebuilt[role] == 0 do role = role + 1 end
  end
  local user = prebuilt[role][math.random(#prebuilt[role])]
  local pick = user[math.random(#user)]
  counts[pick[1]] = counts[pick[1]] + 1
  return pick[2]
end

done = function(summary, latency, requests)
  report(summary, latency)
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts") or {}
    for t, n in pairs(c) do total[t] = (total[t] or 0) + n end
  end
  local parts = {}
  for t = 1, #type_names do parts[#parts + 1] = string.format("%%.0f", total[t] or 0) end
  io.write("BENCH_TYPES [" .. table.concat(parts, ",") .. "]\\n")
end
"""

CEILING_LUA = f"""-- generated by bench/mix.py
wrk.method = "GET"
{reads.LUA_RESULTS}
done = function(summary, latency, requests)
  report(summary, latency)
end
"""


def type_list() -> list[tuple[str, str]]:
    return [(role, kind) for role, _ in WORKLOAD.shares for kind in WORKLOAD.types[role]]


def write_mix_lua(users: list[User], seed: int, only: int | None = None) -> Path:
    types = type_list()
    index = {t: i + 1 for i, t in enumerate(types)}
    roles = []
    for role, _ in WORKLOAD.shares:
        entries = []
        for user in (u for u in users if u.role == role):
            reqs = ", ".join(
                f"{{{index[role, r.kind]}, {_lua_str(r.method)}, {_lua_str(r.path)}, "
                f"{'nil' if r.body is None else _lua_str(r.body)}}}"
                for r in user.requests
            )
            entries.append(f"    {{{_lua_str('Bearer ' + user.token)}, {{{reqs}}}}}")
        roles.append("  {\n" + ",\n".join(entries) + "\n  }")
    # A role left with no requests (--without) gets no share; the others keep their
    # proportions (the Lua draws 1..100).
    present = {u.role for u in users if u.requests}
    kept = {role: share for role, share in WORKLOAD.shares if role in present}
    total = sum(kept.values()) or 1
    cumulative, acc = [], 0.0
    for role, _ in WORKLOAD.shares:
        acc += kept.get(role, 0) * 100 / total
        cumulative.append(f"{acc:.6f}")
    cumulative[-1] = "100"
    name = WORKLOAD.name
    script = OUT / (f"wrk-{name}.lua" if only is None else f"wrk-{name}-type{only}.lua")
    script.write_text(
        LUA
        % {
            "workload": name,
            "results": reads.LUA_RESULTS,
            "type_names": ", ".join(_lua_str(f"{r} {k}") for r, k in types),
            "users": ",\n".join(roles),
            "shares": ", ".join(cumulative),
            "only": "nil" if only is None else str(only),
            "seed": seed,
        },
        encoding="utf-8",
    )
    return script


def run_wrk(
    base: str, script: Path, seconds: float, connections: int, threads: int
) -> dict[str, Any]:
    return reads.parse_wrk(reads.wrk_output(base, script, seconds, connections, threads))


@dataclass
class Result:
    backend: str
    target: str
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    wrk_cpu: float  # share of one core
    server_cpu: float  # cores
    other_cpu: float  # cores
    types: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)  # wrk's socket errors and timeouts
    # per "METHOD route", measured by the server: (requests, mean ms, p99 bucket ms)
    routes: dict[str, tuple[int, float, float]] = field(default_factory=dict)


def route_histograms(base: str) -> dict[str, dict[str, float]]:
    """Homeroom's own request-duration histograms (/metrics), per "METHOD route": count, sum
    and cumulative bucket counts by upper bound. Empty for a server without them (ceiling)."""
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:  # noqa: S310
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    out: dict[str, dict[str, float]] = {}
    name = "homeroom_http_request_duration_seconds"
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        head, _, labels = metric.partition("{")
        fields = dict(part.split("=", 1) for part in labels.rstrip("}").split(",") if "=" in part)
        fields = {k: v.strip('"') for k, v in fields.items()}
        key = f"{fields.get('method', '?')} {fields.get('route', '?')}"
        entry = out.setdefault(key, {})
        if head.endswith("_bucket"):
            entry[fields["le"]] = entry.get(fields["le"], 0.0) + float(value)
        elif head.endswith("_sum"):
            entry["sum"] = entry.get("sum", 0.0) + float(value)
        elif head.endswith("_count"):
            entry["count"] = entry.get("count", 0.0) + float(value)
    return out


def route_table(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, tuple[int, float, float]]:
    """Per route during a run: (requests, mean ms, p99 ms as the histogram bucket that holds
    it), measured by the server from its first byte in to its last byte out."""
    table = {}
    for key, now in after.items():
        was = before.get(key, {})
        count = now.get("count", 0.0) - was.get("count", 0.0)
        if count <= 0:
            continue
        mean = (now.get("sum", 0.0) - was.get("sum", 0.0)) / count * 1000
        bounds = sorted(
            (float(le), now[le] - was.get(le, 0.0)) for le in now if le not in ("sum", "count")
        )
        p99 = next((le for le, n in bounds if n >= 0.99 * count), float("inf")) * 1000
        table[key] = (int(count), mean, p99)
    return table


def measure(
    backend: str, target: str, server: Server, script: Path, args: argparse.Namespace
) -> Result:
    log(f"  {backend:10} {target:24} warm-up {args.warmup:g} s, run {args.duration:g} s")
    run_wrk(server.base, script, args.warmup, args.connections, args.threads)
    histograms = route_histograms(server.base)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_server = server.cpu_seconds()
    before_busy = machine_busy_seconds()
    started = time.monotonic()
    out = run_wrk(server.base, script, args.duration, args.connections, args.threads)
    wall = time.monotonic() - started
    busy = (machine_busy_seconds() - before_busy) / wall
    server_cpu = (server.cpu_seconds() - before_server) / wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (
        after.ru_utime - before_children.ru_utime + after.ru_stime - before_children.ru_stime
    ) / wall
    seconds = out["duration_us"] / 1e6
    errors = reads.error_count(out)
    routes = route_table(histograms, route_histograms(server.base)) if histograms else {}
    result = Result(
        backend,
        target,
        rps=out["requests"] / seconds,
        p50_ms=out["p50_us"] / 1000,
        p99_ms=out["p99_us"] / 1000,
        max_ms=out["max_us"] / 1000,
        requests=int(out["requests"]),
        errors=int(errors),
        wrk_cpu=wrk_cpu,
        server_cpu=server_cpu,
        other_cpu=max(0.0, busy - server_cpu - wrk_cpu),
        types=[int(n) for n in out["types"]],
        statuses={str(k): int(v) for k, v in out["statuses"].items()},
        samples=out["samples"],
        kinds={k: int(out[k]) for k in reads.ERROR_KINDS},
        routes=routes,
    )
    log(
        f"  {'':10} {'':24} -> {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, errors {result.errors}"
    )
    if errors:
        log(f"  {'':10} {'':24}    errors: {reads.describe_errors(out)}")
    return result


# --- profile ------------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    tree = reads._children()
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(tree.get(p, []))
    return pids


def _frame_name(frame: str) -> str:
    """'fn (path/to/module.py)' -> 'module.fn' with the path shortened to its package part."""
    fn, _, where = frame.partition(" (")
    where = where.rstrip(")").split(":", 1)[0]
    for marker in ("site-packages/", "/src/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{where.removesuffix('.py').replace('/', '.')}:{fn}"


GROUPS = (  # (label, substring of a frame) checked from the leaf up: the first match wins
    ("sqlite3 (driver, C)", "sqlite3"),
    ("asyncpg", "asyncpg"),
    ("aiosqlite (write path thread)", "aiosqlite"),
    ("SQLAlchemy ORM/Core", "sqlalchemy"),
    ("pydantic", "pydantic"),
    ("orjson/json", "json"),
    ("JWT/auth", "homeroom.kit.auth"),
    ("homeroom.kit (other)", "homeroom.kit"),
    ("homeroom domains", "homeroom."),
    ("FastAPI", "fastapi"),
    ("Starlette", "starlette"),
    ("uvicorn/httptools", "uvicorn"),
    ("asyncio/uvloop", "asyncio"),
)


def summarize_profile(raw: Path, top: int = 15) -> list[str]:
    """Where the busy samples go: by group (the deepest frame that matches), the heaviest
    leaf functions, and the heaviest homeroom functions including their callees."""
    leaf: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    groups: dict[str, int] = {}
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
        for name in set(frames):
            if name.startswith("homeroom."):
                inclusive[name] = inclusive.get(name, 0) + count
        label = "other"
        for frame in reversed(frames):
            hit = next((g for g, key in GROUPS if key in frame), None)
            if hit:
                label = hit
                break
        groups[label] = groups.get(label, 0) + count
    if not total:
        return ["(no samples)"]

    def rank(d: dict[str, int]) -> list[str]:
        ordered = sorted(d.items(), key=lambda kv: -kv[1])[:top]
        return [f"  {n / total:6.1%}  {name}" for name, n in ordered]

    return [
        f"samples: {total} (py-spy, all worker processes; idle excluded, except that with "
        "--profile-native threads sleeping in C, e.g. SQLite's busy handler, count as busy)",
        "by group (deepest matching frame):",
        *rank(groups),
        "heaviest leaf functions (self time):",
        *rank(leaf),
        "heaviest homeroom functions (including callees):",
        *rank(inclusive),
    ]


def sample_pg_activity(url: str, seconds: float, every: float = 0.02) -> list[str]:
    """What the database's backends are running: pg_stat_activity every `every` seconds
    (a poor man's pg_stat_statements: the share of samples per statement ~ its share of
    the database's time)."""
    import asyncio

    import asyncpg

    async def run() -> list[str]:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        name = dsn.rsplit("/", 1)[1].split("?", 1)[0]
        conn = await asyncpg.connect(dsn)
        seen: list[str] = []
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                rows = await conn.fetch(
                    "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'",
                    name,
                )
                seen.append("")  # one tick
                for row in rows:
                    wait = f"{row['wait_event_type']}:{row['wait_event']}"
                    query = " ".join((row["query"] or "").split())[:160]
                    seen.append(f"{row['state']} | {wait} | {query}")
                await asyncio.sleep(every)
        finally:
            await conn.close()
        return seen

    return asyncio.run(run())


def summarize_pg(samples: list[str], top: int = 15) -> list[str]:
    ticks = samples.count("")
    counts: dict[str, int] = {}
    for s in samples:
        if s:
            counts[s] = counts.get(s, 0) + 1
    busy = sum(counts.values())
    lines = [
        f"pg_stat_activity: {ticks} samples, {busy / max(ticks, 1):.1f} backends active on "
        "average; heaviest (state | wait event | statement), share of active samples:"
    ]
    for text, n in sorted(counts.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {n / max(busy, 1):6.1%}  {text}")
    return lines


def profile(backend: str, server: Server, script: Path, args: argparse.Namespace) -> None:
    """py-spy on the server's workers during an extra mix run (not a measured one)."""
    spy = reads.BIN / "py-spy"
    if not spy.exists():
        log("  profile: py-spy is not in the venv; skipped")
        return
    raw = OUT / f"profile-mix-{backend}.txt"
    seconds = args.profile
    spies = []
    for pid in _tree(server.proc.pid if server.proc else 0)[1:]:  # the workers
        out = raw.with_name(f"{raw.stem}-{pid}.txt")
        spies.append(
            (
                out,
                subprocess.Popen(
                    [
                        str(spy),
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        f"{seconds:g}",
                        "--format",
                        "raw",
                        "--nolineno",
                        # --native pauses the process for each sample (slower, more exact).
                        *(["--native"] if args.profile_native else ["--nonblocking"]),
                        "--rate",
                        "200",
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=(OUT / "logs" / f"py-spy-{pid}.log").open("wb"),
                ),
            )
        )
    log(f"  {backend:10} profile: py-spy on {len(spies)} workers during a {seconds:g} s mix run")
    pg_samples: list[str] = []
    sampler = None
    if backend == "postgresql":
        import threading

        sampler = threading.Thread(
            target=lambda: pg_samples.extend(sample_pg_activity(args.pg_url, seconds)),
            daemon=True,
        )
        sampler.start()
    run_wrk(server.base, script, seconds + 1, args.connections, args.threads)
    if sampler is not None:
        sampler.join(timeout=seconds + 10)
        pg_report = summarize_pg(pg_samples)
        pg_file = OUT / "profile-mix-postgresql-activity.txt"
        pg_file.write_text("\n".join(pg_report) + "\n", encoding="utf-8")
        for line in pg_report:
            log("    " + line)
    lines = []
    for out, proc in spies:
        try:
            proc.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if out.exists():
            lines.append(out.read_text(encoding="utf-8", errors="replace"))
            out.unlink()
    raw.write_text("".join(lines), encoding="utf-8")
    summary = summarize_profile(raw)
    report = raw.with_name(f"profile-mix-{backend}-summary.txt")
    report.write_text("\n".join(summary) + "\n", encoding="utf-8")
    log(f"  profile of {backend}: {raw.relative_to(ROOT)}, summary {report.relative_to(ROOT)}")
    for line in summary:
        log("    " + line)


# --- one backend -------------------------------------------------------------------------------


def reference_argv(app: str, port: int, args: argparse.Namespace) -> list[str]:
    """A bench/raw_app.py app under the same HTTP server and options as `homeroom serve`."""
    return reads.reference_argv(app, port, args.server, args.workers)


def bench_backend(backend: str, args: argparse.Namespace) -> list[Result]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    base_env.update(
        HOMEROOM_VAR_DIR=str(OUT / "var"),
        HOMEROOM_SECRET_KEY=reads.SECRET_KEY,
        HOMEROOM_LOG_LEVEL="warning",
        HOMEROOM_HOST="127.0.0.1",
        HOMEROOM_ACCESS_TOKEN_TTL_SECONDS="7200",  # noqa: S106  not a secret
    )
    if args.redis_url:
        base_env["HOMEROOM_REDIS_URL"] = args.redis_url
    for setting in args.setting:
        name, _, value = setting.partition("=")
        base_env[name] = value
    if backend == "sqlite":
        url = reads.sqlite_dataset(args.students, base_env)
    else:
        url = reads.postgres_dataset(args.pg_url, args.students, args.rebuild, base_env)
    env = {**base_env, "HOMEROOM_DATABASE_URL": url}
    port = free_port()
    homeroom = Server(
        f"{WORKLOAD.name}-homeroom-{backend}",
        [
            str(reads.HOMEROOM),
            "serve",
            "--server",
            args.server,
            "--workers",
            str(args.workers),
            "--port",
            str(port),
        ],
        env,
        port,
        "/healthz",
    )
    ceiling_port = free_port()
    ceiling = Server(
        f"{WORKLOAD.name}-ceiling-{backend}",
        reference_argv("raw_app:ceiling", ceiling_port, args),
        env,
        ceiling_port,
        "/",
    )
    servers = [homeroom, ceiling]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        today = date.today()  # the server's "today": same machine, same clock
        users = virtual_users(homeroom.base, args, today)
        preflight(homeroom.base, users, backend)
        mix_script = write_mix_lua(users, args.seed)
        ceiling_script = OUT / f"wrk-{WORKLOAD.name}-ceiling.lua"
        ceiling_script.write_text(CEILING_LUA, encoding="utf-8")
        results = [
            measure(backend, "ceiling", ceiling, ceiling_script, args),
            measure(backend, WORKLOAD.name, homeroom, mix_script, args),
        ]
        if args.breakdown:
            short = argparse.Namespace(
                **{
                    **vars(args),
                    "duration": args.breakdown,
                    "warmup": min(args.warmup, 1.0),
                    "connections": args.breakdown_connections,
                }
            )
            for i, (role, kind) in enumerate(type_list(), start=1):
                script = write_mix_lua(users, args.seed, only=i)
                results.append(measure(backend, f"{role}: {kind}", homeroom, script, short))
        if args.profile:
            profile(backend, homeroom, mix_script, args)
        return results
    finally:
        for server in servers:
            server.stop()


# --- report ------------------------------------------------------------------------------------


def table(results: list[Result]) -> list[str]:
    lines = [
        "| backend | target | req/s | p50 ms | p99 ms | max ms | errors | "
        "wrk CPU (of 1 core) | server CPU (cores) | other CPU (cores) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in (r for r in results if r.target in ("ceiling", WORKLOAD.name)):
        lines.append(
            f"| {r.backend} | {r.target} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.max_ms:.0f} | {r.errors} | {r.wrk_cpu:.0%} | {r.server_cpu:.2f} | "
            f"{r.other_cpu:.2f} |"
        )
    return lines


def type_table(results: list[Result]) -> list[str]:
    mixes = [r for r in results if r.target == WORKLOAD.name]
    types = type_list()
    head = "| request type | " + " | ".join(f"{r.backend} count (share)" for r in mixes) + " |"
    lines = [head, "|---|" + "---:|" * len(mixes)]
    for i, (role, kind) in enumerate(types):
        cells = []
        for r in mixes:
            n = r.types[i] if i < len(r.types) else 0
            total = sum(r.types) or 1
            cells.append(f"{n:,} ({n / total:.1%})")
        lines.append(f"| {role}: {kind} | " + " | ".join(cells) + " |")
    for r in mixes:
        if r.errors:
            details = {**r.kinds, "statuses": r.statuses, "samples": r.samples}
            lines.append(f"\nerrors on {r.backend}: {reads.describe_errors(details)}")
    return lines


def server_table(results: list[Result]) -> list[str]:
    """Each route of the measured runs as the server timed it (its /metrics histograms):
    where the time goes inside the mix, without the load generator's queueing."""
    lines = []
    for r in results:
        if not r.routes or r.target in ("ceiling",) or ":" in r.target:
            continue
        lines += [
            f"{r.backend} {r.target}, per route as the server timed it:",
            "| route | requests | mean ms | p99 ms (bucket) |",
            "|---|---:|---:|---:|",
        ]
        for key, (count, mean, p99) in sorted(r.routes.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"| {key} | {count:,} | {mean:.2f} | <= {p99:g} |")
        lines.append("")
    return lines


def breakdown_table(results: list[Result]) -> list[str]:
    """Each request type alone: its throughput, and its estimated share of the mix's server
    time (its share of the mix's requests x its cost alone, 1 / req/s, normalized)."""
    names = [f"{role}: {kind}" for role, kind in type_list()]
    lines = []
    for backend in dict.fromkeys(r.backend for r in results):
        got = {r.target: r for r in results if r.backend == backend}
        mix = got.get(WORKLOAD.name)
        alone = [got.get(name) for name in names]
        if mix is None or not any(alone):
            continue
        total = sum(mix.types) or 1
        weights = []
        for i, r in enumerate(alone):
            share = (mix.types[i] if i < len(mix.types) else 0) / total
            weights.append(share / r.rps if r is not None and r.rps > 0 else 0.0)
        norm = sum(weights) or 1.0
        lines += [
            f"{backend}, each request type alone:",
            "| request type | req/s alone | p50 ms | p99 ms | errors | share of mix requests "
            "| est. share of mix server time |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for i, (name, r) in enumerate(zip(names, alone, strict=True)):
            if r is None:
                continue
            share = (mix.types[i] if i < len(mix.types) else 0) / total
            cost = f"{weights[i] / norm:.0%}" if r.rps > 0 else "n/a (0 req/s)"
            lines.append(
                f"| {name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} | "
                f"{share:.1%} | {cost} |"
            )
        lines.append("")
    return lines


def ratios(results: list[Result]) -> list[str]:
    lines = []
    for backend in dict.fromkeys(r.backend for r in results):
        got = {r.target: r for r in results if r.backend == backend}
        run, ceiling = got[WORKLOAD.name], got["ceiling"]
        checks, met = WORKLOAD.targets(run, ceiling)
        if WITHOUT:
            checks.append(f"DIAGNOSTIC run without {WITHOUT}")
        lines.append(
            f"ratio {backend}: {', '.join(checks)}; {WORKLOAD.name} {run.rps:,.0f} req/s, "
            f"ceiling {ceiling.rps:,.0f} req/s; targets {'MET' if met else 'MISSED'}"
        )
    return lines


def record(results: list[Result], args: argparse.Namespace, started: datetime) -> None:
    backends = ", ".join(dict.fromkeys(r.backend for r in results))
    users = ", ".join(f"{n} {role}" for role, n in USERS.items())
    without = f"; left out: {args.without}" if args.without else ""
    section = [
        "",
        f"## {WORKLOAD.name}{' (diagnostic, not the benchmark)' if args.without else ''}, "
        f"{started:%Y-%m-%d %H:%M} UTC, {backends}",
        "",
        f"- machine: {machine()}",
        f"- dataset: {args.students:,} students (`homeroom seed --students {args.students}`)",
        f"- load: wrk t{args.threads} c{args.connections}, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s per target, {args.server} with {args.workers} workers for "
        "Homeroom and ceiling alike, 127.0.0.1; "
        f"virtual users: {users}, each logged in once; "
        f"{' / '.join(f'{share}% {role}' for role, share in WORKLOAD.shares)} requests, "
        f"closed loop{without}",
        f"- revision: {reads.git_revision()}",
        "",
        *table(results),
        "",
        *type_table(results),
        "",
        *server_table(results),
        "",
        *unloaded_table(),
        "",
        *breakdown_table(results),
        *(f"- {line}" for line in ratios(results)),
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(section))
    log(f"recorded in {RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--workload",
        choices=sorted(workloads()),
        default="mix",
        help="mix: the school day; journeys: the competing LMS's journeys (bench/README.md)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--duration", type=float, default=15, help="seconds per target")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of every server")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default=os.environ.get("HOMEROOM_SERVER", DEFAULT_SERVER),
        help="HTTP server of Homeroom AND of ceiling (default: `homeroom serve`'s)",
    )
    parser.add_argument("--students", type=int, default=50_000, help="dataset size")
    parser.add_argument("--student-users", type=int, default=240, help="student virtual users")
    parser.add_argument("--teacher-users", type=int, default=50, help="teacher virtual users")
    parser.add_argument("--login-parallel", type=int, default=4, help="logins at a time")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the user picks")
    parser.add_argument(
        "--breakdown",
        type=float,
        default=0,
        help="also run each request type alone for this many seconds (0: no)",
    )
    parser.add_argument(
        "--breakdown-connections",
        type=int,
        default=16,
        help="wrk connections of the --breakdown runs",
    )
    parser.add_argument(
        "--profile",
        type=float,
        default=0,
        help="after the measured runs, py-spy the workers during a run of this many seconds",
    )
    parser.add_argument(
        "--profile-native",
        action="store_true",
        help="py-spy --native: C frames too (sqlite3, asyncpg's protocol, orjson)",
    )
    parser.add_argument(
        "--without",
        default="",
        help="diagnostics: leave request types out, e.g. 'staff: search,teacher: grades bulk'",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("HOMEROOM_BENCH_DATABASE_URL", reads.DEFAULT_PG_URL),
        help="PostgreSQL database dedicated to benchmarks (env HOMEROOM_BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="HOMEROOM_X=VALUE",
        help="a setting of Homeroom's server for this run (repeatable; a diagnostic)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("HOMEROOM_BENCH_REDIS_URL", ""),
        help="HOMEROOM_REDIS_URL for the server (env HOMEROOM_BENCH_REDIS_URL; default none)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="PostgreSQL: drop and re-seed a wrong-size dataset"
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is required: apt-get install -y wrk")
    if args.duration > 120 or args.warmup > 30 or args.breakdown > 30 or args.profile > 60:
        sys.exit(
            "keep runs bounded: --duration <= 120, --warmup <= 30, --breakdown <= 30, "
            "--profile <= 60"
        )
    if args.student_users + args.teacher_users > 300 or args.student_users < 1:
        sys.exit("1..300 virtual users in all (each login costs an argon2 verification)")

    global WITHOUT, WORKLOAD
    WITHOUT = args.without
    WORKLOAD = workloads()[args.workload]
    started = datetime.now(UTC)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    for backend in backends:
        log(f"{backend}:")
        results += bench_backend(backend, args)

    print()
    print(f"{WORKLOAD.name} benchmark, {started:%Y-%m-%d %H:%M} UTC, {machine()}")
    print(
        f"{args.students:,} students; wrk t{args.threads} c{args.connections}, "
        f"{args.duration:g} s per target after {args.warmup:g} s warm-up; "
        f"{args.server}, {args.workers} workers per server"
    )
    print()
    print("\n".join(table(results)))
    print()
    print("\n".join(type_table(results)))
    print()
    print("\n".join(server_table(results)))
    print()
    print("\n".join(unloaded_table()))
    print()
    if args.breakdown:
        print("\n".join(breakdown_table(results)))
    if args.record:
        record(results, args, started)
    print("\n".join(ratios(results)))


if __name__ == "__main__":
    main()
