"""A real `homeroom serve` process for tests that need one (real HTTP, real workers)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "HOMEROOM_VAR_DIR": str(tmp_path),
        "HOMEROOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'server.db'}",
    }
    env.pop("HOMEROOM_SECRET_KEY", None)
    return env


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "homeroom"), *args], env=env, capture_output=True, text=True, timeout=300
    )


@contextmanager
def serving(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """Runs `homeroom serve` until the block ends; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "homeroom"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a loaded 2-core machine starts slowly
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            if proc.poll() is not None:
                raise RuntimeError(f"homeroom serve exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("homeroom serve did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
