"""`export` benchmark: streamed student exports through a live `homeroom serve`, and the XLSX
writers on the same rows in-process.

One command, bounded (about two minutes):

    .venv/bin/python bench/exports.py [--database bench/out/students-50000.db] [--rounds 3]
                                      [--writers-python /tmp/xlsxbench/bin/python] [--record]

1. copies the `district` SQLite dataset (50,000 students; read-only at its place) to
   bench/out/exports/ once, and serves it with `homeroom serve --workers 1` (one worker: the
   process that streams the export is the one measured);
2. logs in as the seeded admin and, after one unmeasured warm-up of each format, downloads
   `GET /api/v1/export/students/{csv,excel}` for 10,000 students (`q=S00`: student numbers
   S000001-S009999, a filtered list) and for all 50,000, `--rounds` times each, measuring:
   time to the first body byte, total time, the peak RSS growth of the server's process tree
   (sampled every 10 ms; the tree includes the CPU pool process that renders XLSX rows) and
   the latency of GET /healthz sent every 20 ms during the download (how much the export holds
   the worker's event loop). CSV is also fetched as a browser does (Accept-Encoding: br);
3. the reference beside it, right before each download: the same SELECT through sqlite3 in
   this process, rows only (the floor for any export of those rows);
4. the XLSX writers in-process on the same 50,000 rows (held in memory, so the figures are
   writing only), each in its own process under `--writers-python` (a throwaway venv holding
   xlsxwriter and the Rust-backed writers: rustpy-xlsxwriter, rvgsrust-xlsxwriter, jetxl,
   fastxlsx; those not installed there are skipped) and Homeroom's own encoders;
5. prints the tables, then LAST the figures against the targets (50k CSV < 0.5 s, XLSX
   < 1.5 s, RSS growth < 50 MB, first byte < 100 ms) and the writer ratios. --record appends
   them to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import district

if TYPE_CHECKING:  # write_with imports homeroom from src/ when it runs
    from homeroom.exports.writers import Kind

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out" / "exports"
RESULTS = BENCH / "RESULTS.md"
BIN = Path(sys.executable).parent
DISTRICT = district.PATH
# The throwaway venv of the writer comparison (python3 -m venv /tmp/xlsxbench; see bench/README.md).
WRITERS_PYTHON = Path("/tmp/xlsxbench/bin/python")  # noqa: S108
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
ADMIN = ("admin@example.edu", "bench")

TARGETS = {"csv_s": 0.5, "xlsx_s": 1.5, "rss_mb": 50.0, "first_byte_ms": 100.0}
SIZES = {"10k": "q=S00", "50k": ""}
FORMATS = {"csv": "csv", "csv+br": "csv", "xlsx": "excel"}
STUDENT_SQL = (
    "SELECT id, school_id, user_id, student_number, first_name, last_name, email, "
    "date_of_birth, grade_level, status, archived_at, created_at, updated_at FROM students "
    "WHERE archived_at IS NULL {where} ORDER BY last_name, id"
)
KINDS: list[tuple[str, Kind]] = [
    ("id", "int"),
    ("school_id", "int"),
    ("user_id", "int"),
    ("student_number", "text"),
    ("first_name", "text"),
    ("last_name", "text"),
    ("email", "text"),
    ("date_of_birth", "date"),
    ("grade_level", "int"),
    ("status", "text"),
    ("archived_at", "datetime"),
    ("created_at", "datetime"),
    ("updated_at", "datetime"),
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the server --------------------------------------------------------------------------------


def dataset(source: Path) -> Path:
    """A private copy of the dataset (serving migrates and writes WAL files next to it)."""
    OUT.mkdir(parents=True, exist_ok=True)
    copy = OUT / "district.db"
    stamp = OUT / "district.source"
    signature = f"{source.resolve()} {source.stat().st_size} {source.stat().st_mtime_ns}"
    if not copy.exists() or not stamp.exists() or stamp.read_text() != signature:
        log(f"copying {source} to {copy} ...")
        for leftover in OUT.glob("district.db*"):
            leftover.unlink()
        tmp = OUT / "district.db.tmp"
        shutil.copyfile(source, tmp)
        tmp.rename(copy)
        stamp.write_text(signature)
    return copy


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def tree_rss_mb(root: int, pids: list[int] | None = None) -> float:
    """RSS of the process tree under `root` (or of `pids`, found once: walking /proc on
    every sample would cost the machine more than the export)."""
    total = 0
    for pid in pids if pids is not None else _tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


@dataclass
class Server:
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        logs = OUT / "server.log"
        with logs.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "homeroom"), "serve", "--workers", "1", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"homeroom serve exited; see {logs}")
            try:
                status, _, _ = request(self.port, "GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("homeroom serve not ready after 120 s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, 15)  # its own session: the server, its worker, the CPU pool
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=5)


def request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(
            method, path, body=data, headers={"Content-Type": "application/json"} | (headers or {})
        )
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


# --- one download ------------------------------------------------------------------------------


@dataclass
class Download:
    size: str
    fmt: str
    rows: int
    bytes: int
    first_byte_ms: float
    first_row_ms: float | None  # plain CSV: the first data line, not just the header
    total_s: float
    rss_growth_mb: float
    healthz_max_ms: float
    healthz_p50_ms: float
    raw_s: float = 0.0  # the reference, measured right before this download


class Sampler(threading.Thread):
    """Samples the server tree's RSS every 10 ms, and GET /healthz's latency every 20 ms."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stop_event = threading.Event()
        self.peak_mb = 0.0
        self.healthz_ms: list[float] = []

    def run(self) -> None:
        assert self.server.proc is not None
        pid = self.server.proc.pid
        pids = _tree(pid)
        next_ping = 0.0
        while not self.stop_event.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb(pid, pids))
            now = time.perf_counter()
            if now >= next_ping:
                request(self.server.port, "GET", "/healthz")
                self.healthz_ms.append((time.perf_counter() - now) * 1000)
                next_ping = now + 0.02
            time.sleep(0.01)


def download(server: Server, token: str, size: str, fmt: str, database: Path) -> Download:
    assert server.proc is not None
    _, raw_s = raw_fetch(database, size)
    query = SIZES[size]
    path = f"/api/v1/export/students/{FORMATS[fmt]}" + (f"?{query}" if query else "")
    headers = {"Authorization": f"Bearer {token}"}
    if fmt == "csv+br":
        headers["Accept-Encoding"] = "br"
    baseline = tree_rss_mb(server.proc.pid)
    sampler = Sampler(server)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    first = response.read1(65536) if response.status == 200 else response.read()
    first_byte = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {first[:300]!r}")
    body = [first]
    first_row = None
    while True:
        if first_row is None and fmt == "csv" and b"".join(body).count(b"\r\n") >= 2:
            first_row = time.perf_counter() - started
        chunk = response.read1(1 << 20)
        if not chunk:
            break
        body.append(chunk)
    total = time.perf_counter() - started
    conn.close()
    sampler.stop_event.set()
    sampler.join()
    data = b"".join(body)
    return Download(
        size=size,
        fmt=fmt,
        rows=_rows(data, fmt),
        bytes=len(data),
        first_byte_ms=first_byte * 1000,
        first_row_ms=None if first_row is None else first_row * 1000,
        total_s=total,
        rss_growth_mb=max(0.0, sampler.peak_mb - baseline),
        healthz_max_ms=max(sampler.healthz_ms, default=0.0),
        healthz_p50_ms=statistics.median(sampler.healthz_ms) if sampler.healthz_ms else 0.0,
        raw_s=raw_s,
    )


def _rows(data: bytes, fmt: str) -> int:
    if fmt == "csv":
        return data.count(b"\r\n") - 1
    if fmt == "csv+br":
        import brotli

        return int(brotli.decompress(data).count(b"\r\n")) - 1
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("xl/worksheets/sheet1.xml").count(b"<row>") - 1


def reference_query(database: Path, size: str) -> tuple[str, list[Any]]:
    """The export's own SQL and parameters (compiled by the students repository), as the
    seeded admin of school 1 runs it: the reference does exactly the database's part."""
    from homeroom.config import Settings
    from homeroom.kit.db import Database
    from homeroom.kit.pagination import like_pattern
    from homeroom.students import repository
    from homeroom.students.schemas import StudentFilters

    db = Database(Settings(database_url=f"sqlite+aiosqlite:///{database}", secret_key=SECRET_KEY))
    query_string = SIZES[size]
    q = query_string.split("=", 1)[1] if query_string else None
    query, params = repository.export_query(
        db, "school", StudentFilters(q=q), "last_name", desc=False
    )
    assert params.get("q") == (like_pattern(q) if q else None)
    return query.sql, query.positional({"scope_school": 1, "scope_profile": 0, **params})


def raw_fetch(database: Path, size: str) -> tuple[int, float]:
    """The reference: the same rows through sqlite3 in this process (fetch only)."""
    sql, params = reference_query(database, size)
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    started = time.perf_counter()
    n = 0
    cursor = conn.execute(sql, params)
    while batch := cursor.fetchmany(1000):
        n += len(batch)
    elapsed = time.perf_counter() - started
    conn.close()
    return n, elapsed


# --- the writers, in-process -------------------------------------------------------------------

WRITERS = [
    "homeroom-csv",
    "homeroom-xlsx",
    "xlsxwriter-write",
    "xlsxwriter-write_row",
    "xlsxwriter-typed",
    "rustpy-xlsxwriter",
    "rvgsrust-xlsxwriter",
    "jetxl",
    "fastxlsx",
]


def write_with(name: str, rows: list[tuple[Any, ...]], path: str) -> None:
    """Writes `rows` (with a header) to `path` with the writer `name`."""
    header = [n for n, _ in KINDS]
    if name.startswith("homeroom"):
        sys.path.insert(0, str(ROOT / "src"))
        from homeroom.exports.writers import Column, CsvEncoder, XlsxEncoder

        columns = [Column(n, k) for n, k in KINDS]
        encoder = CsvEncoder(columns) if name == "homeroom-csv" else XlsxEncoder(columns, "S")
        with open(path, "wb") as out:
            out.write(encoder.start())
            for i in range(0, len(rows), 1000):
                out.write(encoder.rows(rows[i : i + 1000]))
            out.write(encoder.finish())
    elif name.startswith("xlsxwriter"):
        import xlsxwriter

        book = xlsxwriter.Workbook(path, {"constant_memory": True})
        sheet = book.add_worksheet("S")
        sheet.write_row(0, 0, header)
        if name == "xlsxwriter-write":
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    sheet.write(r, c, value)
        elif name == "xlsxwriter-write_row":
            for r, row in enumerate(rows, start=1):
                sheet.write_row(r, 0, row)
        else:  # the cheapest calls: no type dispatch, nothing for empty cells
            write_string, write_number = sheet.write_string, sheet.write_number
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    if value is None:
                        continue
                    if type(value) is int:
                        write_number(r, c, value)
                    else:
                        write_string(r, c, value)
        book.close()
    elif name == "rustpy-xlsxwriter":
        from rustpy_xlsxwriter import FastExcel

        FastExcel(path).sheet("S", (dict(zip(header, row, strict=True)) for row in rows)).save()
    elif name == "rvgsrust-xlsxwriter":
        import rvgsrust_xlsxwriter

        book = rvgsrust_xlsxwriter.Workbook(path)
        sheet = book.add_worksheet("S", constant_memory=True)
        sheet.write_row(0, 0, header)
        for r, row in enumerate(rows, start=1):
            sheet.write_row(r, 0, list(row))
        book.close()
    elif name == "jetxl":
        import jetxl

        by_header: dict[str, list[Any]] = {h: [] for h in header}
        for row in rows:
            for h, value in zip(header, row, strict=True):
                by_header[h].append(value)
        jetxl.write_sheet(by_header, path, sheet_name="S")
    elif name == "fastxlsx":
        import fastxlsx

        book = fastxlsx.WriteOnlyWorkbook()
        sheet = book.create_sheet("S")
        sheet.write_row((0, 0), header)
        for r, row in enumerate(rows, start=1):
            sheet.write_row((r, 0), list(row))
        book.save(path)
    else:
        raise ValueError(name)


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    package = {"xlsxwriter": "xlsxwriter"}.get(name.split("-")[0], name)
    if name.startswith("homeroom"):
        return "this tree"
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def writer_child(name: str, database: str) -> None:
    """Runs in its own process (`--writer NAME`): prints one JSON line of figures."""
    import resource

    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    rows = conn.execute(STUDENT_SQL.format(where="")).fetchall()
    conn.close()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out")
        started = time.perf_counter()
        try:
            write_with(name, rows, path)
        except ImportError:
            print(json.dumps({"writer": name, "skipped": "not installed"}))
            return
        elapsed = time.perf_counter() - started
        size = os.path.getsize(path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "writer": name,
                "version": _version(name),
                "rows": len(rows),
                "seconds": elapsed,
                "mb": size / 1e6,
                "rss_growth_mb": (peak - before) / 1024,
            }
        )
    )


def writers(python: Path, database: Path, rounds: int) -> list[dict[str, Any]]:
    results = []
    for name in WRITERS:
        runs = []
        for _ in range(rounds):
            out = subprocess.run(
                [str(python), __file__, "--writer", name, "--database", str(database)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if out.returncode != 0:
                log(f"  {name}: failed: {out.stderr.strip().splitlines()[-1:]}")
                break
            result = json.loads(out.stdout.strip().splitlines()[-1])
            if "skipped" in result:
                log(f"  {name}: skipped ({result['skipped']} in {python})")
                break
            runs.append(result)
            log(f"  {name}: {result['seconds'] * 1000:.0f} ms")
        if runs:
            best = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
            results.append(best)
    return results


# --- report ------------------------------------------------------------------------------------


@dataclass
class Report:
    downloads: list[Download] = field(default_factory=list)
    cold_xlsx_s: float | None = None  # the worker's first XLSX: it starts the CPU pool
    writers: list[dict[str, Any]] = field(default_factory=list)


def median_download(runs: list[Download]) -> Download:
    return sorted(runs, key=lambda d: d.total_s)[len(runs) // 2]


def download_table(report: Report) -> list[str]:
    lines = [
        "| size | format | rows | bytes | first byte ms | first row ms | total s | "
        "RSS growth MB | /healthz p50 / max ms during it | total / raw fetch |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in report.downloads:
        lines.append(
            f"| {d.size} | {d.fmt} | {d.rows:,} | {d.bytes:,} | {d.first_byte_ms:.1f} | "
            f"{'-' if d.first_row_ms is None else f'{d.first_row_ms:.1f}'} | "
            f"{d.total_s:.3f} | {d.rss_growth_mb:.1f} | {d.healthz_p50_ms:.1f} / "
            f"{d.healthz_max_ms:.1f} | {d.total_s / d.raw_s:.1f} |"
        )
    return lines


def writer_table(report: Report) -> list[str]:
    lines = [
        "| writer | version | rows | ms | MB | RSS growth MB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for w in report.writers:
        lines.append(
            f"| {w['writer']} | {w['version']} | {w['rows']:,} | {w['seconds'] * 1000:.0f} | "
            f"{w['mb']:.1f} | {w['rss_growth_mb']:.1f} |"
        )
    return lines


def verdicts(report: Report) -> list[str]:
    lines = []
    big = {d.fmt: d for d in report.downloads if d.size == "50k"}

    def check(label: str, value: float, limit: float, unit: str) -> str:
        flag = "ok" if value < limit else "MISSED"
        return f"{label} {value:.3g} {unit} (target < {limit:g}: {flag})"

    if "csv" in big:
        lines.append(check("50k CSV total", big["csv"].total_s, TARGETS["csv_s"], "s"))
    if "xlsx" in big:
        lines.append(check("50k XLSX total", big["xlsx"].total_s, TARGETS["xlsx_s"], "s"))
    if big:
        rss = max(d.rss_growth_mb for d in big.values())
        first = max(d.first_byte_ms for d in report.downloads)
        lines.append(check("peak RSS growth (any 50k export)", rss, TARGETS["rss_mb"], "MB"))
        lines.append(check("first byte (slowest export)", first, TARGETS["first_byte_ms"], "ms"))
        lines.append(
            "50k total / raw sqlite3 fetch of the same rows (measured beside it): "
            + ", ".join(f"{fmt} {d.total_s / d.raw_s:.1f}x" for fmt, d in big.items())
        )
    if report.cold_xlsx_s is not None:
        lines.append(
            f"first XLSX export of a fresh worker (10k rows; starts the CPU pool process): "
            f"{report.cold_xlsx_s:.2f} s"
        )
    by_name = {w["writer"]: w["seconds"] for w in report.writers}
    ours = by_name.get("homeroom-xlsx")
    if ours:
        others = ", ".join(
            f"{name} {seconds / ours:.2f}x"
            for name, seconds in sorted(by_name.items(), key=lambda kv: kv[1])
            if name != "homeroom-xlsx"
        )
        lines.append(f"writers, time / homeroom-xlsx on 50k rows in-process: {others}")
        fastest = min(by_name.items(), key=lambda kv: kv[1] if kv[0] != "homeroom-csv" else 1e9)
        lines.append(
            f"XLSX writer chosen: homeroom-xlsx (fastest measured here: {fastest[0]}); it also "
            "streams (the first bytes leave before the last row is read; the others write a "
            "file that can only be sent once closed), holds no sheet in memory, renders "
            "batches in the CPU pool, and adds no dependency"
        )
    return lines


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"nproc {os.cpu_count()}, {model}"


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return rev + (" (src modified)" if dirty else "")


def record(report: Report, args: argparse.Namespace, started: datetime) -> None:
    section = [
        "",
        f"## exports, {started:%Y-%m-%d %H:%M} UTC, sqlite",
        "",
        f"- machine: {machine()}",
        f"- dataset: `district` ({args.database}, 50,000 students), copied",
        f"- server: `homeroom serve --workers 1` (granian); median of {args.rounds} download(s) "
        "after a warm-up; RSS of the server's process tree sampled every 10 ms",
        f"- writers: in-process on the same 50,000 rows, median of {args.writer_rounds}, "
        f"each in its own process ({args.writers_python})",
        f"- revision: {git_revision()}",
        "",
        *download_table(report),
        "",
        *writer_table(report),
        "",
        *(f"- {line}" for line in verdicts(report)),
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(section))
    log(f"recorded in {RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database", type=Path, default=DISTRICT, help="the district dataset")
    parser.add_argument("--rounds", type=int, default=3, help="downloads per size and format")
    parser.add_argument("--writer-rounds", type=int, default=3, help="runs per writer")
    parser.add_argument(
        "--writers-python",
        type=Path,
        default=WRITERS_PYTHON if WRITERS_PYTHON.exists() else Path(sys.executable),
        help="interpreter of a venv holding the writers to compare (not the project's venv)",
    )
    parser.add_argument("--skip-writers", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--writer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer_child(args.writer, str(args.database))
        return
    args.rounds = max(1, min(args.rounds, 9))
    args.writer_rounds = max(1, min(args.writer_rounds, 9))
    if args.database == DISTRICT:
        district.district_path()
    if not args.database.exists():
        sys.exit(f"no dataset at {args.database} (homeroom seed --students 50000 --password bench)")
    started = datetime.now(UTC)
    database = dataset(args.database)
    report = Report()
    if not args.skip_server:
        serve(database, args, report)
    if not args.skip_writers:
        log(f"writers in-process ({args.writers_python}):")
        report.writers = writers(args.writers_python, database, args.writer_rounds)
    print()
    if report.downloads:
        print("\n".join(download_table(report)))
        print()
    if report.writers:
        print("\n".join(writer_table(report)))
        print()
    if args.record:
        record(report, args, started)
    for line in verdicts(report):
        print(line)


def serve(database: Path, args: argparse.Namespace, report: Report) -> None:
    var = Path(tempfile.mkdtemp(prefix="homeroom-bench-exports-"))
    port = _free_port()
    env = {
        **os.environ,
        "HOMEROOM_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "HOMEROOM_VAR_DIR": str(var),
        "HOMEROOM_SECRET_KEY": SECRET_KEY,
        "HOMEROOM_LOG_LEVEL": "warning",
    }
    server = Server(port, env)
    log(f"homeroom serve on :{port} ...")
    try:
        server.start()
        status, _, body = request(
            port, "POST", "/api/v1/auth/login", {"email": ADMIN[0], "password": ADMIN[1]}
        )
        if status != 200:
            sys.exit(f"login failed ({status}): {body[:200]!r}")
        token = json.loads(body)["access_token"]
        for fmt in FORMATS:  # warm-up: caches, compiled queries, the CPU pool's process
            d = download(server, token, "10k", fmt, database)
            if fmt == "xlsx":
                report.cold_xlsx_s = d.total_s
        for size in SIZES:
            for fmt in FORMATS:
                runs = []
                for _ in range(args.rounds):
                    runs.append(download(server, token, size, fmt, database))
                    d = runs[-1]
                    log(
                        f"  {size} {fmt}: {d.rows:,} rows, first byte {d.first_byte_ms:.1f} ms, "
                        f"total {d.total_s:.3f} s, RSS +{d.rss_growth_mb:.1f} MB"
                    )
                report.downloads.append(median_download(runs))
    finally:
        server.stop()
        shutil.rmtree(var, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


if __name__ == "__main__":
    main()
