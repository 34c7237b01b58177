import random
import string
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
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


def _label_sets(prefix: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Every (metric, labels) pair exposed under `prefix`, histogram buckets folded."""
    found = set()
    for family in REGISTRY.collect():
        if family.name.startswith(prefix):
            for sample in family.samples:
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
                found.add((family.name, labels))
    return found


class TestClosedLabelSets:
    async def test_made_up_methods_and_paths_add_no_series(
        self, client: AsyncClient, app: FastAPI
    ) -> None:
        """500 requests with random method names once added 8,000 series to /metrics."""
        rng = random.Random(5)
        # The scrape first: the first one in a process adds its own series (GET /metrics).
        scrape = len((await client.get("/metrics")).text)
        before = _label_sets("homeroom_http_")
        for _ in range(300):
            method = "".join(rng.choices(string.ascii_uppercase, k=rng.randrange(3, 12)))
            # A letter first: "//x..." would be a URL of host x, path "/" (now the sign-in page).
            path = "/" + rng.choice(string.ascii_lowercase)
            path += "".join(rng.choices(string.ascii_lowercase + "/", k=19))
            await client.request(method, path)
            await client.request(method, f"/api/v1/students/{rng.randrange(10**9)}")
            await client.request(method.lower(), "/healthz")
        new = _label_sets("homeroom_http_") - before
        # other x (unmatched, the students route, /healthz) x 4xx, and their histograms.
        assert len(new) <= 6, sorted(new)
        templates = {r.path for r in app.router.routes if isinstance(r, APIRoute)}
        for _, labels in _label_sets("homeroom_http_"):
            values = dict(labels)
            assert values["method"] in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} | {
                "OPTIONS",
                "other",
            }
            assert values["route"] in templates | {"unmatched"}
            if "status" in values:
                assert values["status"] in {"1xx", "2xx", "3xx", "4xx", "5xx"}
        assert len((await client.get("/metrics")).text) < scrape + 10_000  # a few series


@pytest.mark.live
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
