"""The real thing: `homeroom serve` in its own processes, driven over HTTP."""

from pathlib import Path

import httpx
import pytest

from tests.live import run_cli, serving, sqlite_env

pytestmark = pytest.mark.live


def test_log_in_over_http_and_page_through_students(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert run_cli(["migrate"], env).returncode == 0
    # An all-schools admin, created with the CLI, logs in over real HTTP.
    made = run_cli(["create-school", "--code", "real", "--name", "Real School"], env)
    assert made.returncode == 0, made.stderr
    school_id = int(made.stdout.rsplit("id ", 1)[1].rstrip(")\n"))
    bad = run_cli(
        [
            "create-user",
            "--email",
            "x@example.edu",
            "--password",
            "s3cret-pass",
            "--role",
            "admin",
            "--school",
            "nowhere",
        ],
        env,
    )
    assert bad.returncode != 0 and "no school" in bad.stderr
    ok = run_cli(
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
    )
    assert ok.returncode == 0, ok.stderr
    with serving(env) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/readyz").json() == {"status": "ready"}
        assert http.get("/api/v1/students").status_code == 401
        tokens = http.post(
            "/api/v1/auth/login", json={"email": "head@example.edu", "password": "s3cret-pass"}
        ).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
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
        assert "homeroom_http_requests_total" in http.get("/metrics").text
        assert http.get("/openapi.json").json()["info"]["title"] == "Homeroom"
