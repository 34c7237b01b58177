"""Never stale across processes: a real `homeroom serve` with 2 workers, each with its own
cache. Every cached endpoint is read many times (both workers cache it), written through the
API, then read 20 times on fresh connections: every answer shows the write."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from homeroom.config import Settings
from homeroom.kit.db import Database
from tests.live import run_cli, serving, sqlite_env

PASSWORD = "Live-Cache-1"
API = "/api/v1"
REDIS_URL = os.environ.get("HOMEROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")

# It empties that Redis db: the other tests using it run on the same xdist worker.
pytestmark = [pytest.mark.live, pytest.mark.xdist_group("redis")]


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    if settings.is_sqlite:
        return sqlite_env(tmp_path)
    env = {
        **os.environ,
        "HOMEROOM_VAR_DIR": str(tmp_path),
        "HOMEROOM_DATABASE_URL": settings.effective_database_url,
    }
    env.pop("HOMEROOM_SECRET_KEY", None)
    return env


def _get(base: str, url: str, auth: dict[str, str]) -> Any:
    # A new connection each time, so the requests spread over both workers.
    r = httpx.get(base + url, headers={**auth, "Connection": "close"}, timeout=10)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


def _fresh_everywhere(
    base: str,
    auth: dict[str, str],
    url: str,
    write: Callable[[], None],
    is_new: Callable[[Any], bool],
) -> None:
    for _ in range(12):
        assert not is_new(_get(base, url, auth))
    write()
    stale = [body for body in (_get(base, url, auth) for _ in range(20)) if not is_new(body)]
    assert stale == [], f"{url}: {len(stale)} of 20 reads after the write were stale"


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_no_worker_serves_a_stale_answer_after_a_write(
    settings: Settings, db: Database, tmp_path: Path, store: str
) -> None:
    """`db` is requested so the tables are emptied afterwards (PostgreSQL shares them)."""
    env = _env(settings, tmp_path)
    if store == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        env["HOMEROOM_REDIS_URL"] = REDIS_URL
    if settings.is_sqlite:
        assert run_cli(["migrate"], env).returncode == 0
    seeded = run_cli(["seed", "--students", "30", "--password", PASSWORD, "--quiet"], env)
    if seeded.returncode != 0:
        pytest.fail(seeded.stderr)
    with serving(env, workers=2) as base, httpx.Client(base_url=base, timeout=10) as http:
        login = {"email": "admin@example.edu", "password": PASSWORD}
        token = http.post(f"{API}/auth/login", json=login).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def post(url: str, body: dict[str, Any], status: int = 200) -> None:
            r = http.post(url, headers=auth, json=body)
            assert r.status_code == status, r.text

        def patch(url: str, body: dict[str, Any]) -> None:
            r = http.patch(url, headers=auth, json=body)
            assert r.status_code == 200, r.text

        students = _get(base, f"{API}/students?limit=30", auth)["items"]
        student_id, section = next(
            (s["id"], g["sections"][0])
            for s in students
            if (g := _get(base, f"{API}/students/{s['id']}/grades", auth))["sections"]
            and g["sections"][0]["grades"]
        )
        section_id = section["section_id"]
        course_id = _get(base, f"{API}/sections/{section_id}", auth)["course_id"]
        assessment_id = section["grades"][0]["assessment_id"]

        _fresh_everywhere(
            base,
            auth,
            f"{API}/courses/{course_id}",
            lambda: patch(f"{API}/courses/{course_id}", {"title": "Live title"}),
            lambda body: body["title"] == "Live title",
        )
        _fresh_everywhere(
            base,
            auth,
            f"{API}/sections/{section_id}",
            lambda: patch(f"{API}/sections/{section_id}", {"room": "Live-1"}),
            lambda body: body["room"] == "Live-1",
        )

        def score(body: dict[str, Any]) -> Any:
            mine = next(s for s in body["sections"] if s["section_id"] == section_id)
            return next(g["score"] for g in mine["grades"] if g["assessment_id"] == assessment_id)

        _fresh_everywhere(
            base,
            auth,
            f"{API}/students/{student_id}/grades",
            lambda: post(
                f"{API}/grades/bulk",
                {
                    "assessment_id": assessment_id,
                    "grades": [{"student_id": student_id, "score": 0}],
                },
            ),
            lambda body: score(body) == 0,
        )
        before = _get(base, f"{API}/students/{student_id}/attendance", auth)["total"]
        sessions = _get(base, f"{API}/sections/{section_id}/attendance", auth)["sessions"]
        take = {
            "section_id": section_id,
            "date": "2020-02-03",
            "records": [{"student_id": student_id, "status": "late"}],
        }
        _fresh_everywhere(
            base,
            auth,
            f"{API}/students/{student_id}/attendance",
            lambda: post(f"{API}/attendance/bulk", take),
            lambda body: body["total"] == before + 1,
        )
        _fresh_everywhere(
            base,
            auth,
            f"{API}/sections/{section_id}/attendance",
            lambda: post(f"{API}/attendance/bulk", {**take, "date": "2020-02-04"}),
            lambda body: body["sessions"] == sessions + 2,
        )
        metrics = http.get("/metrics").text
        assert 'homeroom_cache_hits_total{region="student_grades"}' in metrics
        assert 'homeroom_cache_misses_total{region="section"}' in metrics
