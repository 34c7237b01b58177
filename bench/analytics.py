"""Analytics on the district dataset: the dashboard uncached and cached, a section, /me.

    .venv/bin/python bench/analytics.py [--backend sqlite|postgresql|both] [--calls 200]
                                        [--source bench/out/students-50000.db]
                                        [--pg-url postgresql+asyncpg://...] [--record]

Everything runs in this process through the whole application (its lifespan, middleware,
authentication, cache), called as ASGI with a single client: each request is one
`await app(scope, receive, send)`, timed from the call to the last body byte, so the figures
are the server's own cost with no HTTP client or socket in them. Logins happen once.

- SQLite: a COPY of the district database (`bench/out/analytics-district.db`, made once with
  SQLite's backup API and migrated, which fills the summary tables; the source is only read).
- PostgreSQL (`--backend postgresql|both`): the database of `--pg-url` (default env
  `HOMEROOM_BENCH_DATABASE_URL`, else `.../test_e`), migrated; it must hold a seeded district
  (`homeroom seed --students 50000 --password bench`), else it is skipped.

Measured per backend, `--calls` calls each (median and p95):
- dashboard **cached**: the same request again and again (cache hits);
- dashboard **uncached, fresh cache**: the process's cache emptied before each call;
- dashboard **uncached after a write**: before each call a real `POST /attendance/bulk` of one
  section (a status toggled), which bumps the school's tags in its transaction; the read after
  it must miss (checked: the body shows the change). Only the read is timed;
- the dashboard's three SQL statements alone, on the same reader (the database's share);
- `GET /analytics/sections/{id}` (teacher1's first section), `GET /analytics/me` as
  student1 and as guardian1;
- once: the same attendance-trend and grade-distribution aggregates computed from the base
  tables (what the summary tables replace); what the triggers add to a 40-row attendance
  and grade UPDATE (the same statement with the triggers and without, rolled back); and to a
  teacher's 40-row bulk attendance and bulk grades through the API (triggers dropped or
  disabled meanwhile; each write alternates between two states an even number of times, so
  the data ends as it began).
The figures and the targets (dashboard < 50 ms uncached, < 1 ms cached) are printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

import district

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from homeroom.analytics import repository as analytics_repository  # noqa: E402
from homeroom.app import create_app  # noqa: E402
from homeroom.config import Settings  # noqa: E402
from homeroom.kit.db import Database  # noqa: E402
from homeroom.kit.migrate import upgrade  # noqa: E402

OUT = ROOT / "bench" / "out"
COPY = OUT / "analytics-district.db"
RESULTS = ROOT / "bench" / "RESULTS.md"
PASSWORD = "bench"  # noqa: S105 (the seeded dataset's documented demo password)
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test_e"
MAX_CALLS = 2000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_copy(source: Path) -> None:
    """Copies the dataset once (SQLite's online backup: consistent, source opened read-only)."""
    if COPY.exists() and COPY.stat().st_mtime >= source.stat().st_mtime:
        return
    OUT.mkdir(parents=True, exist_ok=True)
    partial = COPY.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    log(f"copying {source} to {COPY} (once) ...")
    started = time.perf_counter()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    src.backup(dst)
    dst.close()
    src.close()
    partial.rename(COPY)
    log(f"copied in {time.perf_counter() - started:.1f} s")


# --- calling the application ------------------------------------------------------------------


class Caller:
    """Requests straight into the ASGI app: no client, no socket."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes, float]:
        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            + ([(b"content-type", b"application/json")] if body else []),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        status = 0
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        started = time.perf_counter()
        await self.app(scope, receive, send)
        return status, b"".join(chunks), time.perf_counter() - started

    async def get(self, path: str, headers: dict[str, str]) -> tuple[Any, float]:
        status, body, seconds = await self.request("GET", path, headers)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
        return orjson.loads(body), seconds

    async def post(self, path: str, headers: dict[str, str], payload: Any) -> Any:
        status, body, _ = await self.request("POST", path, headers, orjson.dumps(payload))
        if status >= 300:
            raise SystemExit(f"POST {path}: {status} {body[:300]!r}")
        return orjson.loads(body)


async def login(caller: Caller, email: str) -> dict[str, str]:
    body = await caller.post("/api/v1/auth/login", {}, {"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {body['access_token']}"}


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


async def timed(calls: int, one: Callable[[], Awaitable[float]]) -> dict[str, float]:
    for _ in range(min(5, calls)):  # warm-up: compiled queries, page cache
        await one()
    return summary([await one() for _ in range(calls)])


# --- one backend -------------------------------------------------------------------------------


async def last_school_day(db: Database) -> date:
    async with db.engine.connect() as conn:
        value = (await conn.exec_driver_sql("SELECT max(date) FROM analytics_days")).scalar()
    if value is None:
        raise SystemExit("the database has no attendance: seed the district first")
    return value if isinstance(value, date) else date.fromisoformat(value)


async def base_table_aggregates(db: Database, day: date) -> dict[str, float]:
    """What the summary tables replace: the trend and the grade sums from the base tables."""
    start = date.fromordinal(day.toordinal() - 14)
    trend = (
        "SELECT s.date, r.status, count(*) FROM attendance_sessions s "
        "JOIN attendance_records r ON r.session_id = s.id "
        f"WHERE s.school_id = 1 AND s.date <= '{day}' AND s.date > '{start}' "
        "GROUP BY s.date, r.status"
    )
    grades = (
        "SELECT count(*) FROM (SELECT g.enrollment_id, a.category_id, sum(g.score), "
        "sum(a.max_points) FROM grades g JOIN assessments a ON a.id = g.assessment_id "
        "WHERE g.school_id = 1 GROUP BY g.enrollment_id, a.category_id) t"
    )
    out = {}
    async with db.engine.connect() as conn:
        if not db.is_sqlite:
            await conn.exec_driver_sql("SET statement_timeout = 0")
        for name, sql in (("trend", trend), ("grades", grades)):
            started = time.perf_counter()
            await conn.exec_driver_sql(sql)
            out[name] = time.perf_counter() - started
    return out


async def trigger_overhead(db: Database, rounds: int = 5) -> dict[str, float]:
    """The same 40-row UPDATEs with the triggers and without (rolled back each time)."""
    pick_session = (
        "SELECT session_id FROM attendance_records GROUP BY session_id "
        "HAVING count(*) >= 40 ORDER BY session_id LIMIT 1"
    )
    pick_assessment = (
        "SELECT assessment_id FROM grades GROUP BY assessment_id "
        "HAVING count(*) >= 40 ORDER BY assessment_id LIMIT 1"
    )
    out: dict[str, list[float]] = {}
    async with db.engine.connect() as conn:
        session_id = (await conn.exec_driver_sql(pick_session)).scalar()
        assessment_id = (await conn.exec_driver_sql(pick_assessment)).scalar()
        await conn.rollback()
        statements = {
            "attendance": (
                "UPDATE attendance_records SET status = CASE status WHEN 'present' THEN "
                "'absent' ELSE 'present' END WHERE id IN (SELECT id FROM attendance_records "
                f"WHERE session_id = {session_id} ORDER BY id LIMIT 40)"
            ),
            "grades": (
                "UPDATE grades SET score = score * 0.5 WHERE id IN (SELECT id FROM grades "
                f"WHERE assessment_id = {assessment_id} ORDER BY id LIMIT 40)"
            ),
        }
        for triggers in (True, False):
            for name, sql in statements.items():
                for _ in range(rounds):
                    transaction = await conn.begin()
                    try:
                        if not triggers:
                            await _triggers_off(db, conn)
                        started = time.perf_counter()
                        await conn.exec_driver_sql(sql)
                        elapsed = time.perf_counter() - started
                    finally:
                        await transaction.rollback()
                    key = f"{name} {'with' if triggers else 'without'}"
                    out.setdefault(key, []).append(elapsed)
    return {k: statistics.median(v) for k, v in out.items()}


async def _triggers_off(db: Database, conn: Any) -> None:
    if db.is_sqlite:
        names = await conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'analytics_%'"
        )
        for (name,) in names.all():
            await conn.exec_driver_sql(f"DROP TRIGGER {name}")
    else:
        await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")


async def api_write_overhead(
    caller: Caller,
    db: Database,
    teacher: dict[str, str],
    section_id: int,
    students: list[int],
    assessment_id: int,
    day: date,
    rounds: int = 10,
) -> dict[str, float]:
    """A teacher's 40-row bulk attendance and bulk grades through the API, with the triggers
    and without them (dropped or disabled meanwhile, then put back). Each kind alternates
    between two states an even number of times, so the data ends as it began and the
    summaries stay right."""

    async def bulk(kind: str, i: int) -> float:
        started = time.perf_counter()
        if kind == "attendance":
            status = "late" if i % 2 else "present"
            payload: Any = {
                "section_id": section_id,
                "date": day.isoformat(),
                "records": [{"student_id": s, "status": status} for s in students],
            }
            await caller.post("/api/v1/attendance/bulk", teacher, payload)
        else:
            payload = {
                "assessment_id": assessment_id,
                "grades": [{"student_id": s, "score": 1 if i % 2 else 2} for s in students],
            }
            await caller.post("/api/v1/grades/bulk", teacher, payload)
        return time.perf_counter() - started

    out: dict[str, float] = {}
    for triggers in (True, False):
        saved = [] if triggers else await _drop_triggers(db)
        try:
            for kind in ("attendance", "grades"):
                times = [await bulk(kind, i) for i in range(2 * rounds)]
                key = f"{kind} with{'' if triggers else 'out'}"
                out[key] = statistics.median(times[2:])
        finally:
            await _restore_triggers(db, saved)
    return out


async def _drop_triggers(db: Database) -> list[str]:
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            rows = (
                await conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND name LIKE 'analytics_%'"
                )
            ).all()
            for name, _ in rows:
                await conn.exec_driver_sql(f"DROP TRIGGER {name}")
            return [sql for _, sql in rows]
        tables = (
            await conn.exec_driver_sql(
                "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
                "WHERE tgname LIKE 'analytics_%'"
            )
        ).all()
        for (table,) in tables:
            await conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        return [f"ALTER TABLE {table} ENABLE TRIGGER USER" for (table,) in tables]


async def _restore_triggers(db: Database, statements: list[str]) -> None:
    if statements:
        async with db.engine.begin() as conn:
            for sql in statements:
                await conn.exec_driver_sql(sql)


async def run_backend(backend: str, url: str, calls: int) -> dict[str, Any]:
    settings = Settings(database_url=url, var_dir=OUT / "analytics-var")
    log(f"[{backend}] migrating {url.split('@')[-1]} ...")
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        db: Database = app.state.db
        caller = Caller(app)
        day = await last_school_day(db)
        admin = await login(caller, "admin@example.edu")
        teacher = await login(caller, "teacher1@example.edu")
        student = await login(caller, "student1@example.edu")
        guardian = await login(caller, "guardian1@example.edu")
        dashboard = f"/api/v1/analytics/dashboard?date={day.isoformat()}"

        first, _ = await caller.get(dashboard, admin)
        log(
            f"[{backend}] {first['school_name']}: {first['students']['total']:,} students, "
            f"at risk {first['at_risk']['total']:,}, today {day}"
        )

        async def cached() -> float:
            return (await caller.get(dashboard, admin))[1]

        async def fresh_cache() -> float:
            await app.state.cache.clear_local()
            return (await caller.get(dashboard, admin))[1]

        sections, _ = await caller.get("/api/v1/sections?limit=1", teacher)
        section_id = sections["items"][0]["id"]
        roster, _ = await caller.get(f"/api/v1/sections/{section_id}/roster?limit=100", teacher)
        students = [r["id"] for r in roster["items"] if r["status"] == "enrolled"][:40]
        toggle = {"n": 0}

        async def after_write() -> float:
            toggle["n"] += 1
            status = "late" if toggle["n"] % 2 else "present"
            await caller.post(
                "/api/v1/attendance/bulk",
                teacher,
                {
                    "section_id": section_id,
                    "date": day.isoformat(),
                    "records": [{"student_id": s, "status": status} for s in students[:1]]
                    + [{"student_id": s, "status": "present"} for s in students[1:]],
                },
            )
            body, seconds = await caller.get(dashboard, admin)
            late = body["attendance"]["today"]["late"]
            expected = toggle.setdefault("late", late)
            if toggle["n"] > 1 and late == expected:
                raise SystemExit("the dashboard after a write did not change: stale")
            toggle["late"] = late
            return seconds

        params = {
            "school": 1,
            "date": day,
            "days": 10,
            "week_start": date.fromordinal(day.toordinal() - day.weekday()),
        }

        async def queries_only() -> float:
            started = time.perf_counter()
            await analytics_repository.overview(db, "school", params)
            await analytics_repository.at_risk(
                db, "school", {"school": 1, "threshold": 0.9, "limit": 20}
            )
            await analytics_repository.activity(db, "school", 1, 20)
            return time.perf_counter() - started

        async def section() -> float:
            return (await caller.get(f"/api/v1/analytics/sections/{section_id}", teacher))[1]

        async def me_student() -> float:
            return (await caller.get(f"/api/v1/analytics/me?date={day}", student))[1]

        async def me_guardian() -> float:
            return (await caller.get(f"/api/v1/analytics/me?date={day}", guardian))[1]

        log(f"[{backend}] measuring, {calls} calls per target ...")
        results["dashboard cached"] = await timed(calls, cached)
        results["dashboard uncached (fresh cache)"] = await timed(calls, fresh_cache)
        results["dashboard uncached (after a write)"] = await timed(
            max(10, calls // 4), after_write
        )
        results["dashboard SQL only (3 statements)"] = await timed(calls, queries_only)
        results["section analytics"] = await timed(calls, section)
        results["me (student)"] = await timed(calls, me_student)
        results["me (guardian)"] = await timed(calls, me_guardian)
        log(f"[{backend}] base-table aggregates and trigger overhead (once) ...")
        results["base"] = await base_table_aggregates(db, day)
        results["triggers"] = await trigger_overhead(db)
        assessments, _ = await caller.get(
            f"/api/v1/assessments?section_id={section_id}&limit=1", teacher
        )
        results["api writes"] = await api_write_overhead(
            caller, db, teacher, section_id, students, assessments["items"][0]["id"], day
        )
        results["day"] = day
    return results


# --- report ------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}"


def verdicts(backend: str, r: dict[str, Any]) -> str:
    uncached = max(
        r["dashboard uncached (fresh cache)"]["median"],
        r["dashboard uncached (after a write)"]["median"],
    )
    cached = r["dashboard cached"]["median"]
    return (
        f"- {backend}: dashboard uncached {ms(uncached)} ms median "
        f"({'ok' if uncached < 0.050 else 'NOT'} < 50 ms), cached {ms(cached)} ms "
        f"({'ok' if cached < 0.001 else 'NOT'} < 1 ms); the same figures from the base tables "
        f"{ms(r['base']['trend'] + r['base']['grades'])} ms "
        f"({(r['base']['trend'] + r['base']['grades']) / uncached:,.0f}x the uncached dashboard)"
    )


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| backend | target | median ms | p95 ms | calls |",
        "|---|---|---:|---:|---:|",
    ]
    for backend, r in results.items():
        for name, s in r.items():
            if isinstance(s, dict) and "median" in s:
                lines.append(
                    f"| {backend} | {name} | {ms(s['median'])} | {ms(s['p95'])} | {s['n']} |"
                )
    lines.append("")
    lines.append("| backend | once | ms |")
    lines.append("|---|---|---:|")
    for backend, r in results.items():
        lines.append(
            f"| {backend} | attendance trend from attendance_records | {ms(r['base']['trend'])} |"
        )
        lines.append(
            f"| {backend} | per-enrollment grade sums from grades | {ms(r['base']['grades'])} |"
        )
        for name, seconds in r["triggers"].items():
            lines.append(f"| {backend} | 40-row UPDATE, {name} triggers | {ms(seconds)} |")
        for name, seconds in r["api writes"].items():
            lines.append(
                f"| {backend} | 40-row bulk {name} triggers (API, median) | {ms(seconds)} |"
            )
    return lines


def revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, {cpu}"


def record(results: dict[str, dict[str, Any]], calls: int) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## analytics, {now}, {', '.join(results)}",
        "",
        f"- machine: {machine()}",
        "- dataset: the district (50,000 students; 3.5 M grades, 3.5 M attendance records); "
        "SQLite a migrated copy, PostgreSQL a seeded database",
        f"- in process, ASGI calls from one client, {calls} calls per target (after a write: "
        f"{max(10, calls // 4)}); `date` = the last school day of the data",
        f"- revision: {revision()}",
        "",
        *table(results),
        "",
        *(verdicts(b, r) for b, r in results.items()),
        "",
    ]
    with RESULTS.open("a") as f:
        f.write("\n".join(lines))
    log(f"appended to {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument(
        "--pg-url", default=os.environ.get("HOMEROOM_BENCH_DATABASE_URL", DEFAULT_PG)
    )
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    args.source = args.source or district.district_path()
    calls = max(10, min(args.calls, MAX_CALLS))
    results: dict[str, dict[str, Any]] = {}
    if args.backend in ("sqlite", "both"):
        make_copy(args.source)
        results["sqlite"] = asyncio.run(run_backend("sqlite", f"sqlite+aiosqlite:///{COPY}", calls))
    if args.backend in ("postgresql", "both"):
        try:
            results["postgresql"] = asyncio.run(run_backend("postgresql", args.pg_url, calls))
        except (OSError, SystemExit) as exc:
            log(f"[postgresql] skipped: {exc}")
    if not results:
        raise SystemExit("nothing measured")
    if args.record:
        record(results, calls)
    print("\n".join(table(results)))
    print()
    for backend, r in results.items():
        print(verdicts(backend, r))


if __name__ == "__main__":
    main()
