"""`GET /api/v1/users`, the first page, on the district (104,820 logins), in process.

    .venv/bin/python bench/users.py [--backend sqlite|postgresql|both] [--calls 200]
                                    [--database PATH] [--pg-url postgresql+asyncpg://...]
                                    [--record]

Through the whole application as ASGI calls (bench/analytics.py's Caller: no client, no
socket), as the district's administrator, `--calls` calls per target (median and p95):
- **first page**: `GET /users?limit=50`, the same request again and again (the listing's
  `total` counts every login of the school);
- **first page after a write**: before each call, `PATCH /users/{id}` toggles `is_active` of
  one teacher login (alternately false and true: the data ends as it began); the read is
  `GET /users?limit=50&is_active=true` and its `total` must follow the write (checked);
  only the read is timed;
- the listing's statements alone on the raw reader: the page query, and the COUNT.

SQLite: a COPY of the district (`--database`, default `bench/out/users-district.db`, made once
with SQLite's backup API; the source is only read). PostgreSQL: `--pg-url` (default env
`HOMEROOM_BENCH_USERS_DATABASE_URL`, else `.../users_bench`), which must be a COPY of the
district (`createdb -T homeroom_bench users_bench` while nobody is connected to it): the
PATCHes write to it. Nothing is migrated here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import district
from analytics import Caller, login, machine, make_copy, ms, revision, timed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import analytics  # noqa: E402
from homeroom.app import create_app  # noqa: E402
from homeroom.config import Settings  # noqa: E402
from homeroom.kit.db import Database  # noqa: E402
from homeroom.kit.pagination import PagePlan  # noqa: E402
from homeroom.users import repository as user_repository  # noqa: E402

OUT = ROOT / "bench" / "out"
COPY = OUT / "users-district.db"
RESULTS = ROOT / "bench" / "RESULTS.md"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/users_bench"
MAX_CALLS = 2000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_backend(backend: str, url: str, calls: int) -> dict[str, Any]:
    settings = Settings(database_url=url, var_dir=OUT / "users-var")
    app = create_app(settings)
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        db: Database = app.state.db
        caller = Caller(app)
        admin = await login(caller, "admin@example.edu")
        first, _ = await caller.get("/api/v1/users?limit=50", admin)
        log(f"[{backend}] {first['total']:,} logins in the admin's school")
        teachers, _ = await caller.get("/api/v1/users?role=teacher&limit=1&sort=-id", admin)
        target = teachers["items"][0]["id"]
        active, _ = await caller.get("/api/v1/users?limit=50&is_active=true", admin)
        state = {"active": True, "total": active["total"]}

        async def first_page() -> float:
            return (await caller.get("/api/v1/users?limit=50", admin))[1]

        async def after_write() -> float:
            state["active"] = not state["active"]
            status, body, _ = await caller.request(
                "PATCH",
                f"/api/v1/users/{target}",
                admin,
                b'{"is_active": %s}' % (b"true" if state["active"] else b"false"),
            )
            if status != 200:
                raise SystemExit(f"PATCH /users/{target}: {status} {body[:300]!r}")
            page, seconds = await caller.get("/api/v1/users?limit=50&is_active=true", admin)
            expected = state["total"] - (0 if state["active"] else 1)
            if page["total"] != expected:
                raise SystemExit(f"total {page['total']} after the write, expected {expected}")
            return seconds

        scope = {"scope_school": 1, "scope_profile": 0}
        plan = PagePlan("email", False, None, 50, 0)

        async def page_sql() -> float:
            query = user_repository._page(db, "school", (), plan.shape)
            started = time.perf_counter()
            await db.reader.all(query, {**scope, **plan.params()})
            return time.perf_counter() - started

        async def count_sql() -> float:
            query = user_repository._count(db, "school", ())
            started = time.perf_counter()
            await db.reader.scalar(query, scope)
            return time.perf_counter() - started

        log(f"[{backend}] measuring, {calls} calls per target ...")
        results["first page (GET /users?limit=50)"] = await timed(calls, first_page)
        results["first page after a write (is_active=true)"] = await timed(
            max(10, calls // 10) // 2 * 2, after_write
        )
        if state["active"] is False:  # the warm-up count is odd: put the login back
            await after_write()
        results["page statement alone"] = await timed(calls, page_sql)
        results["COUNT statement alone"] = await timed(max(10, calls // 4), count_sql)
        results["logins"] = first["total"]
    return results


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| backend | target | median ms | p95 ms | calls |", "|---|---|---:|---:|---:|"]
    for backend, r in results.items():
        for name, s in r.items():
            if isinstance(s, dict):
                lines.append(
                    f"| {backend} | {name} | {ms(s['median'])} | {ms(s['p95'])} | {s['n']} |"
                )
    return lines


def verdicts(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for backend, r in results.items():
        page = r["first page (GET /users?limit=50)"]["median"]
        written = r["first page after a write (is_active=true)"]["median"]
        count = r["COUNT statement alone"]["median"]
        lines.append(
            f"- {backend}: first page of {r['logins']:,} logins {ms(page)} ms median, "
            f"after a write {ms(written)} ms; the COUNT alone {ms(count)} ms"
        )
    return lines


def record(results: dict[str, dict[str, Any]], calls: int) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## users list, {now}, {', '.join(results)}",
        "",
        f"- machine: {machine()}",
        "- dataset: the district (104,820 logins); SQLite a copy, PostgreSQL a copy "
        "(`createdb -T homeroom_bench`)",
        f"- in process, ASGI calls from one client, {calls} calls per target",
        f"- revision: {revision()}",
        "",
        *table(results),
        "",
        *verdicts(results),
        "",
    ]
    with RESULTS.open("a") as f:
        f.write("\n".join(lines))
    log(f"appended to {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--database", type=Path, default=COPY, help="SQLite copy to use")
    parser.add_argument(
        "--pg-url", default=os.environ.get("HOMEROOM_BENCH_USERS_DATABASE_URL", DEFAULT_PG)
    )
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    calls = max(10, min(args.calls, MAX_CALLS))
    results: dict[str, dict[str, Any]] = {}
    if args.backend in ("sqlite", "both"):
        if args.database == COPY:
            analytics.COPY = COPY
            make_copy(district.district_path())
        url = f"sqlite+aiosqlite:///{args.database}"
        results["sqlite"] = asyncio.run(run_backend("sqlite", url, calls))
    if args.backend in ("postgresql", "both"):
        results["postgresql"] = asyncio.run(run_backend("postgresql", args.pg_url, calls))
    if args.record:
        record(results, calls)
    print("\n".join(table(results)))
    print()
    print("\n".join(verdicts(results)))


if __name__ == "__main__":
    main()
