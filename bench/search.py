"""Staff search on the district dataset: `GET /students?q=` and what its index costs writes.

    .venv/bin/python bench/search.py [--backend sqlite|postgresql|both] [--calls 100]
                                     [--source bench/out/students-50000.db]
                                     [--pg-url postgresql+asyncpg://...] [--skip-writes]
                                     [--record]

In this process, through the whole application (lifespan, middleware, authentication), called
as ASGI: each request is one `await app(scope, receive, send)`, timed to the last body byte.

- SQLite: a COPY of the district database (`bench/out/search-district.db`, made with SQLite's
  backup API and migrated; the source is only read). `--fresh-copy` makes it again.
- PostgreSQL: the database of `--pg-url` (default env `HOMEROOM_BENCH_DATABASE_URL`, else
  `.../search_bench`), migrated; it must hold a seeded district
  (`homeroom seed --students 50000 --password bench`), else it is skipped.

Reads, as the seeded admin of the school, `--calls` times each (median and p95), first page of
20 (`limit=20`): a 4-letter term common in real last names (`rson`: Anderson, Robertson...),
a rare one (`sext`: Sexton), a 2-letter one (`mc`), and one that every student matches (`stud`,
in every seeded email) as the worst case; through the API and as the repository call alone
(`students.repository.list_page`), and beside them, interleaved call by call, "before": the
statements list_page ran for a search before the search index (the page walking the sort
index and testing each row, then a COUNT testing every row again), on the same database
(their answers are checked equal first); the statements the API issues; the plan of the page
statement (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).

Writes (only when the database has the search index; skipped with `--skip-writes`), with the
index kept in step and without it (SQLite: the students_fts triggers dropped, the index rebuilt
afterwards; PostgreSQL: the trigram indexes dropped and created again):
- one student INSERT and one name UPDATE as SQL statements, each committed (the index's own
  cost: FTS5 writes at COMMIT);
- `POST /students` and `PATCH /students/{id}` (a name) through the API;
- a 10,000-row student import through `POST /imports/students` (in the request).
The rows written are deleted at the end.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

# The import must run in the request, not as a job: set before homeroom reads its limits.
os.environ.setdefault("HOMEROOM_IMPORT_JOB_ROWS", "20000")

import district
from analytics import Caller, login, summary
from imports import csv_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from homeroom.app import create_app  # noqa: E402
from homeroom.config import Settings  # noqa: E402
from homeroom.kit.db import CompiledQuery, Database, Row, statement_counter  # noqa: E402
from homeroom.kit.migrate import upgrade  # noqa: E402
from homeroom.kit.pagination import (  # noqa: E402
    PageRequest,
    count_statement,
    like_pattern,
    page_statement,
    plan_page,
)
from homeroom.students import repository  # noqa: E402
from homeroom.students.schemas import StudentFilters  # noqa: E402

OUT = ROOT / "bench" / "out"
COPY = OUT / "search-district.db"
RESULTS = ROOT / "bench" / "RESULTS.md"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/search_bench"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
TERMS = {
    "rson": "4 letters, common (754 students)",
    "sext": "4 letters, rare (32)",
    "mc": "2 letters (1,755)",
    "stud": "4 letters, every student (50,000)",
}
LIMIT = 20
SCOPE = {"scope_school": 1, "scope_profile": 0}
WRITE_DOMAIN = "search-bench.example.edu"
MAX_CALLS = 2000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_copy(source: Path, fresh: bool) -> None:
    if COPY.exists() and not fresh and COPY.stat().st_mtime >= source.stat().st_mtime:
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for leftover in OUT.glob(f"{COPY.name}*"):
        leftover.unlink()
    partial = COPY.with_suffix(".partial")
    log(f"copying {source} to {COPY} ...")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    src.backup(dst)
    dst.close()
    src.close()
    partial.rename(COPY)


# --- reads --------------------------------------------------------------------------------------


class Recorder:
    """The database's reader, recording the last page statement it ran (for its plan)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last: tuple[CompiledQuery, dict[str, Any]] | None = None

    async def all(self, query: CompiledQuery, params: dict[str, Any]) -> list[Row]:
        self.last = (query, params)
        rows: list[Row] = await self.inner.all(query, params)
        return rows

    async def scalar(self, query: CompiledQuery, params: dict[str, Any]) -> Any:
        return await self.inner.scalar(query, params)

    async def first(self, query: CompiledQuery, params: dict[str, Any]) -> Row | None:
        row: Row | None = await self.inner.first(query, params)
        return row

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def repository_call(db: Database, term: str) -> tuple[list[Row], int]:
    plan = plan_page(PageRequest(LIMIT, 0, None, None), repository.SORTING)
    return await repository.list_page(db, "school", SCOPE, StudentFilters(q=term), plan)


async def before_call(db: Database, term: str) -> tuple[list[Row], int]:
    """What list_page ran for a search before the search index (b831983): the page, walking
    the sort order's index and testing each row, then a COUNT testing every row again; on
    SQLite in a worker thread. Its test is the "scan" one (lower() LIKE lower(), what ILIKE
    does on PostgreSQL), which no index serves, as none did then."""
    plan = plan_page(PageRequest(LIMIT, 0, None, None), repository.SORTING)

    def filtered() -> Any:
        return repository._filtered("school", "scan", False, False, "exclude", db.is_sqlite)

    page = db.query(
        ("bench.before.page", plan.shape),
        lambda: page_statement(filtered(), repository.SORTING, plan),
        scan=True,
    )
    count = db.query("bench.before.count", lambda: count_statement(filtered()), scan=True)
    params = {**SCOPE, "q": like_pattern(term)}
    rows = await db.reader.all(page, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is None:
        total = int(await db.reader.scalar(count, params))
    return rows, total


async def measured(calls: int, *calls_of: Callable[[], Awaitable[float]]) -> list[dict[str, float]]:
    """Each function `calls` times after 5 warm-up calls, interleaved (a, b, a, b, ...), so a
    noisy minute on the shared machine weighs on each alike."""
    samples: list[list[float]] = [[] for _ in calls_of]
    for i in range(5 + calls):
        for one, kept in zip(calls_of, samples, strict=True):
            seconds = await one()
            if i >= 5:
                kept.append(seconds)
    return [summary(s) for s in samples]


async def plan_of(db: Database, query: CompiledQuery, params: dict[str, Any]) -> list[str]:
    args = query.positional(params)
    async with db.engine.connect() as conn:
        driver = await conn.get_raw_connection()
        raw: Any = driver.driver_connection
        if db.is_sqlite:
            cursor = await raw.execute(f"EXPLAIN QUERY PLAN {query.sql}", args)
            return [f"{row[0]}/{row[1]}: {row[3]}" for row in await cursor.fetchall()]
        rows = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query.sql}", *args)
        return [row[0] for row in rows]


async def reads(db: Database, caller: Caller, admin: dict[str, str], calls: int) -> list[str]:
    lines = []
    recorder = Recorder(db.reader)
    for term, label in TERMS.items():
        path = f"/api/v1/students?q={term}&limit={LIMIT}"
        body, _ = await caller.get(path, admin)
        with statement_counter.counting() as statements:
            await caller.get(path, admin)
        issued = len(statements)
        rows, total = await repository_call(db, term)
        old_rows, old_total = await before_call(db, term)
        assert (rows, total) == (old_rows, old_total) and total == body["total"], term

        async def api(path: str = path) -> float:
            return (await caller.get(path, admin))[1]

        async def repo(term: str = term) -> float:
            started = time.perf_counter()
            await repository_call(db, term)
            return time.perf_counter() - started

        async def before(term: str = term) -> float:
            started = time.perf_counter()
            await before_call(db, term)
            return time.perf_counter() - started

        through_api, alone, old = await measured(calls, api, repo, before)
        lines.append(
            f"| {db.dialect.name} | `q={term}` ({label}) | {total:,} | {issued} "
            f"| {through_api['median'] * 1000:.2f} | {through_api['p95'] * 1000:.2f} "
            f"| {alone['median'] * 1000:.2f} | {alone['p95'] * 1000:.2f} "
            f"| {old['median'] * 1000:.2f} | {old['p95'] * 1000:.2f} |"
        )
        log(lines[-1])
        real = db.reader
        db.reader = recorder  # type: ignore[assignment]
        try:
            await repository_call(db, term)
        finally:
            db.reader = real
        assert recorder.last is not None
        log(f"plan of the page statement, q={term}:")
        for line in await plan_of(db, *recorder.last):
            log(f"    {line}")
    return lines


# --- writes -------------------------------------------------------------------------------------


async def has_index(db: Database) -> bool:
    sql = (
        "SELECT count(*) FROM sqlite_master WHERE name = 'students_fts'"
        if db.is_sqlite
        else "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'ix!_students!_%!_trgm' "
        "ESCAPE '!'"
    )
    async with db.engine.connect() as conn:
        return bool((await conn.exec_driver_sql(sql)).scalar())


async def index_off(db: Database) -> list[str]:
    """Stop keeping the index in step; returns the statements that put it back."""
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            rows = (
                await conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND name LIKE 'students!_fts!_%' ESCAPE '!'"
                )
            ).all()
            for name, _ in rows:
                await conn.exec_driver_sql(f"DROP TRIGGER {name}")
            rebuild = "INSERT INTO students_fts (students_fts) VALUES ('rebuild')"
            return [sql for _, sql in rows] + [rebuild]
        rows = (
            await conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE indexname LIKE 'ix!_students!_%!_trgm' ESCAPE '!'"
            )
        ).all()
        for name, _ in rows:
            await conn.exec_driver_sql(f"DROP INDEX {name}")
        return [sql for _, sql in rows]


async def index_on(db: Database, statements: list[str]) -> None:
    async with db.engine.begin() as conn:
        for sql in statements:
            await conn.exec_driver_sql(sql)


async def sql_writes(db: Database, tag: str, calls: int) -> dict[str, list[float]]:
    """One student INSERT, and one UPDATE of a name, each its own committed transaction (on
    SQLite FTS5 writes the index at COMMIT). The UPDATEs toggle a name an even number of
    times, so it ends as it began; the inserted rows are deleted afterwards."""
    now = "'2026-01-01T00:00:00.000000+00:00'" if db.is_sqlite else "now()"
    out: dict[str, list[float]] = {}
    async with db.engine.connect() as conn:
        await conn.rollback()
        for i in range(2 * (calls // 2)):
            insert = (
                "INSERT INTO students (school_id, student_number, first_name, last_name, email, "
                f"date_of_birth, grade_level, status, created_at, updated_at) VALUES (1, "
                f"'SQL-{tag}-{i}', 'Bench', 'Writer', 'sql.{tag}.{i}@{WRITE_DOMAIN}', "
                f"'2010-01-01', 9, 'active', {now}, {now})"
            )
            suffix = "" if i % 2 else " Jr"
            update = f"UPDATE students SET last_name = 'Toggled{suffix}' WHERE id = 4242"
            for name, sql in (("INSERT one student", insert), ("UPDATE one name", update)):
                started = time.perf_counter()
                transaction = await conn.begin()
                await conn.exec_driver_sql(sql)
                await transaction.commit()
                out.setdefault(name, []).append(time.perf_counter() - started)
    return out


async def api_writes(
    caller: Caller, admin: dict[str, str], tag: str, calls: int
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for i in range(calls):
        body = {
            "student_number": f"SB-{tag}-{i}",
            "first_name": "Bench",
            "last_name": f"Writer{i}",
            "email": f"{tag}.{i}@{WRITE_DOMAIN}",
            "date_of_birth": "2010-01-01",
            "grade_level": 9,
        }
        status, raw, seconds = await caller.request(
            "POST", "/api/v1/students", admin, orjson.dumps(body)
        )
        assert status == 201, raw
        out.setdefault("POST /students", []).append(seconds)
        student_id = orjson.loads(raw)["id"]
        patch = orjson.dumps({"last_name": f"Rewritten{i}"})
        status, raw, seconds = await caller.request(
            "PATCH", f"/api/v1/students/{student_id}", admin, patch
        )
        assert status == 200, raw
        out.setdefault("PATCH /students/{id} (name)", []).append(seconds)
    return out


async def import_rows(caller: Caller, admin: dict[str, str], tag: str) -> float:
    data = csv_file(10_000, f"I{tag}", 9).replace(
        b"@import.example.edu", f"@{WRITE_DOMAIN}".encode()
    )
    headers = {**admin, "Content-Type": "text/csv"}
    status, raw, seconds = await caller.request("POST", "/api/v1/imports/students", headers, data)
    assert status == 200, raw[:500]
    return seconds


async def writes(db: Database, caller: Caller, admin: dict[str, str]) -> list[str]:
    """Alternates phases with the index kept in step and without it, 3 of each; the figures
    are medians over every call of a kind's phases (the imports: the median of 3)."""
    samples: dict[str, dict[str, list[float]]] = {"with": {}, "without": {}}
    for phase in range(6):
        kept = phase % 2 == 0
        key = "with" if kept else "without"
        saved = [] if kept else await index_off(db)
        try:
            tag = f"{key[:2]}{phase}x{int(time.time()) % 100000}"
            one = {**await sql_writes(db, tag, 20), **await api_writes(caller, admin, tag, 20)}
            one["import 10,000 students"] = [await import_rows(caller, admin, tag)]
        finally:
            if saved:
                started = time.perf_counter()
                await index_on(db, saved)
                log(f"index back in {time.perf_counter() - started:.1f} s")
        for name, values in one.items():
            samples[key].setdefault(name, []).extend(values)
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(f"DELETE FROM students WHERE email LIKE '%@{WRITE_DOMAIN}'")
    lines = []
    for name, values in samples["with"].items():
        with_ = statistics.median(values)
        without = statistics.median(samples["without"][name])
        lines.append(
            f"| {db.dialect.name} | {name} | {with_ * 1000:.2f} | {without * 1000:.2f} "
            f"| {(with_ - without) * 1000:+.2f} |"
        )
        log(lines[-1])
    return lines


# --- one backend --------------------------------------------------------------------------------


async def bench_backend(url: str, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    settings = Settings(database_url=url, secret_key=SECRET_KEY, var_dir=OUT / "search-var")
    log(f"migrating {url} ...")
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        db: Database = app.state.db
        caller = Caller(app)
        admin = await login(caller, "admin@example.edu")
        read_lines = await reads(db, caller, admin, args.calls)
        write_lines: list[str] = []
        if args.skip_writes:
            pass
        elif await has_index(db):
            write_lines = await writes(db, caller, admin)
        else:
            log("no search index in this database: writes not measured")
    return read_lines, write_lines


def revision() -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--source", type=Path, default=district.PATH)
    parser.add_argument("--fresh-copy", action="store_true")
    parser.add_argument(
        "--pg-url", default=os.environ.get("HOMEROOM_BENCH_DATABASE_URL", DEFAULT_PG)
    )
    parser.add_argument("--skip-writes", action="store_true")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    args.calls = max(1, min(args.calls, MAX_CALLS))
    started = datetime.now(UTC)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    read_lines: list[str] = []
    write_lines: list[str] = []
    for backend in backends:
        if backend == "sqlite":
            make_copy(args.source, args.fresh_copy)
            url = f"sqlite+aiosqlite:///{COPY}"
        else:
            url = args.pg_url
        r, w = asyncio.run(bench_backend(url, args))
        read_lines += r
        write_lines += w
    report = [
        f"## search, {started:%Y-%m-%d %H:%M} UTC, {', '.join(backends)}",
        "",
        "- dataset: the district (50,000 students, one school); SQLite a migrated copy, "
        "PostgreSQL a seeded database",
        f"- in process, ASGI calls from one client, {args.calls} calls per term after 5 "
        f"warm-up calls; first page, `limit={LIMIT}`, as the school's admin; the API, the "
        "repository call and `before` (the statements of b831983: page + COUNT, no index) "
        "interleaved call by call",
        f"- revision: {revision()}",
        "",
        "| backend | search | total | statements | API median ms | API p95 ms "
        "| repository median ms | repository p95 ms | before: median ms | before: p95 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *read_lines,
    ]
    if write_lines:
        report += [
            "",
            "| backend | write | with the index ms | without ms | the index adds ms |",
            "|---|---|---:|---:|---:|",
            *write_lines,
            "",
            "Writes: 3 phases with the index and 3 without, alternated; medians of 60 calls "
            "(SQL: each statement its own committed transaction), the import: median of 3.",
        ]
    text = "\n".join(report)
    print(text)
    if args.record:
        with RESULTS.open("a") as f:
            f.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
