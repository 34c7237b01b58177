"""Jobs on separate `homeroom worker` processes over Redis (and RabbitMQ when it answers):
a real `homeroom serve` sends, real workers run, results come back over HTTP.

Runs against its own fresh database (a SQLite file; also a PostgreSQL database of its own
when HOMEROOM_TEST_DATABASE_URL is set), so the in-process job runner of the other tests never
touches these jobs. The brokers' queues are shared: under xdist one worker runs these tests
(xdist_group "redis").
"""

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from homeroom.config import Settings
from homeroom.jobs import service as jobs
from homeroom.jobs.broker import JobRuntime
from homeroom.kit.db import Database
from homeroom.kit.security import AccessClaims
from tests.backends import PG_URL, create_database, database_name, drop_database, with_database
from tests.live import BIN, run_cli, serving

pytestmark = [pytest.mark.live, pytest.mark.xdist_group("redis")]

REDIS_URL = os.environ.get("HOMEROOM_TEST_REDIS_URL")
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Worker-Live-1"


def _rabbitmq_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=0.5):
            return True
    except OSError:
        return False


BROKERS = [
    pytest.param(
        "redis",
        marks=pytest.mark.skipif(not REDIS_URL, reason="HOMEROOM_TEST_REDIS_URL not set"),
    ),
    pytest.param(
        "rabbitmq", marks=pytest.mark.skipif(not _rabbitmq_up(), reason="no RabbitMQ here")
    ),
]
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _live_pg_db() -> str:
    assert PG_URL is not None
    return f"{database_name(PG_URL)}_jobs_live"


async def _fresh_pg() -> str:
    assert PG_URL is not None
    await create_database(_live_pg_db(), drop_first=True)
    return with_database(PG_URL, _live_pg_db())


@pytest.fixture(params=DATABASES)
async def live_env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    else:
        url = await _fresh_pg()
    env = {
        **os.environ,
        "HOMEROOM_VAR_DIR": str(tmp_path),
        "HOMEROOM_DATABASE_URL": url,
        "HOMEROOM_SECRET_KEY": "worker-live-secret-key-that-is-long-enough-0123456789",
        "HOMEROOM_JOB_MODULES": "tests.jobs.handlers",
        "HOMEROOM_JOB_STALE_SECONDS": "6",
        "HOMEROOM_JOB_SWEEP_SECONDS": "1",
        "PYTHONPATH": str(REPO),
    }
    assert run_cli(["migrate"], env).returncode == 0
    created = run_cli(
        ["create-user", "--email", "ops@example.edu", "--password", PASSWORD, "--role", "admin"],
        env,
    )
    assert created.returncode == 0, created.stderr
    yield env
    if request.param == "postgresql":
        await drop_database(_live_pg_db())


@contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    log = Path(env["HOMEROOM_VAR_DIR"]) / f"worker-{time.monotonic_ns()}.log"
    proc = subprocess.Popen(
        [str(BIN / "homeroom"), "worker"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Sender:
    """What an API process does for a job: insert its row, commit, send its id."""

    def __init__(self, env: dict[str, str]) -> None:
        self.settings = Settings(
            database_url=env["HOMEROOM_DATABASE_URL"],
            var_dir=Path(env["HOMEROOM_VAR_DIR"]),
            secret_key=env["HOMEROOM_SECRET_KEY"],
            broker_url=env["HOMEROOM_BROKER_URL"],
        )
        self.db = Database(self.settings)
        self.runtime = JobRuntime(self.db, self.settings, runs_jobs=False)

    async def __aenter__(self) -> "Sender":
        await self.db.start()
        await self.runtime.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.runtime.close()
        await self.db.close()

    async def submit(self, owner: dict[str, Any], kind: str, params: dict[str, Any]) -> int:
        claims = AccessClaims(owner["id"], owner["role"], owner["school_id"], None)
        async with self.db.sessionmaker() as session:
            job = await jobs.submit(session, claims, kind, params)
            await session.commit()
        await self.runtime.send(job["id"])
        return int(job["id"])


def _login(base: str) -> tuple[dict[str, str], dict[str, Any]]:
    r = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": "ops@example.edu", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = httpx.get(f"{base}/api/v1/auth/me", headers=headers).json()
    return headers, me


async def _wait(
    base: str, headers: dict[str, str], job_id: int, until: tuple[str, ...], within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        while True:
            job: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}")).json()
            if job["status"] in until:
                return job
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.1)


def _broker_url(broker: str) -> str:
    if broker == "redis":
        assert REDIS_URL is not None
        return REDIS_URL
    return AMQP_URL


@pytest.mark.parametrize("broker", BROKERS)
async def test_workers_run_jobs_sent_through_the_broker(
    live_env: dict[str, str], broker: str, tmp_path: Path
) -> None:
    env = {**live_env, "HOMEROOM_BROKER_URL": _broker_url(broker)}
    with serving(env, workers=1) as base, worker(env) as first:
        headers, me = _login(base)
        async with Sender(env) as sender:
            ok = await sender.submit(me, "test.echo", {"text": "from a worker", "name": "w.txt"})
            crash = await sender.submit(me, "test.crash", {})
            where = await sender.submit(me, "test.where", {})

            job = await _wait(base, headers, ok, ("succeeded", "failed"))
            assert job["status"] == "succeeded", job
            r = await asyncio.to_thread(httpx.get, base + job["download_url"], headers=headers)
            assert r.status_code == 200 and r.text == "from a worker"

            failed = await _wait(base, headers, crash, ("succeeded", "failed"))
            assert failed["status"] == "failed"
            assert "RuntimeError" in failed["error"]

            ran = await _wait(base, headers, where, ("succeeded",))
            assert ran["result"]["pid"] == first.pid  # the worker, not the API or this test

            url = f"{base}/api/v1/notifications"
            notes = (await asyncio.to_thread(httpx.get, url, headers=headers)).json()
            assert {n["job_id"] for n in notes["items"]} == {ok, crash, where}


@pytest.mark.skipif(not REDIS_URL, reason="HOMEROOM_TEST_REDIS_URL not set")
async def test_a_job_survives_its_worker_dying(live_env: dict[str, str], tmp_path: Path) -> None:
    """Sent while no worker runs: it waits. Its worker is killed mid-job: another worker
    finds it abandoned (no heartbeat for job_stale_seconds) and runs it again."""
    env = {**live_env, "HOMEROOM_BROKER_URL": _broker_url("redis")}
    marker = tmp_path / "held"
    with serving(env, workers=1) as base:
        headers, me = _login(base)
        async with Sender(env) as sender:
            job_id = await sender.submit(me, "test.where", {"hold_once": str(marker)})
            await asyncio.sleep(0.5)
            url = f"{base}/api/v1/jobs/{job_id}"
            job = (await asyncio.to_thread(httpx.get, url, headers=headers)).json()
            assert job["status"] == "queued"  # nobody runs jobs yet

            with worker(env) as doomed:
                job = await _wait(base, headers, job_id, ("running",))
                for _ in range(100):
                    if marker.exists():
                        break
                    await asyncio.sleep(0.1)
                assert marker.read_text() == str(doomed.pid)
                doomed.kill()  # no clean shutdown: the job is left "running"
                doomed.wait()

            with worker(env) as rescuer:
                job = await _wait(base, headers, job_id, ("succeeded", "failed"), within=90)
                assert job["status"] == "succeeded", job
                assert job["result"]["pid"] == rescuer.pid
