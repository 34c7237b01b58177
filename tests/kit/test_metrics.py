from pathlib import Path

import httpx
from httpx import AsyncClient
from prometheus_client import REGISTRY

from tests.factories import Factory
from tests.live import run_cli, serving, sqlite_env


def _count(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "homeroom_http_requests_total", {"method": "GET", "route": route, "status": status}
    )
    return value or 0.0


class TestRequestMetrics:
    async def test_requests_are_counted_by_route_template(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school)
        route = "/api/v1/students/{student_id}"
        ok, missing = _count(route, "2xx"), _count(route, "4xx")
        await client.get(f"/api/v1/students/{student.id}", headers=headers)
        await client.get("/api/v1/students/999999", headers=headers)
        assert _count(route, "2xx") == ok + 1
        assert _count(route, "4xx") == missing + 1
        r = await client.get("/metrics")
        assert f'route="{route}"' in r.text
        assert "homeroom_http_request_duration_seconds_bucket" in r.text
        assert r.headers["Cache-Control"] == "no-store"


def test_metrics_aggregate_every_worker(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert run_cli(["migrate"], env).returncode == 0
    with serving(env, workers=2) as base, httpx.Client(base_url=base) as http:
        for _ in range(40):  # new connections: spread over both workers
            assert httpx.get(f"{base}/healthz").status_code == 200
        text = http.get("/metrics").text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("homeroom_http_requests_total{")
        and 'route="/healthz"' in ln
        and 'status="2xx"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 40
