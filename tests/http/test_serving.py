"""`homeroom serve`: workers, servers, and the database pool sizes derived from workers."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from homeroom.config import Settings
from tests.live import BIN, free_port, run_cli, sqlite_env


class TestPoolSizes:
    def test_workers_default_to_one_per_core(self) -> None:
        assert Settings(workers=None).effective_workers == (os.cpu_count() or 1)
        assert Settings(workers=3).effective_workers == 3

    @pytest.mark.parametrize(
        ("workers", "expected"),
        [(1, (10, 8, 2)), (2, (10, 8, 2)), (4, (10, 8, 2)), (8, (5, 3, 2)), (16, (2, 1, 2))],
    )
    def test_sizes_follow_workers(self, workers: int, expected: tuple[int, int, int]) -> None:
        settings = Settings(workers=workers)
        assert settings.pool_sizes() == expected
        assert settings.db_pool_size == expected[0]  # the reader pool, as before
        assert sum(settings.pool_sizes()) * workers <= settings.db_max_connections

    def test_budget_and_explicit_reader_pool(self) -> None:
        assert Settings(workers=2, db_max_connections=20).pool_sizes() == (5, 3, 2)
        assert Settings(workers=2, db_pool_size=20).pool_sizes()[0] == 20


def _serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "homeroom"), "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: _stop ends the workers too
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    _stop(proc)
    raise RuntimeError("homeroom serve did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ends the server and every worker it started (its process group)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker that outlived its server


@pytest.mark.live
@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_serves_compressed_cached_batch(tmp_path: Path, server: str) -> None:
    env = sqlite_env(tmp_path)
    seeded = run_cli(["seed", "--students", "30", "--password", "pw-12345678", "--quiet"], env)
    assert seeded.returncode == 0, seeded.stderr
    proc, base = _serve(env, "--workers", "2", "--server", server)
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            token = http.post(
                "/api/v1/auth/login",
                json={"email": "admin@example.edu", "password": "pw-12345678"},
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}", "Accept-Encoding": "br, gzip"}
            r = http.get("/api/v1/students?limit=30", headers=auth)
            assert r.status_code == 200
            assert r.headers["content-encoding"] == "br"
            assert len(r.json()["items"]) == 30
            again = http.get(
                "/api/v1/students?limit=30", headers={**auth, "If-None-Match": r.headers["etag"]}
            )
            assert again.status_code == 304
            b = http.post(
                "/api/v1/batch",
                headers=auth,
                json={"requests": [{"method": "GET", "path": "/api/v1/students?limit=2"}]},
            )
            assert b.json()["responses"][0]["status"] == 200
    finally:
        _stop(proc)


@pytest.mark.live
def test_unknown_server_refused(tmp_path: Path) -> None:
    result = run_cli(["serve", "--server", "gunicorn"], sqlite_env(tmp_path))
    assert result.returncode == 2
    assert "--server" in result.stderr


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_says_where_to_go_and_stops_on_ctrl_c_without_a_traceback(
    tmp_path: Path, server: str
) -> None:
    env = sqlite_env(tmp_path)
    seeded = run_cli(["seed", "--students", "30", "--quiet"], env)
    assert seeded.returncode == 0, seeded.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    command = [str(BIN / "homeroom"), "serve", "--port", str(port), "--workers", "2"]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [*command, "--server", server],
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    try:
        deadline = time.monotonic() + 120
        while "Homeroom is up" not in out.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, "no welcome printed"
            time.sleep(0.2)
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        # Ctrl-C: the terminal sends SIGINT to every process of the foreground group.
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    printed, errors = out.read_text(), err.read_text()
    assert f"Homeroom is up: {base}" in printed
    assert f"{base}/docs" in printed and f"{base}/redoc" in printed
    assert "admin@example.edu" in printed
    assert "Traceback" not in errors + printed
    assert "KeyboardInterrupt" not in errors + printed


@pytest.mark.live
def test_ctrl_c_while_workers_start_stops_without_a_traceback(tmp_path: Path) -> None:
    """A Ctrl-C that reaches the workers while they still import the application (the
    terminal signals the whole group) stops the server quietly: they ignore it until their
    server has its own handlers, and the supervisor stops them."""
    env = sqlite_env(tmp_path)
    migrated = run_cli(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    output = tmp_path / "output"
    with output.open("wb") as stdout:
        proc = subprocess.Popen(
            [str(BIN / "homeroom"), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Spawning worker-2" not in output.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, "no worker spawned"
            time.sleep(0.01)
        time.sleep(0.1)  # worker-2 is importing the application (seen to fail then)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    errors = output.read_text()
    assert "Traceback" not in errors, errors
    assert "KeyboardInterrupt" not in errors, errors
