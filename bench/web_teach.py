"""The teacher's web pages on the district dataset: server time of each page and form.

    .venv/bin/python bench/web_teach.py [--calls 100] [--source bench/out/students-50000.db]

In this process, through the whole application (lifespan, middleware, sessions), called
with httpx's ASGI transport (no socket): each figure is one request, from the call to the
last byte, so it is the server's own cost plus a few microseconds of client. teacher1 signs
in once through the sign-in form. Writes go to a COPY of the district database
(`bench/out/web-teach-district.db`, made once with SQLite's backup API; the source is only
read) and alternate between two states, so the copy ends as it began.

Measured (median and p95 of `--calls` calls): my sections, a roster, the attendance chooser,
a section's attendance of the last school day, its gradebook; saving that day's attendance
(one bulk write) and one changed score of the gradebook. Target: each < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

import district

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from homeroom.app import create_app  # noqa: E402
from homeroom.config import Settings  # noqa: E402
from homeroom.kit.migrate import upgrade  # noqa: E402

OUT = ROOT / "bench" / "out"
COPY = OUT / "web-teach-district.db"
TARGET_MS = 50.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def copy_of(source: Path) -> Path:
    if not COPY.exists():
        log(f"copying {source.name} to {COPY.name} (once) ...")
        tmp = COPY.with_name(COPY.name + ".building")
        with (
            sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
            sqlite3.connect(tmp) as dst,
        ):
            src.backup(dst)
        tmp.rename(COPY)
    return COPY


def _bound(get: Callable[[str], Awaitable[float]], url: str) -> Callable[[], Awaitable[float]]:
    async def call() -> float:
        return await get(url)

    return call


async def timed(call: Callable[[], Awaitable[float]], calls: int) -> tuple[float, float]:
    for _ in range(3):  # warm: compiled statements, caches
        await call()
    samples = sorted([await call() for _ in range(calls)])
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95) - 1] * 1000


async def run(source: Path, calls: int) -> dict[str, tuple[float, float]]:
    path = copy_of(source)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", var_dir=OUT / "web-teach-var")
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    figures: dict[str, tuple[float, float]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            page = await client.get("/")
            form = {"csrf_token": CSRF.findall(page.text)[0]}
            form |= {"email": "teacher1@example.edu", "password": "bench"}
            assert (await client.post("/", data=form)).status_code == 303

            async def get(url: str) -> float:
                started = time.perf_counter()
                r = await client.get(url)
                elapsed = time.perf_counter() - started
                assert r.status_code == 200, (url, r.status_code, r.text[:300])
                return elapsed

            sections = await client.get("/sections")
            sid = int(re.findall(r'href="/sections/(\d+)"', sections.text)[0])
            async with app.state.db.engine.connect() as conn:
                day = (
                    await conn.exec_driver_sql("SELECT max(date) FROM attendance_sessions")
                ).scalar()
            sheet_url = f"/sections/{sid}/attendance?date={day}"
            sheet = await client.get(sheet_url)
            students = re.findall(r'name="status-(\d+)" value="(\w+)" checked', sheet.text)
            book_url = f"/sections/{sid}/gradebook"
            book = await client.get(book_url)
            cells = re.findall(r'name="(s\d+-a\d+)" type="number"[^>]* value="([^"]*)"', book.text)
            log(f"section {sid}: {len(students)} students, {len(cells)} gradebook cells, {day}")
            for name, url in (
                ("my sections", "/sections"),
                ("roster", f"/sections/{sid}"),
                ("attendance chooser", "/attendance"),
                ("attendance of a day", sheet_url),
                ("gradebook", book_url),
            ):
                figures[name] = await timed(_bound(get, url), calls)

            toggle = {"n": 0}

            async def save_attendance() -> float:
                toggle["n"] += 1
                data = {"csrf_token": CSRF.findall(sheet.text)[0], "date": str(day)}
                for i, (student, status) in enumerate(students):
                    flip = i == 0 and toggle["n"] % 2
                    data[f"status-{student}"] = "late" if flip else status
                    data[f"note-{student}"] = ""
                started = time.perf_counter()
                r = await client.post(f"/sections/{sid}/attendance", data=data)
                elapsed = time.perf_counter() - started
                assert r.status_code == 303, r.text[:300]
                return elapsed

            figures["save attendance (bulk)"] = await timed(save_attendance, calls)

            async def save_score() -> float:
                page = await client.get(book_url)
                seen = html.unescape(re.findall(r'name="seen" value="([^"]*)"', page.text)[0])
                name, value = next((n, v) for n, v in cells if v and float(v) >= 1)
                toggle["n"] += 1
                score = float(value) - 1 if toggle["n"] % 2 else float(value)
                data = {"csrf_token": CSRF.findall(page.text)[0], "seen": seen, name: f"{score:g}"}
                started = time.perf_counter()
                r = await client.post(book_url, data=data)
                elapsed = time.perf_counter() - started
                assert r.status_code == 303, r.text[:500]
                return elapsed

            figures["save a score (gradebook)"] = await timed(save_score, calls)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--source", type=Path, default=None)
    args = parser.parse_args()
    source = args.source or district.district_path()
    figures = asyncio.run(run(source, args.calls))
    print(f"{'page':<28} {'median ms':>10} {'p95 ms':>8}")
    for name, (median, p95) in figures.items():
        verdict = "ok" if p95 < TARGET_MS else "OVER"
        print(f"{name:<28} {median:>10.2f} {p95:>8.2f}  {verdict} (< {TARGET_MS:g} ms)")


if __name__ == "__main__":
    main()
