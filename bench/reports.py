"""Report cards on the district dataset: one student's PDF, and a 30-student section zip.

    .venv/bin/python bench/reports.py [--source bench/out/students-50000.db] [--samples 30]
                                      [--zips 3] [--record]

Everything runs in this process, through the whole application (httpx ASGI transport, the
app's lifespan with its in-process job runner and process pool), on a COPY of the district
database (`bench/out/reports-district.db`, made once with SQLite's backup API and reused; the
source is only read). In the copy, one section is cut down to exactly 30 enrolled students
(the others marked dropped), so the zip job covers 30 report cards.

Measured, each beside its reference in the same run:
- `GET /students/{id}/report-card` (PDF) over `--samples` different students (their rows read
  once beforehand, so every target meets a warm page cache), against the
  floor for the same document: the service's SQL and assembly called directly plus the PDF
  rendered inline in this process (no HTTP, no process pool). Also the JSON form (no
  rendering) and a 304 revalidation (the ETag comes from the data: no rendering either).
- `POST /report-cards {"section_id"}` until the job succeeded, zip downloaded and checked
  (30 PDFs), `--zips` times, against 30 report cards made one after another by the floor.
The ratios (Homeroom / floor; 1.0 would be no overhead at all) are printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

import district

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from homeroom.app import create_app  # noqa: E402
from homeroom.config import Settings  # noqa: E402
from homeroom.kit.db import Database  # noqa: E402
from homeroom.kit.security import AccessClaims  # noqa: E402
from homeroom.reports import render  # noqa: E402
from homeroom.reports import service as report_service  # noqa: E402

OUT = ROOT / "bench" / "out"
COPY = OUT / "reports-district.db"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION_SIZE = 30
PASSWORD = "bench"  # noqa: S105 (the seeded dataset's documented demo password)


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


def prepare_section() -> int:
    """The id of a section cut down to SECTION_SIZE enrolled students."""
    conn = sqlite3.connect(COPY)
    try:
        section_id = conn.execute("SELECT min(id) FROM sections").fetchone()[0]
        keep = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM enrollments WHERE section_id = ? ORDER BY student_id LIMIT ?",
                (section_id, SECTION_SIZE),
            )
        ]
        with conn:
            conn.execute(
                f"UPDATE enrollments SET status = CASE WHEN id IN ({','.join('?' * len(keep))}) "
                "THEN 'enrolled' ELSE 'dropped' END WHERE section_id = ?",
                (*keep, section_id),
            )
        return int(section_id)
    finally:
        conn.close()


def sample_students(count: int) -> list[int]:
    conn = sqlite3.connect(f"file:{COPY}?mode=ro", uri=True)
    try:
        total = conn.execute("SELECT max(id) FROM students").fetchone()[0]
        step = max(1, total // count)
        return [1 + i * step for i in range(count)]
    finally:
        conn.close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p90": p90, "n": len(ordered)}


async def floor_card(db: Database, admin: AccessClaims, student_id: int) -> tuple[float, float]:
    """(SQL + assembly, inline render) seconds for one report card, no HTTP, no pool."""
    started = time.perf_counter()
    card = await report_service.report_card(db, admin, student_id, None)
    built = time.perf_counter()
    render.report_card_pdf(card)
    return built - started, time.perf_counter() - built


async def run(args: argparse.Namespace) -> dict[str, Any]:
    make_copy(Path(args.source))
    section_id = prepare_section()
    students = sample_students(args.samples)
    var = Path(tempfile.mkdtemp(prefix="homeroom-bench-reports-"))
    settings = Settings(database_url=f"sqlite+aiosqlite:///{COPY}", var_dir=var)
    app = create_app(settings)
    figures: dict[str, Any] = {"section_id": section_id, "section_size": SECTION_SIZE}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            r = await client.post(
                "/api/v1/auth/login", json={"email": "admin@example.edu", "password": PASSWORD}
            )
            r.raise_for_status()
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            me = (await client.get("/api/v1/auth/me", headers=headers)).json()
            admin = AccessClaims(me["id"], me["role"], me["school_id"], None)
            db = app.state.db

            # warm-up: the pool's process starts and imports reportlab; queries compile; every
            # sampled student's rows are read once, so each target below meets the same
            # (warm) page cache
            for sid in students[:2]:
                r = await client.get(f"/api/v1/students/{sid}/report-card", headers=headers)
                r.raise_for_status()
            for sid in students:
                await floor_card(db, admin, sid)

            pdf, as_json, revalidate, sql, inline = [], [], [], [], []
            sizes = []
            for sid in students:
                url = f"/api/v1/students/{sid}/report-card"
                started = time.perf_counter()
                r = await client.get(url, headers=headers)
                pdf.append(time.perf_counter() - started)
                assert r.status_code == 200 and r.content.startswith(b"%PDF-"), r.text
                sizes.append(len(r.content))
                etag = r.headers["etag"]
                started = time.perf_counter()
                again = await client.get(url, headers={**headers, "If-None-Match": etag})
                revalidate.append(time.perf_counter() - started)
                assert again.status_code == 304
                started = time.perf_counter()
                r = await client.get(url + "?format=json", headers=headers)
                as_json.append(time.perf_counter() - started)
                assert r.status_code == 200
                q, rendered = await floor_card(db, admin, sid)
                sql.append(q)
                inline.append(rendered)
            figures["card"] = {
                "pdf": summary(pdf),
                "json": summary(as_json),
                "304": summary(revalidate),
                "floor_sql": summary(sql),
                "floor_render": summary(inline),
                "floor": summary([a + b for a, b in zip(sql, inline, strict=True)]),
                "bytes": statistics.median(sizes),
            }

            zips, floors = [], []
            roster = [
                r[0]
                for r in sqlite3.connect(f"file:{COPY}?mode=ro", uri=True).execute(
                    "SELECT student_id FROM enrollments WHERE section_id = ? "
                    "AND status != 'dropped' ORDER BY student_id",
                    (section_id,),
                )
            ]
            assert len(roster) == SECTION_SIZE
            for _ in range(args.zips):
                started = time.perf_counter()
                r = await client.post(
                    "/api/v1/report-cards", json={"section_id": section_id}, headers=headers
                )
                assert r.status_code == 202, r.text
                job_id = r.json()["id"]
                while True:
                    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
                    if job["status"] in ("succeeded", "failed"):
                        break
                    await asyncio.sleep(0.01)
                finished = time.perf_counter() - started
                assert job["status"] == "succeeded", job
                r = await client.get(job["download_url"], headers=headers)
                archive = zipfile.ZipFile(io.BytesIO(r.content))
                assert len(archive.namelist()) == SECTION_SIZE
                zips.append(finished)
                started = time.perf_counter()
                for sid in roster:
                    await floor_card(db, admin, sid)
                floors.append(time.perf_counter() - started)
            figures["zip"] = {
                "job": summary(zips),
                "floor": summary(floors),
                "bytes": len(r.content),
            }
    return figures


def lines(figures: dict[str, Any]) -> list[str]:
    card, zipped = figures["card"], figures["zip"]
    n = SECTION_SIZE
    return [
        "| target | median ms | p90 ms | samples |",
        "|---|---:|---:|---:|",
        f"| report card PDF, GET (HTTP in-process, pool render) | {ms(card['pdf']['median'])} "
        f"| {ms(card['pdf']['p90'])} | {card['pdf']['n']} |",
        f"| report card JSON, GET | {ms(card['json']['median'])} | {ms(card['json']['p90'])} "
        f"| {card['json']['n']} |",
        f"| report card 304 (If-None-Match) | {ms(card['304']['median'])} "
        f"| {ms(card['304']['p90'])} | {card['304']['n']} |",
        f"| floor: service SQL + assembly | {ms(card['floor_sql']['median'])} "
        f"| {ms(card['floor_sql']['p90'])} | {card['floor_sql']['n']} |",
        f"| floor: render inline | {ms(card['floor_render']['median'])} "
        f"| {ms(card['floor_render']['p90'])} | {card['floor_render']['n']} |",
        f"| {n}-student section zip, POST to succeeded | {ms(zipped['job']['median'])} "
        f"| {ms(zipped['job']['p90'])} | {zipped['job']['n']} |",
        f"| floor: {n} report cards one after another | {ms(zipped['floor']['median'])} "
        f"| {ms(zipped['floor']['p90'])} | {zipped['floor']['n']} |",
        "",
        f"- PDF size: {card['bytes'] / 1024:.1f} KB per report card, zip of {n}: "
        f"{zipped['bytes'] / 1024:.0f} KB",
        f"- ratio report card PDF / floor: {card['pdf']['median'] / card['floor']['median']:.2f}",
        f"- ratio {n}-student zip job / floor: "
        f"{zipped['job']['median'] / zipped['floor']['median']:.2f} "
        f"({n / zipped['job']['median']:.0f} report cards/s)",
    ]


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"nproc {os.cpu_count()}, {model}"


def git_revision() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def record(body: list[str], args: argparse.Namespace, started: datetime) -> None:
    section = [
        "",
        f"## reports, {started:%Y-%m-%d %H:%M} UTC, sqlite",
        "",
        f"- machine: {machine()}",
        f"- dataset: a copy of `{args.source}` (50,000 students); one section cut to "
        f"{SECTION_SIZE} students",
        "- in-process (httpx ASGI transport), the app's in-process job runner and process pool",
        f"- revision: {git_revision()}",
        f"- command: `.venv/bin/python bench/reports.py --samples {args.samples} --zips "
        f"{args.zips} --record`",
        "",
        *body,
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(section))
    log(f"recorded in {RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=None)
    parser.add_argument("--samples", type=int, default=30, help="students (1-500)")
    parser.add_argument("--zips", type=int, default=3, help="zip jobs (1-10)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    args.source = args.source or district.district_path()
    if not 1 <= args.samples <= 500 or not 1 <= args.zips <= 10:
        parser.error("--samples 1-500, --zips 1-10")
    started = datetime.now(UTC)
    body = lines(asyncio.run(run(args)))
    print("\n".join(body))
    if args.record:
        record(body, args, started)


if __name__ == "__main__":
    main()
