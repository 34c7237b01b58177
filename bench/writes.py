"""`writes` benchmark: a teacher's 40-row bulk writes, unloaded, on the `district` dataset.

    .venv/bin/python bench/writes.py [--backend sqlite|postgresql|both] [--requests 200]
                                     [--rows 40] [--record]

Per backend: starts `homeroom serve --workers 1` on the district dataset (bench/reads.py's
datasets), logs in as teachers, picks sections of the current term with at least --rows
enrolled students and one of their assessments, then sends --requests bulk attendance
(`POST /attendance/bulk`, today) and as many bulk grade entries (`POST /grades/bulk`), one at a
time over one keep-alive connection, each with fresh statuses and scores so every row really
changes. Beside them, in the same run, the floor: the same guarded upsert statement alone
(attendance/grades repository SQL) in a transaction on the raw driver, with the summary
triggers it fires. Prints median, p95 and max per kind, then LAST the target check:
median < 5 ms per bulk write (issue 8).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime
from typing import Any

import reads
from homeroom.kit.db import sqlite_path
from reads import OUT, RESULTS, SEED_PASSWORD, Server, free_port, log, machine

TARGET_MS = 5.0
API = "/api/v1"


class Client:
    """One keep-alive HTTP/1.1 connection: what a browser or an app holds."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data[:300]!r}")
        return json.loads(data) if data else None


def classes(client: Client, rows: int, wanted: int) -> list[dict[str, Any]]:
    """Teachers' sections of the current term with >= rows enrolled students: (token, section,
    students, assessment)."""
    found: list[dict[str, Any]] = []
    for n in range(1, 400):
        if len(found) >= wanted:
            break
        email = f"teacher{n}@example.edu"
        token = client.call(
            "POST", API + "/auth/login", body={"email": email, "password": SEED_PASSWORD}
        )["access_token"]
        me = client.call("GET", API + "/auth/me", token)
        sections = client.call(
            "GET", f"{API}/sections?teacher_id={me['teacher_id']}&limit=100", token
        )
        today = date.today().isoformat()
        for section in sections["items"]:
            roster = client.call("GET", f"{API}/sections/{section['id']}/roster?limit=1000", token)
            ids = [r["id"] for r in roster["items"] if r["status"] == "enrolled"]
            assessments = client.call(
                "GET", f"{API}/assessments?section_id={section['id']}&limit=100", token
            )
            current = [a for a in assessments["items"] if (a["due_date"] or today) <= today]
            if len(ids) >= rows and current:
                found.append(
                    {
                        "token": token,
                        "section": section["id"],
                        "students": ids[:rows],
                        "assessment": current[0],
                    }
                )
                break
    if not found:
        sys.exit(f"no section with {rows} enrolled students and an assessment")
    return found


def bodies(cls: dict[str, Any], rnd: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    statuses = ("present",) * 6 + ("absent", "late", "excused")
    attendance = {
        "section_id": cls["section"],
        "date": date.today().isoformat(),
        "records": [{"student_id": s, "status": rnd.choice(statuses)} for s in cls["students"]],
    }
    top = float(cls["assessment"]["max_points"])
    grades = {
        "assessment_id": cls["assessment"]["id"],
        "grades": [
            {"student_id": s, "score": round(rnd.uniform(0, top), 1)} for s in cls["students"]
        ],
    }
    return attendance, grades


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[int(len(ordered) * 0.95) - 1],
        "max": ordered[-1],
        "n": len(ordered),
    }


# --- the floor: the upsert alone on the raw driver ---------------------------------------------


def _floor_rows(
    cls: dict[str, Any], rnd: random.Random, kind: str, ids: dict[str, Any]
) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    if kind == "attendance":
        statuses = ("present",) * 6 + ("absent", "late", "excused")
        return [
            (ids["school"], ids["session"], s, rnd.choice(statuses), "", ids["user"], now)
            for s in cls["students"]
        ]
    top = float(cls["assessment"]["max_points"])
    return [
        (
            ids["school"],
            ids["enrollments"][s],
            cls["assessment"]["id"],
            s,
            round(rnd.uniform(0, top), 1),
            "",
            ids["user"],
            now,
        )
        for s in cls["students"]
    ]


def floor(
    backend: str, url: str, cls: dict[str, Any], requests: int, rnd: random.Random
) -> dict[str, dict[str, float]]:
    from homeroom.attendance import repository as attendance
    from homeroom.grades import repository as grades

    sqlite = backend == "sqlite"
    statements = {
        "attendance": (attendance._upsert_statement(sqlite, True).text, attendance._RECORDS),
        "grades": (grades._upsert_statement(sqlite, False, True).text, grades._GRADES),
    }

    def guard(kind: str, teacher: int) -> dict[str, Any]:
        """The guard's parameters, as the API binds them for the section's teacher."""
        if kind == "attendance":
            return {"section_id": cls["section"], "teacher_id": teacher}
        return {"guard_assessment": cls["assessment"]["id"], "guard_teacher": teacher}

    ids_sql = (
        "SELECT s.school_id, a.id, "
        "(SELECT u.id FROM users u WHERE u.email = 'teacher1@example.edu'), s.teacher_id "
        "FROM sections s JOIN attendance_sessions a ON a.section_id = s.id "
        "AND a.date = {today} WHERE s.id = {section}"
    )
    enrollments_sql = "SELECT student_id, id FROM enrollments WHERE section_id = {section}"

    def compile_for(text: str) -> tuple[str, list[str]]:
        import re

        names: list[str] = []

        def repl(m: re.Match[str]) -> str:
            names.append(m.group(1))
            return "?" if sqlite else f"${len(names)}"

        return re.sub(r"(?<!:):(\w+)", repl, text), names

    out: dict[str, dict[str, float]] = {}
    if sqlite:
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA synchronous = NORMAL")  # as the server's writer
        today = f"'{date.today().isoformat()}'"
        school, session, user, teacher = conn.execute(
            ids_sql.format(today=today, section=cls["section"])
        ).fetchone()
        enrolled = dict(conn.execute(enrollments_sql.format(section=cls["section"])).fetchall())
        ids = {"school": school, "session": session, "user": user, "enrollments": enrolled}
        for kind, (text, rowset) in statements.items():
            sql, names = compile_for(text)
            samples = []
            for _ in range(requests):
                params = rowset.params(True, _floor_rows(cls, rnd, kind, ids))
                params |= guard(kind, teacher)
                t0 = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(sql, [params[n] for n in names])
                conn.execute("COMMIT")
                samples.append((time.perf_counter() - t0) * 1000)
            out[kind] = summary(samples)
        conn.close()
        return out

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await conn.execute("SET jit = off")
            today = "CURRENT_DATE"
            school, session, user, teacher = await conn.fetchrow(
                ids_sql.format(today=today, section=cls["section"])
            )
            enrolled = dict(await conn.fetch(enrollments_sql.format(section=cls["section"])))
            ids = {"school": school, "session": session, "user": user, "enrollments": enrolled}
            for kind, (text, rowset) in statements.items():
                sql, names = compile_for(text)
                statement = await conn.prepare(sql)
                samples = []
                for _ in range(requests):
                    params = rowset.params(False, _floor_rows(cls, rnd, kind, ids))
                    params |= guard(kind, teacher)
                    t0 = time.perf_counter()
                    async with conn.transaction():
                        await statement.fetch(*[params[n] for n in names])
                    samples.append((time.perf_counter() - t0) * 1000)
                out[kind] = summary(samples)
        finally:
            await conn.close()

    asyncio.run(run())
    return out


# --- one backend -------------------------------------------------------------------------------


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    base_env.update(
        HOMEROOM_VAR_DIR=str(OUT / "var"),
        HOMEROOM_SECRET_KEY=reads.SECRET_KEY,
        HOMEROOM_LOG_LEVEL="warning",
    )
    if backend == "sqlite":
        url = reads.sqlite_dataset(args.students, base_env)
    else:
        url = reads.postgres_dataset(args.pg_url, args.students, False, base_env)
    env = {**base_env, "HOMEROOM_DATABASE_URL": url}
    port = free_port()
    server = Server(
        f"writes-{backend}",
        [str(reads.HOMEROOM), "serve", "--workers", "1", "--port", str(port)],
        env,
        port,
        "/healthz",
    )
    rnd = random.Random(args.seed)
    try:
        server.start()
        server.wait_ready()
        client = Client(port)
        picked = classes(client, args.rows, 4)
        log(f"  {backend}: {len(picked)} classes of {args.rows} students")
        samples: dict[str, list[float]] = {"attendance": [], "grades": []}
        for i in range(args.requests + args.warmup):
            cls = picked[i % len(picked)]
            attendance, grades = bodies(cls, rnd)
            for kind, path, body in (
                ("attendance", "/attendance/bulk", attendance),
                ("grades", "/grades/bulk", grades),
            ):
                t0 = time.perf_counter()
                client.call("POST", API + path, cls["token"], body)
                if i >= args.warmup:
                    samples[kind].append((time.perf_counter() - t0) * 1000)
    finally:
        server.stop()
    floors = floor(backend, url, picked[0], args.requests, rnd)
    return {"api": {k: summary(v) for k, v in samples.items()}, "floor": floors}


def table(results: dict[str, Any], rows: int) -> list[str]:
    lines = [
        f"| backend | {rows}-row bulk write | median ms | p95 ms | max ms "
        "| floor median ms (the upsert alone, raw driver) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for backend, r in results.items():
        for kind in ("attendance", "grades"):
            api, low = r["api"][kind], r["floor"][kind]
            lines.append(
                f"| {backend} | {kind} | {api['median']:.2f} | {api['p95']:.2f} | "
                f"{api['max']:.1f} | {low['median']:.2f} |"
            )
    return lines


def verdicts(results: dict[str, Any]) -> list[str]:
    lines = []
    for backend, r in results.items():
        parts = []
        met = True
        for kind in ("attendance", "grades"):
            median = r["api"][kind]["median"]
            ok = median < TARGET_MS
            met &= ok
            parts.append(f"{kind} bulk median {median:.2f} ms ({'ok' if ok else 'NOT < 5 ms'})")
        lines.append(f"writes {backend}: {', '.join(parts)}; target {'MET' if met else 'MISSED'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per kind")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    parser.add_argument("--rows", type=int, default=40, help="students per bulk write")
    parser.add_argument("--students", type=int, default=50_000, help="dataset size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("HOMEROOM_BENCH_DATABASE_URL", reads.DEFAULT_PG_URL),
        help="PostgreSQL database dedicated to benchmarks (env HOMEROOM_BENCH_DATABASE_URL)",
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if not 1 <= args.requests <= 5000 or not 1 <= args.rows <= 500:
        sys.exit("keep runs bounded: --requests 1..5000, --rows 1..500")
    started = datetime.now(UTC)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = {b: bench_backend(b, args) for b in backends}
    lines = table(results, args.rows)
    print()
    print(f"writes benchmark, {started:%Y-%m-%d %H:%M} UTC, {machine()}")
    print(f"{args.requests} timed requests per kind, one at a time, `homeroom serve --workers 1`")
    print("\n".join(lines))
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(
                "\n".join(
                    [
                        "",
                        f"## writes, {started:%Y-%m-%d %H:%M} UTC, {', '.join(backends)}",
                        "",
                        f"- machine: {machine()}",
                        f"- revision: {reads.git_revision()}",
                        f"- {args.requests} timed {args.rows}-row bulk writes per kind, "
                        "one at a time",
                        "",
                        *lines,
                        "",
                        *(f"- {v}" for v in verdicts(results)),
                        "",
                    ]
                )
            )
    print("\n".join(verdicts(results)))


if __name__ == "__main__":
    main()
