"""The `homeroom` command as users run it: the installed script, in a subprocess, configured by
environment variables, on a fresh SQLite file."""

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from homeroom.app import create_app
from homeroom.config import Settings

HOMEROOM = Path(sys.executable).with_name("homeroom")
pytestmark = pytest.mark.live

SECRET = "cli-test-secret-key-long-enough-for-hs256-0123456789abcdef"


class Cli:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.database = tmp / "homeroom.db"
        self.env = os.environ | {
            "HOMEROOM_DATABASE_URL": f"sqlite+aiosqlite:///{self.database}",
            "HOMEROOM_VAR_DIR": str(tmp),
            "HOMEROOM_SECRET_KEY": SECRET,
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(HOMEROOM), *args],
            env=self.env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def settings(self) -> Settings:
        return Settings(
            database_url=self.env["HOMEROOM_DATABASE_URL"], var_dir=self.tmp, secret_key=SECRET
        )

    def tables(self) -> set[str]:
        conn = sqlite3.connect(self.database)
        try:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


async def login(api: httpx.AsyncClient, email: str, password: str) -> int:
    r = await api.post("/api/v1/auth/login", json={"email": email, "password": password})
    return r.status_code


class TestMigrate:
    def test_migrate_creates_the_schema(self, cli: Cli) -> None:
        result = cli("migrate")
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
        assert {"schools", "users", "students", "grades", "alembic_version"} <= cli.tables()

    def test_migrate_twice_is_harmless(self, cli: Cli) -> None:
        assert cli("migrate").returncode == 0
        assert cli("migrate").returncode == 0


class TestCreateUser:
    async def test_created_admin_can_log_in(self, cli: Cli) -> None:
        assert cli("migrate").returncode == 0
        result = cli("create-user", "--email", "Root@Example.org", "--password", "s3cret-pass",
                     "--role", "admin")  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "created admin root@example.org" in result.stdout
        app = create_app(cli.settings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
                assert await login(api, "root@example.org", "s3cret-pass") == 200
                assert await login(api, "root@example.org", "wrong-pass") == 401

    def test_a_bad_role_fails_with_a_clear_message(self, cli: Cli) -> None:
        assert cli("migrate").returncode == 0
        result = cli("create-user", "--email", "x@example.org", "--password", "s3cret-pass",
                     "--role", "janitor")  # fmt: skip
        assert result.returncode != 0
        assert "role must be one of admin, staff, teacher, student, guardian" in result.stderr
        assert "Traceback" not in result.stderr

    def test_a_duplicate_email_fails(self, cli: Cli) -> None:
        assert cli("migrate").returncode == 0
        args = ("create-user", "--email", "x@example.org", "--password", "s3cret-pass",
                "--role", "admin")  # fmt: skip
        assert cli(*args).returncode == 0
        result = cli(*args)
        assert result.returncode != 0 and "already exists" in result.stderr


class TestSeed:
    async def test_seed_then_the_demo_logins_work(self, cli: Cli) -> None:
        result = cli("seed", "--students", "30", "--password", "Demo-Pass-1", "--quiet")
        assert result.returncode == 0, result.stderr
        for email in ("admin@example.edu", "registrar@example.edu", "teacher1@example.edu",
                      "student1@example.edu", "guardian1@example.edu"):  # fmt: skip
            assert email in result.stdout
        assert "30  students" in result.stdout
        app = create_app(cli.settings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
                assert await login(api, "student1@example.edu", "Demo-Pass-1") == 200
                assert await login(api, "teacher1@example.edu", "Demo-Pass-1") == 200
                assert await login(api, "admin@example.edu", "homeroom") == 401

    def test_seed_shows_progress_on_stderr_and_refuses_a_second_time(self, cli: Cli) -> None:
        first = cli("seed", "--students", "10", "--password", "pw-for-demo")
        assert first.returncode == 0, first.stderr
        assert "seeding" in first.stderr and "admin@example.edu" in first.stdout

        again = cli("seed", "--students", "10", "--password", "pw-for-demo")
        assert again.returncode != 0
        assert "already has data" in again.stderr and "Traceback" not in again.stderr

        noop = cli("seed", "--if-empty", "--students", "10", "--password", "pw-for-demo")
        assert noop.returncode == 0, noop.stderr
        assert "already present" in noop.stdout
        conn = sqlite3.connect(cli.database)
        try:
            assert conn.execute("SELECT count(*) FROM students").fetchone() == (10,)
        finally:
            conn.close()

    def test_same_seed_gives_the_same_school(self, cli: Cli, tmp_path: Path) -> None:
        other = Cli(tmp_path / "other")
        other.tmp.mkdir()
        for target in (cli, other):
            result = target("seed", "--students", "12", "--seed", "42", "--quiet")
            assert result.returncode == 0, result.stderr
        sql = "SELECT * FROM students ORDER BY id"
        rows = []
        for target in (cli, other):
            conn = sqlite3.connect(target.database)
            try:
                rows.append(conn.execute(sql).fetchall())
            finally:
                conn.close()
        assert rows[0] == rows[1] and len(rows[0]) == 12


def _sigint_disposition(queue: "multiprocessing.Queue[str]") -> None:
    queue.put(str(signal.getsignal(signal.SIGINT)))


def test_serve_starts_workers_with_ctrl_c_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker interpreter starts with SIGINT ignored (a Ctrl-C while it imports would
    kill it with a traceback), and the server keeps its own handler."""
    from multiprocessing.process import BaseProcess

    from homeroom.cli import workers_ignore_ctrl_c_while_starting

    monkeypatch.setattr(BaseProcess, "start", BaseProcess.start)  # undone after the test
    handler = signal.getsignal(signal.SIGINT)
    workers_ignore_ctrl_c_while_starting()
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = context.Queue()
    worker = context.Process(target=_sigint_disposition, args=(queue,))
    worker.start()
    worker.join(timeout=60)
    assert queue.get(timeout=5) == str(signal.SIG_IGN)
    assert signal.getsignal(signal.SIGINT) is handler
