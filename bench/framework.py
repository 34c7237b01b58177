"""FastAPI releases: the CPU a request costs in process, under two installations, in one run.

Homeroom pins FastAPI (pyproject.toml) because releases after the pin cost more CPU per
request. This measures it again: the same application code, the same SQLite database, served
in process (no server, no sockets) by this installation and by another one (a virtualenv where
`pip install -e .` was followed by the FastAPI and Starlette releases to compare), in
alternating rounds so that the machine's noise falls on both alike.

    python -m venv /tmp/fastapi-next
    /tmp/fastapi-next/bin/pip install -e . fastapi==0.165.0 starlette==1.10.0
    .venv/bin/python bench/framework.py --other /tmp/fastapi-next/bin/python

Each request type runs `--requests` times per round after a warm-up; the figure is CPU time
(process_time) per request, the median over rounds, and the ratio other / this.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

SECRET = "bench-secret-key-that-is-long-enough-for-hs256-0123456789"  # noqa: S105
PASSWORD = "homeroom"  # noqa: S105 (the seeded demo password)
Case = tuple[str, str, str, bytes, int]  # name, method, path?query, body, expected status


def _cases(student_id: int) -> list[Case]:
    patch = json.dumps({"first_name": "Ada"}).encode()
    return [
        ("GET /healthz", "GET", "/healthz", b"", 200),
        ("GET student", "GET", f"/api/v1/students/{student_id}", b"", 200),
        ("GET students page", "GET", "/api/v1/students?limit=50", b"", 200),
        ("GET teachers page", "GET", "/api/v1/teachers?limit=50", b"", 200),
        ("GET enrollments page", "GET", "/api/v1/enrollments?limit=50", b"", 200),
        ("GET student 422", "GET", "/api/v1/students/abc", b"", 422),
        ("GET 404", "GET", "/api/v1/nothing-here", b"", 404),
        ("PATCH student", "PATCH", f"/api/v1/students/{student_id}", patch, 200),
    ]


async def _call(
    app: Callable[..., Awaitable[None]], method: str, target: str, body: bytes, token: str
) -> tuple[int, bytes]:
    path, _, query = target.partition("?")
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _worker(database_url: str, requests: int) -> dict[str, float]:
    from homeroom.app import create_app
    from homeroom.config import Settings

    settings = Settings(database_url=database_url, secret_key=SECRET)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        login = json.dumps({"email": "admin@example.edu", "password": PASSWORD}).encode()
        status, answer = await _call(app, "POST", "/api/v1/auth/login", login, "")
        assert status == 200, answer
        token = json.loads(answer)["access_token"]
        status, answer = await _call(app, "GET", "/api/v1/students?limit=1", b"", token)
        assert status == 200, answer
        student_id = json.loads(answer)["items"][0]["id"]
        figures = {}
        for name, method, target, body, expected in _cases(student_id):
            for _ in range(min(200, requests)):
                status, answer = await _call(app, method, target, body, token)
                assert status == expected, (name, status, answer[:300])
            started = time.process_time()
            for _ in range(requests):
                await _call(app, method, target, body, token)
            figures[name] = (time.process_time() - started) / requests * 1e6
    return figures


def _version(python: str) -> str:
    code = "import fastapi, starlette; print(fastapi.__version__, starlette.__version__)"
    fastapi, starlette = subprocess.check_output([python, "-c", code], text=True).split()
    return f"FastAPI {fastapi} / Starlette {starlette}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--other", required=True, help="the python of the other installation")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # the database URL, in a worker
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(_worker(args.worker, args.requests))))
        return

    pythons = {"this": sys.executable, "other": args.other}
    versions = {side: _version(python) for side, python in pythons.items()}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        env = {"HOMEROOM_DATABASE_URL": url, "HOMEROOM_SECRET_KEY": SECRET, "PATH": ""}
        cli = [sys.executable, "-c", "from homeroom.cli import app; app()"]
        subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
        seed = ["seed", "--students", str(args.students), "--password", PASSWORD, "--quiet"]
        subprocess.run([*cli, *seed], env=env, check=True, capture_output=True)
        runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
        for round_number in range(args.rounds):
            order = ("this", "other") if round_number % 2 == 0 else ("other", "this")
            for side in order:
                worker = [pythons[side], __file__, "--other", "", "--worker", url]
                worker += ["--requests", str(args.requests)]
                done = subprocess.run(worker, capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"the {side} installation failed:\n{done.stderr[-3000:]}")
                runs[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

    print(f"this:  {versions['this']}\nother: {versions['other']}")
    print(f"CPU per request in process, median of {args.rounds} rounds x {args.requests}:")
    print("| request | this (us) | other (us) | other / this |\n|---|---:|---:|---:|")
    for name in runs["this"][0]:
        this = statistics.median(r[name] for r in runs["this"])
        other = statistics.median(r[name] for r in runs["other"])
        print(f"| {name} | {this:.0f} | {other:.0f} | {other / this:.2f} |")


if __name__ == "__main__":
    main()
