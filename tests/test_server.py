"""The real thing: `homeroom serve` in its own process, driven over HTTP."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "homeroom"), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = _free_port()
    env = {
        **os.environ,
        "HOMEROOM_VAR_DIR": str(tmp_path),
        "HOMEROOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'server.db'}",
    }
    env.pop("HOMEROOM_SECRET_KEY", None)
    assert _run(["migrate"], env).returncode == 0
    made = _run(
        [
            "create-user",
            "--email",
            "Head@Example.edu",
            "--password",
            "s3cret-pass",
            "--role",
            "admin",
            "--school",
            "none",
        ],
        env,
    )
    assert made.returncode != 0 and "no school" in made.stderr  # no such school yet
    proc = subprocess.Popen(
        [str(BIN / "homeroom"), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_log_in_over_http_and_page_through_students(server) -> None:  # type: ignore[no-untyped-def]
    base, env = server
    # An all-schools admin, created with the CLI, logs in over real HTTP.
    assert (
        _run(
            [
                "create-user",
                "--email",
                "Head@Example.edu",
                "--password",
                "s3cret-pass",
                "--role",
                "admin",
            ],
            env,
        ).returncode
        == 0
    )
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/readyz").json() == {"status": "ready"}
        assert http.get("/api/v1/students").status_code == 401
        tokens = http.post(
            "/api/v1/auth/login", json={"email": "head@example.edu", "password": "s3cret-pass"}
        ).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        made = _run(["create-school", "--code", "real", "--name", "Real School"], env)
        assert made.returncode == 0, made.stderr
        school_id = int(made.stdout.rsplit("id ", 1)[1].rstrip(")\n"))
        for i in range(12):
            r = http.post(
                "/api/v1/students",
                headers=auth,
                json={
                    "school_id": school_id,
                    "student_number": f"R{i:03d}",
                    "first_name": f"Real{i}",
                    "last_name": f"Server{i:02d}",
                    "email": f"real{i}@example.edu",
                    "date_of_birth": "2010-05-05",
                    "grade_level": 10,
                },
            )
            assert r.status_code == 201, r.text
        seen: list[str] = []
        url: str | None = "/api/v1/students?limit=5"
        while url:
            r = http.get(url, headers=auth)
            assert r.status_code == 200
            seen += [s["student_number"] for s in r.json()["items"]]
            link = r.headers.get("Link")
            url = link[1 : link.index(">")] if link else None
        assert sorted(seen) == [f"R{i:03d}" for i in range(12)]
        assert "python_info" in http.get("/metrics").text
        assert http.get("/openapi.json").json()["info"]["title"] == "Homeroom"
