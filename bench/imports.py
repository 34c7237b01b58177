"""`imports` benchmark: a 10,000-student CSV imported through a live `homeroom serve`.

    .venv/bin/python bench/imports.py [--backend sqlite|postgresql|both] [--rows N] [--record]

1. the database: SQLite, a copy of bench/out/students-50000.db (50,000 students; read-only,
   so copied to bench/out/imports/ and deleted afterwards), or, when it is missing, a fresh
   `homeroom seed --students 2000`; PostgreSQL (--pg-url, default the database test_b): its
   schema dropped and a fresh `homeroom seed --students 2000`.
2. `homeroom serve --workers 1` with HOMEROOM_IMPORT_JOB_ROWS above --rows (the import runs
   in the request), logs in as the seeded admin and POSTs the CSV as a text/csv body:
   a dry run, the fresh import (10,000 created), the same file again (10,000 unchanged),
   and a changed file (10,000 updated). Each answer's counts are checked.
3. the server again with the default job threshold (2,000 rows): a new 10,000-row file answers
   202, and the time runs until GET /api/v1/jobs/{id} says succeeded.
4. the `raw` reference beside it: the same CSV parsed with the csv module and inserted with
   the raw driver (sqlite3 executemany in one transaction / asyncpg copy) into an empty copy
   of the students table: the floor for parsing and writing those rows.

Prints the figures, then LAST the target verdicts (< 3 s) and the ratios import/raw.
--record appends them to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import shutil
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import district
from reads import (
    HOMEROOM,
    OUT,
    RESULTS,
    ROOT,
    SECRET_KEY,
    Server,
    _pg_wipe,
    _seed,
    free_port,
    git_revision,
    log,
    login,
    machine,
)

DISTRICT = district.PATH
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test_b"
TARGET_SECONDS = 3.0
WORK = OUT / "imports"


@dataclass
class Figure:
    backend: str
    step: str
    seconds: float
    counts: str


def csv_file(rows: int, prefix: str, grade: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["student_number", "first_name", "last_name", "email", "date_of_birth", "grade_level"]
    )
    for i in range(rows):
        writer.writerow(
            [
                f"{prefix}{i:06d}",
                f"First{i}",
                f"Last{i % 997}",
                f"{prefix.lower()}{i}@import.example.edu",
                f"20{10 - i % 5:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                grade,
            ]
        )
    return out.getvalue().encode()


def post_csv(base: str, token: str, data: bytes, **params: str) -> tuple[int, Any, float]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    request = urllib.request.Request(  # noqa: S310
        f"{base}/api/v1/imports/students" + (f"?{query}" if query else ""),
        data=data,
        method="POST",
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {token}"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
            body = json.loads(response.read())
            return response.status, body, time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), time.perf_counter() - started


def get_json(base: str, token: str, path: str) -> Any:
    request = urllib.request.Request(  # noqa: S310
        base + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read())


def expect(status: int, body: Any, wanted_status: int, **counts: int) -> str:
    if status != wanted_status:
        raise SystemExit(f"expected {wanted_status}, got {status}: {str(body)[:2000]}")
    got = {k: body[k] for k in counts} if counts else {}
    if got != counts:
        raise SystemExit(f"expected {counts}, got {got}")
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


# --- the database -------------------------------------------------------------------------------


def sqlite_database(base_env: dict[str, str]) -> tuple[str, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    target = WORK / "district-copy.db"
    for leftover in WORK.glob("district-copy.db*"):
        leftover.unlink()
    if district.district_path().exists():
        log(f"dataset: copying {DISTRICT} ({DISTRICT.stat().st_size / 1e9:.1f} GB)")
        shutil.copyfile(DISTRICT, target)
    else:
        log("dataset: district.db missing; seeding 2,000 students")
        _seed(f"sqlite+aiosqlite:///{target}", 2000, base_env)
    return f"sqlite+aiosqlite:///{target}", target


def postgres_database(url: str, base_env: dict[str, str]) -> str:
    log(f"dataset: dropping the schema of {url.rsplit('/', 1)[1]}, seeding 2,000 students")
    asyncio.run(_pg_wipe(url))
    _seed(url, 2000, base_env)
    return url


# --- the raw reference --------------------------------------------------------------------------


def _rows(data: bytes) -> list[tuple[Any, ...]]:
    reader = csv.reader(io.StringIO(data.decode()))
    next(reader)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return [(1, n, f, last, e, d, int(g), "active", now, now) for n, f, last, e, d, g in reader]


COLUMNS = (
    "school_id, student_number, first_name, last_name, email, date_of_birth, grade_level, "
    "status, created_at, updated_at"
)


def raw_sqlite(path: Path, data: bytes) -> float:
    scratch = WORK / "raw-reference.db"
    scratch.unlink(missing_ok=True)
    source = sqlite3.connect(path)
    # The table and its indexes (foreign keys are not enforced: the pragma is off here).
    ddl = source.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'students' AND sql IS NOT NULL "
        "AND type IN ('table', 'index') ORDER BY type = 'table' DESC"
    ).fetchall()
    source.close()
    conn = sqlite3.connect(scratch, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for (statement,) in ddl:
        conn.execute(statement)
    started = time.perf_counter()
    rows = _rows(data)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(f"INSERT INTO students ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    scratch.unlink(missing_ok=True)
    return seconds


async def _raw_postgres(url: str, data: bytes) -> float:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("CREATE TEMP TABLE raw_students (LIKE students INCLUDING ALL)")
        started = time.perf_counter()
        stamp = datetime.now(UTC)
        rows = [
            (*row[:5], datetime.strptime(row[5], "%Y-%m-%d").date(), *row[6:8], stamp, stamp)
            for row in _rows(data)
        ]
        async with conn.transaction():
            await conn.copy_records_to_table(
                "raw_students", records=rows, columns=[c.strip() for c in COLUMNS.split(",")]
            )
        return time.perf_counter() - started
    finally:
        await conn.close()


# --- one backend --------------------------------------------------------------------------------


def serve(url: str, var: Path, job_rows: int) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "HOMEROOM_DATABASE_URL": url,
        "HOMEROOM_VAR_DIR": str(var),
        "HOMEROOM_SECRET_KEY": SECRET_KEY,
        "HOMEROOM_LOG_LEVEL": "warning",
        "HOMEROOM_IMPORT_JOB_ROWS": str(job_rows),
    }
    argv = [str(HOMEROOM), "serve", "--workers", "1", "--port", str(port)]
    server = Server(f"imports-{job_rows}", argv, env, port, "/readyz")
    server.start()
    server.wait_ready(timeout=180)
    return server


def bench_backend(backend: str, args: argparse.Namespace) -> list[Figure]:
    base_env = {**os.environ, "HOMEROOM_SECRET_KEY": SECRET_KEY}
    var = WORK / f"var-{backend}"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    copy: Path | None = None
    if backend == "sqlite":
        url, copy = sqlite_database(base_env)
    else:
        url = postgres_database(args.pg_url, base_env)
    n = args.rows
    figures: list[Figure] = []
    try:
        server = serve(url, var, job_rows=n + 1)
        try:
            token = login(server.base)
            fresh = csv_file(n, "IMP", 9)
            status, body, dry = post_csv(server.base, token, fresh, dry_run="true")
            figures.append(Figure(backend, "dry run", dry, expect(status, body, 200, valid=n)))
            status, body, seconds = post_csv(server.base, token, fresh)
            counts = expect(status, body, 200, created=n)
            figures.append(Figure(backend, "fresh import", seconds, counts))
            status, body, seconds = post_csv(server.base, token, fresh)
            counts = expect(status, body, 200, unchanged=n)
            figures.append(Figure(backend, "same file again", seconds, counts))
            status, body, seconds = post_csv(server.base, token, csv_file(n, "IMP", 10))
            counts = expect(status, body, 200, updated=n)
            figures.append(Figure(backend, "every row changed", seconds, counts))
        finally:
            server.stop()
        server = serve(url, var, job_rows=2000)
        try:
            token = login(server.base)
            status, job, posted = post_csv(server.base, token, csv_file(n, "JOB", 9))
            expect(status, job, 202)
            started = time.perf_counter() - posted
            deadline = time.monotonic() + 300
            while True:
                view = get_json(server.base, token, f"/api/v1/jobs/{job['id']}")
                if view["status"] in ("succeeded", "failed"):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("the import job did not finish in 300 s")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            if view["status"] != "succeeded":
                raise SystemExit(f"the import job failed: {view['error']}")
            counts = expect(200, view["result"], 200, created=n)
            figures.append(Figure(backend, f"as a job (202 in {posted:.2f} s)", seconds, counts))
        finally:
            server.stop()
        if backend == "sqlite":
            assert copy is not None
            raw = raw_sqlite(copy, fresh)
        else:
            raw = asyncio.run(_raw_postgres(url, fresh))
        figures.append(Figure(backend, "raw reference (parse + insert)", raw, f"rows {n:,}"))
    finally:
        if copy is not None:
            for leftover in WORK.glob("district-copy.db*"):
                leftover.unlink()
        shutil.rmtree(var, ignore_errors=True)
    return figures


# --- report -------------------------------------------------------------------------------------


def table(figures: list[Figure]) -> list[str]:
    lines = ["| backend | step | seconds | answer |", "|---|---|---:|---|"]
    lines += [f"| {f.backend} | {f.step} | {f.seconds:.2f} | {f.counts} |" for f in figures]
    return lines


def verdicts(figures: list[Figure], rows: int) -> list[str]:
    lines = []
    for backend in dict.fromkeys(f.backend for f in figures):
        got = {f.step.split(" (")[0]: f.seconds for f in figures if f.backend == backend}
        raw = got["raw reference"]
        parts = []
        for step in ("fresh import", "same file again", "every row changed", "as a job"):
            flag = "ok" if got[step] < TARGET_SECONDS else f"MISSED {TARGET_SECONDS:g} s"
            parts.append(f"{step} {got[step]:.2f} s ({flag}, {got[step] / raw:.1f}x raw)")
        lines.append(f"{backend}, {rows:,} students: " + "; ".join(parts))
    return lines


def record(figures: list[Figure], args: argparse.Namespace, started: datetime) -> None:
    backends = ", ".join(dict.fromkeys(f.backend for f in figures))
    section = [
        "",
        f"## imports, {started:%Y-%m-%d %H:%M} UTC, {backends}",
        "",
        f"- machine: {machine()}",
        f"- file: {args.rows:,} students, CSV as a text/csv body; `homeroom serve --workers 1`",
        "- dataset: SQLite a copy of the district (50,000 students); PostgreSQL a fresh "
        "2,000-student school",
        f"- revision: {git_revision()}",
        "",
        *table(figures),
        "",
        *(f"- {line}" for line in verdicts(figures, args.rows)),
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(section))
    log(f"recorded in {RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--rows", type=int, default=10_000, help="students in the file")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("HOMEROOM_BENCH_IMPORTS_DATABASE_URL", DEFAULT_PG_URL),
        help="a PostgreSQL database the benchmark may wipe (its schema is dropped)",
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if not 1 <= args.rows <= 50_000:
        sys.exit("--rows must be between 1 and 50,000")
    started = datetime.now(UTC)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    figures: list[Figure] = []
    for backend in backends:
        figures += bench_backend(backend, args)
    print("\n".join(table(figures)))
    print()
    print("\n".join(verdicts(figures, args.rows)))
    if args.record:
        record(figures, args, started)


if __name__ == "__main__":
    main()
