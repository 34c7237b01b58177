"""`reads` benchmark: Homeroom's hot student reads against their `raw` and `ceiling` references.

One command, one run, per backend (SQLite and/or PostgreSQL):

    .venv/bin/python bench/reads.py [--backend sqlite|postgresql|both] [--duration S]
                                    [--connections C] [--students N] [--record]

1. builds the dataset on first use (`homeroom seed --students N --password bench`) and reuses
   it afterwards: a SQLite file under bench/out/, or the PostgreSQL database of --pg-url;
2. starts three servers on 127.0.0.1, each under the same HTTP server (--server, default
   granian like `homeroom serve`) and worker count (2):
   Homeroom (`homeroom serve`), `raw` and `ceiling` (bench/raw_app.py);
3. logs in once as an admin, collects real student ids and real keyset cursors from
   Homeroom's own responses, and checks that `raw` answers exactly what Homeroom answers;
4. hammers each target with wrk (threads 1, c64, 2 s warm-up then --duration seconds) through a
   Lua script that rotates the request paths and sends the bearer token;
5. prints a table (req/s, p50, p99, errors, CPU of wrk and of the server), then LAST the ratios
   Homeroom/raw per endpoint and Homeroom/ceiling, per backend. --record appends them to
   bench/RESULTS.md with the machine and the date.

See bench/README.md for what each figure means, including the method.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homeroom.seed.plan import Logins

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
RESULTS = BENCH / "RESULTS.md"
BIN = Path(sys.executable).parent
HOMEROOM = BIN / "homeroom"

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/homeroom_bench"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
SEED_PASSWORD = "bench"  # noqa: S105  the password `homeroom seed --password` gives every login
ADMIN_EMAIL = Logins().admin  # the seeded school's administrator
ADMIN_PASSWORD = SEED_PASSWORD

ENDPOINTS = {"by-id": "GET /api/v1/students/{id}", "page-50": "GET /api/v1/students?limit=50"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- dataset -----------------------------------------------------------------------------------


def _run(argv: list[str], env: dict[str, str], timeout: float) -> None:
    log(f"  $ {Path(argv[0]).name} {' '.join(argv[1:])}")
    subprocess.run(argv, env=env, check=True, timeout=timeout, cwd=ROOT)


def _seed(url: str, students: int, base_env: dict[str, str]) -> None:
    """`homeroom seed` (it migrates first) of the demo school; its admin is ADMIN_EMAIL."""
    env = {**base_env, "HOMEROOM_DATABASE_URL": url}
    _run(
        [str(HOMEROOM), "seed", "--students", str(students), "--password", SEED_PASSWORD],
        env,
        timeout=1800,
    )


def prewarm_file(path: Path) -> None:
    """Reads a dataset file once so it sits in the OS page cache: a machine whose cache was
    emptied by something else (a large process) would otherwise measure the disk."""
    started = time.monotonic()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            size += len(chunk)
    seconds = time.monotonic() - started
    log(f"dataset: read {size / 1e9:.1f} GB into the page cache in {seconds:.1f} s")


async def _pg_prewarm(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        blocks = await conn.fetchval(
            "SELECT sum(pg_prewarm(c.oid, 'read')) FROM pg_class c "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i', 't')"
        )
        log(f"dataset: {int(blocks or 0) * 8192 / 1e9:.1f} GB read into the page cache")
    finally:
        await conn.close()


def sqlite_dataset(students: int, base_env: dict[str, str]) -> str:
    """The SQLite file for `students` students, seeded on first use (built aside, then renamed)."""
    path = OUT / f"students-{students}.db"
    if path.exists():
        log(f"dataset: reusing {path.relative_to(ROOT)}")
        prewarm_file(path)
        return f"sqlite+aiosqlite:///{path}"
    log(f"dataset: seeding {students} students into {path.relative_to(ROOT)} (first run only)")
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    for leftover in OUT.glob(tmp.name + "*"):
        leftover.unlink()
    started = time.monotonic()
    _seed(f"sqlite+aiosqlite:///{tmp}", students, base_env)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    tmp.rename(path)
    log(f"dataset: seeded in {time.monotonic() - started:.0f} s")
    return f"sqlite+aiosqlite:///{path}"


async def _pg_state(url: str) -> tuple[int, bool] | None:
    """(students, whether the seeded admin exists), or None when the database has no schema;
    creates the database when it does not exist."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        name = dsn.rsplit("/", 1)[1].split("?", 1)[0]
        admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return None
    try:
        if await conn.fetchval("SELECT to_regclass('public.students')") is None:
            return None
        count: int = await conn.fetchval("SELECT count(*) FROM students")
        admin_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", ADMIN_EMAIL)
        return count, admin_id is not None
    finally:
        await conn.close()


async def _pg_wipe(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def postgres_dataset(url: str, students: int, rebuild: bool, base_env: dict[str, str]) -> str:
    state = asyncio.run(_pg_state(url))
    name = url.rsplit("/", 1)[1]
    if state == (students, True) and not rebuild:
        log(f"dataset: reusing {students} seeded students in {name}")
        asyncio.run(_pg_prewarm(url))
        return url
    if state is not None and state[0] and not rebuild:
        sys.exit(
            f"{name} holds {state[0]} students but not the `homeroom seed --students {students}` "
            "dataset: pass --rebuild to drop its schema and seed again (only for a database "
            "dedicated to benchmarks)"
        )
    if state is not None:
        log(f"dataset: dropping the public schema of {name}")
        asyncio.run(_pg_wipe(url))
    log(f"dataset: seeding {students} students into {name} (first run only)")
    started = time.monotonic()
    _seed(url, students, base_env)
    log(f"dataset: seeded in {time.monotonic() - started:.0f} s")
    return url


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    ready_path: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        logs = OUT / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = (logs / f"{self.name}.log").open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()

    def wait_ready(self, timeout: float = 90) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see bench/out/logs/{self.name}.log")
            try:
                with urllib.request.urlopen(self.base + self.ready_path, timeout=2) as r:  # noqa: S310
                    if r.status < 500:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout} s")

    def cpu_seconds(self) -> float:
        """CPU time of the server's whole process tree (supervisor and workers)."""
        if self.proc is None:
            return 0.0
        tree = _children()
        total, todo = 0.0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            total += _cpu_seconds(pid)
            todo.extend(tree.get(pid, []))
        return total

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: the server and its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def reference_argv(app: str, port: int, server: str, workers: int) -> list[str]:
    """A bench/raw_app.py app under the same HTTP server and options as `homeroom serve`."""
    if server == "uvicorn":
        return uvicorn_argv(app, port, workers)
    return [
        str(BIN / "granian"),
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--working-dir",
        str(BENCH),
        app,
    ]


def uvicorn_argv(app: str, port: int, workers: int) -> list[str]:
    """The server settings `homeroom serve` uses, for the references."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
        "--lifespan",
        "on",
    ]


# --- HTTP set-up calls (stdlib only) ------------------------------------------------------------


def http_json(method: str, url: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def login(base: str) -> str:
    status, body = http_json(
        "POST", base + "/api/v1/auth/login", body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    if status != 200:
        sys.exit(f"login as {ADMIN_EMAIL} failed ({status}): {body}")
    token: str = body["access_token"]
    return token


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {"role": claims["role"], "school_id": claims.get("sch"), "profile_id": claims.get("pid")}


@dataclass
class Workload:
    by_id: list[str]
    page: list[str]


def collect_paths(base: str, token: str, ids: int, seed: int = 1) -> Workload:
    """Real ids and real cursors, walking the whole list through Homeroom in 1000-row pages.

    A cursor carries the sort position, not the page size, so each one also starts a 50-row
    page somewhere along the list."""
    all_ids: list[int] = []
    cursors: list[str] = []
    cursor: str | None = None
    while True:
        url = base + "/api/v1/students?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        status, body = http_json("GET", url, token)
        if status != 200:
            sys.exit(f"GET {url} -> {status}: {body}")
        all_ids.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    if not cursors:
        sys.exit("the dataset is too small for keyset pages: use more --students")
    rnd = random.Random(seed)
    picked = rnd.sample(all_ids, min(ids, len(all_ids)))
    return Workload(
        by_id=[f"/api/v1/students/{i}" for i in picked],
        page=[f"/api/v1/students?limit=50&cursor={c}" for c in cursors],
    )


def check_same_answers(homeroom: str, raw: str, token: str, work: Workload) -> None:
    """`raw` must return what Homeroom returns, or it is not the same work."""
    for path in (work.by_id[0], work.by_id[-1], work.page[0], work.page[-1]):
        s1, ours = http_json("GET", homeroom + path, token)
        s2, theirs = http_json("GET", raw + path)
        if (s1, ours) != (s2, theirs):
            sys.exit(
                f"raw and Homeroom disagree on {path}:\n  homeroom {s1} {ours}\n  raw {s2} {theirs}"
            )


# --- wrk ---------------------------------------------------------------------------------------

# Shared by every wrk script of the benchmarks (bench/mix.py too): per-thread counters of the
# answers that are not 2xx, by status, with a few of their bodies, and `report()`, which
# done() calls to print wrk's summary (requests, latency, errors by kind) and those counters
# as BENCH_* lines that `parse_wrk` reads. The `response()` hook costs wrk a Lua call per
# answer: measured against the ceiling app (~50,000 answers/s, wrk t1 c64) it added 1-3
# points of a core to wrk's 23-24 %, within the run-to-run noise; without it a non-2xx
# answer would only be a number.
LUA_RESULTS = """
statuses = {} -- non-2xx answers per status (read by done() through thread:get)
samples = {}  -- a few non-2xx bodies
local nsamples = 0
local threads = {}
local thread_id = 0

setup = function(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
  table.insert(threads, thread)
end

response = function(status, headers, body)
  if status < 200 or status > 299 then
    statuses[status] = (statuses[status] or 0) + 1
    if nsamples < 5 then
      nsamples = nsamples + 1
      samples[nsamples] = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

-- wrk's summary and the threads' counters as BENCH_* lines (bench/reads.py parse_wrk).
report = function(summary, latency)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {\\"requests\\":%.0f,\\"duration_us\\":%.0f,\\"p50_us\\":%.0f," ..
    "\\"p99_us\\":%.0f,\\"max_us\\":%.0f,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d," ..
    "\\"status\\":%d,\\"timeout\\":%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
  local byst, texts = {}, {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses") or {}
    for st, n in pairs(s) do byst[st] = (byst[st] or 0) + n end
    local sm = thread:get("samples") or {}
    for _, text in pairs(sm) do texts[#texts + 1] = text end
  end
  local parts = {}
  for st, n in pairs(byst) do parts[#parts + 1] = string.format('"%d":%.0f', st, n) end
  io.write("BENCH_STATUSES {" .. table.concat(parts, ",") .. "}\\n")
  for _, text in ipairs(texts) do
    io.write("BENCH_SAMPLE " .. string.gsub(text, "\\n", " ") .. "\\n")
  end
end
"""

LUA = """-- generated by bench/reads.py
local paths = {
%(paths)s
}
local n = #paths
local i = 0
wrk.method = "GET"
%(auth)s
%(results)s
request = function()
  i = i %% n + 1
  return wrk.format(nil, paths[i])
end
done = function(summary, latency, requests)
  report(summary, latency)
end
"""

ERROR_KINDS = ("connect", "read", "write", "timeout", "status")  # wrk's error counters


def parse_wrk(output: str) -> dict[str, Any]:
    """The BENCH_* lines of a run: wrk's summary, `statuses` (non-2xx answers by status),
    `samples` (a few of their bodies) and `types` (bench/mix.py's counts per request type)."""
    out: dict[str, Any] = {"types": [], "statuses": {}, "samples": []}
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            out.update(json.loads(line.removeprefix("BENCH_JSON ")))
        elif line.startswith("BENCH_TYPES "):
            out["types"] = json.loads(line.removeprefix("BENCH_TYPES "))
        elif line.startswith("BENCH_STATUSES "):
            out["statuses"] = json.loads(line.removeprefix("BENCH_STATUSES "))
        elif line.startswith("BENCH_SAMPLE "):
            out["samples"].append(line.removeprefix("BENCH_SAMPLE "))
    if "requests" not in out:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    return out


def error_count(out: dict[str, Any]) -> int:
    """Socket errors, timeouts and every answer that is not 2xx (wrk's own `status` counter
    counts only 4xx and 5xx)."""
    errors = sum(int(out[k]) for k in ERROR_KINDS)
    return errors + sum(int(n) for st, n in out["statuses"].items() if int(st) < 400)


def describe_errors(out: dict[str, Any], timeout_s: float = 10) -> str:
    """What the errors of a run were: wrk's kinds, the non-2xx statuses, a sample body."""
    names = {
        "connect": "connect",
        "read": "read (the server closed or reset the connection)",
        "write": "write",
        "timeout": f"timeout (no answer within {timeout_s:g} s)",
    }
    parts = [f"{out[k]} {names[k]}" for k in names if out.get(k)]
    if out["statuses"]:
        statuses = ", ".join(f"{n} x {st}" for st, n in sorted(out["statuses"].items()))
        parts.append(f"non-2xx answers: {statuses}")
    text = "; ".join(parts) or "none"
    if out["samples"]:
        text += f"; e.g. {out['samples'][0][:200]}"
    return text


@dataclass
class Result:
    backend: str
    target: str
    endpoint: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    wrk_cpu: float  # share of one core, 0..1
    server_cpu: float  # cores used by the server's processes
    other_cpu: float  # cores used by everything else (the database server, other load)
    extra: dict[str, Any] = field(default_factory=dict)


def write_lua(name: str, paths: list[str], token: str | None) -> Path:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script = OUT / f"wrk-{name}.lua"
    script.write_text(
        LUA
        % {"paths": ",\n".join(f'  "{p}"' for p in paths), "auth": auth, "results": LUA_RESULTS},
        encoding="utf-8",
    )
    return script


def wrk_output(base: str, script: Path, seconds: float, connections: int, threads: int) -> str:
    """Runs wrk with a Lua script against `base`, bounded in time; returns what it printed."""
    argv = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:  # e.g. "unable to connect": say what wrk said
        raise RuntimeError(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return f"{done.stdout}\n{done.stderr}"


def wrk(base: str, script: Path, seconds: float, connections: int, threads: int) -> dict[str, Any]:
    return parse_wrk(wrk_output(base, script, seconds, connections, threads))


def measure(
    backend: str,
    target: str,
    endpoint: str,
    server: Server,
    script: Path,
    args: argparse.Namespace,
) -> Result:
    log(
        f"  {backend:10} {target:9} {endpoint:8} warm-up {args.warmup:g} s, run {args.duration:g} s"
    )
    wrk(server.base, script, args.warmup, args.connections, args.threads)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_server = server.cpu_seconds()
    before_busy = machine_busy_seconds()
    started = time.monotonic()
    out = wrk(server.base, script, args.duration, args.connections, args.threads)
    wall = time.monotonic() - started
    busy = (machine_busy_seconds() - before_busy) / wall
    server_cpu = (server.cpu_seconds() - before_server) / wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (
        after.ru_utime - before_children.ru_utime + after.ru_stime - before_children.ru_stime
    ) / wall
    seconds = out["duration_us"] / 1e6
    errors = error_count(out)
    result = Result(
        backend,
        target,
        endpoint,
        rps=out["requests"] / seconds,
        p50_ms=out["p50_us"] / 1000,
        p99_ms=out["p99_us"] / 1000,
        requests=int(out["requests"]),
        errors=errors,
        wrk_cpu=wrk_cpu,
        server_cpu=server_cpu,
        other_cpu=max(0.0, busy - server_cpu - wrk_cpu),
        extra=out,
    )
    log(
        f"  {'':10} {'':9} {'':8} -> {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, errors {errors}"
    )
    if errors:
        log(f"  {'':10} {'':9} {'':8}    errors: {describe_errors(out)}")
    return result


def merged_errors(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The error counters of several wrk runs added up (their samples put together)."""
    out: dict[str, Any] = {k: sum(int(r.get(k, 0)) for r in runs) for k in ERROR_KINDS}
    statuses: dict[str, int] = {}
    for r in runs:
        for status, n in r.get("statuses", {}).items():
            statuses[status] = statuses.get(status, 0) + int(n)
    out["statuses"] = statuses
    out["samples"] = [sample for r in runs for sample in r.get("samples", [])][:5]
    return out


def median_result(same: tuple[Result, ...]) -> Result:
    """One target over several rounds: the round of median throughput, errors summed."""
    ranked = sorted(same, key=lambda r: r.rps)
    middle = ranked[len(ranked) // 2]
    return replace(
        middle,
        errors=sum(r.errors for r in same),
        extra={"rounds": len(same), **merged_errors([r.extra for r in same])},
    )


def error_lines(results: list[Result]) -> list[str]:
    """What each target's errors were, for the targets that had any."""
    return [
        f"errors of {r.backend} {r.target} {r.endpoint}: {describe_errors(r.extra)}"
        for r in results
        if r.errors
    ]


# --- one backend -------------------------------------------------------------------------------


def bench_backend(backend: str, args: argparse.Namespace) -> list[Result]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
    base_env.update(
        HOMEROOM_VAR_DIR=str(OUT / "var"),
        HOMEROOM_SECRET_KEY=SECRET_KEY,
        HOMEROOM_LOG_LEVEL="warning",
        HOMEROOM_HOST="127.0.0.1",
        HOMEROOM_ACCESS_TOKEN_TTL_SECONDS="3600",  # noqa: S106  not a secret
    )
    if backend == "sqlite":
        url = sqlite_dataset(args.students, base_env)
    else:
        url = postgres_dataset(args.pg_url, args.students, args.rebuild, base_env)
    env = {**base_env, "HOMEROOM_DATABASE_URL": url}

    homeroom = Server(
        "homeroom",
        [
            str(HOMEROOM),
            "serve",
            "--server",
            args.server,
            "--workers",
            str(args.workers),
            "--port",
            str(free_port()),
        ],
        env,
        0,
        "/healthz",
    )
    homeroom.port = int(homeroom.argv[-1])
    servers = [homeroom]
    try:
        homeroom.start()
        homeroom.wait_ready()
        token = login(homeroom.base)
        principal = claims_of(token)
        log(f"  logged in as {ADMIN_EMAIL}: {principal}")
        work = collect_paths(homeroom.base, token, args.ids)
        log(f"  workload: {len(work.by_id)} student ids, {len(work.page)} cursors")

        raw_port, ceiling_port = free_port(), free_port()
        raw_env = {**env, "BENCH_PRINCIPAL": json.dumps(principal)}
        raw = Server(
            "raw",
            reference_argv("raw_app:app", raw_port, args.server, args.workers),
            raw_env,
            raw_port,
            "/api/v1/students/0",
        )
        ceiling = Server(
            "ceiling",
            reference_argv("raw_app:ceiling", ceiling_port, args.server, args.workers),
            env,
            ceiling_port,
            "/",
        )
        servers += [raw, ceiling]
        raw.start()
        ceiling.start()
        raw.wait_ready()
        ceiling.wait_ready()
        check_same_answers(homeroom.base, raw.base, token, work)
        log("  raw answers exactly what Homeroom answers")

        scripts = {
            ("homeroom", "by-id"): write_lua("homeroom-by-id", work.by_id, token),
            ("homeroom", "page-50"): write_lua("homeroom-page", work.page, token),
            ("raw", "by-id"): write_lua("raw-by-id", work.by_id, None),
            ("raw", "page-50"): write_lua("raw-page", work.page, None),
            ("ceiling", "json-100B"): write_lua("ceiling", ["/"], None),
        }
        by_name = {"homeroom": homeroom, "raw": raw, "ceiling": ceiling}
        # Each Homeroom figure right beside its reference, so drift hits both alike.
        order = [
            ("ceiling", "json-100B"),
            ("homeroom", "by-id"),
            ("raw", "by-id"),
            ("homeroom", "page-50"),
            ("raw", "page-50"),
        ]
        rounds: list[list[Result]] = []
        for n in range(args.rounds):
            if args.rounds > 1:
                log(f"  round {n + 1} of {args.rounds}")
            rounds.append(
                [
                    measure(
                        backend, target, endpoint, by_name[target], scripts[target, endpoint], args
                    )
                    for target, endpoint in order
                ]
            )
        return [median_result(same) for same in zip(*rounds, strict=True)]
    finally:
        for server in servers:
            server.stop()


# --- report ------------------------------------------------------------------------------------


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
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + (" (src modified)" if dirty else "")


def table(results: list[Result]) -> list[str]:
    head = (
        "| backend | target | endpoint | req/s | p50 ms | p99 ms | errors | "
        "wrk CPU (of 1 core) | server CPU (cores) | other CPU (cores) |"
    )
    lines = [head, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.target} | {r.endpoint} | {r.rps:,.0f} | {r.p50_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.errors} | {r.wrk_cpu:.0%} | {r.server_cpu:.2f} | "
            f"{r.other_cpu:.2f} |"
        )
    return lines


def ratios(results: list[Result]) -> list[str]:
    lines = []
    for backend in dict.fromkeys(r.backend for r in results):
        got = {(r.target, r.endpoint): r.rps for r in results if r.backend == backend}
        ceiling = got["ceiling", "json-100B"]
        parts = []
        for endpoint in ENDPOINTS:
            ratio = got["homeroom", endpoint] / got["raw", endpoint]
            flag = "ok" if ratio >= 0.5 else "BELOW 0.5"
            parts.append(f"homeroom/raw {endpoint} {ratio:.2f} ({flag})")
        for endpoint in ENDPOINTS:
            parts.append(f"homeroom/ceiling {endpoint} {got['homeroom', endpoint] / ceiling:.3f}")
        lines.append(f"ratios {backend}: " + ", ".join(parts))
    return lines


def record(results: list[Result], args: argparse.Namespace, started: datetime) -> None:
    backends = ", ".join(dict.fromkeys(r.backend for r in results))
    section = [
        "",
        f"## reads, {started:%Y-%m-%d %H:%M} UTC, {backends}",
        "",
        f"- machine: {machine()}",
        f"- dataset: {args.students:,} students (`homeroom seed --students {args.students}`)",
        f"- load: wrk t{args.threads} c{args.connections}, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s per target x {args.rounds} round(s) (median), "
        f"{args.workers} {args.server} workers each, 127.0.0.1",
        f"- revision: {git_revision()}",
        "",
        *table(results),
        "",
        *(f"- {line}" for line in error_lines(results)),
        *(f"- {line}" for line in ratios(results)),
        "",
    ]
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nAppended by `bench/*.py --record`; newest last. Compare "
            "ratios, not absolute figures: the machine is shared (see bench/README.md).\n",
            encoding="utf-8",
        )
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(section))
    log(f"recorded in {RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--duration", type=float, default=10, help="seconds per target")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="workers of every server")
    parser.add_argument(
        "--server",
        choices=("granian", "uvicorn"),
        default="granian",
        help="HTTP server of all three targets (homeroom serve's default: granian)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the targets; report each one's median"
    )
    parser.add_argument("--students", type=int, default=50_000, help="dataset size")
    parser.add_argument("--ids", type=int, default=1000, help="distinct student ids to rotate")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("HOMEROOM_BENCH_DATABASE_URL", DEFAULT_PG_URL),
        help="PostgreSQL database dedicated to benchmarks (env HOMEROOM_BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="PostgreSQL: drop and re-seed a wrong-size dataset"
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is required: apt-get install -y wrk")
    if args.duration > 120 or args.warmup > 30 or not 1 <= args.rounds <= 9:
        sys.exit("keep runs bounded: --duration <= 120, --warmup <= 30, --rounds 1..9")

    started = datetime.now(UTC)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    for backend in backends:
        log(f"{backend}:")
        results += bench_backend(backend, args)

    print()
    print(f"reads benchmark, {started:%Y-%m-%d %H:%M} UTC, {machine()}")
    print(
        f"{args.students:,} students; wrk t{args.threads} c{args.connections}, "
        f"{args.duration:g} s per target after {args.warmup:g} s warm-up, "
        f"{args.rounds} round(s), median shown; "
        f"{args.workers} workers per server"
    )
    print()
    print("\n".join(table(results)))
    print()
    if errors := error_lines(results):
        print("\n".join(errors))
        print()
    if args.record:
        record(results, args, started)
    print("\n".join(ratios(results)))


if __name__ == "__main__":
    main()
