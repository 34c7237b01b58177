from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from httpx import AsyncClient

from homeroom.imports.columns import KINDS
from homeroom.kit.routing import IndexedRouter, _request_key, _route_key, find_route, is_json_read


class TestIndexedRouter:
    def test_the_app_router_is_indexed(self, app: FastAPI) -> None:
        assert isinstance(app.router, IndexedRouter)
        assert app.router.middleware_stack == app.router.app

    def test_every_route_is_a_candidate_for_its_own_paths(self, app: FastAPI) -> None:
        router = app.router
        assert isinstance(router, IndexedRouter)
        for route in router.routes:
            if isinstance(route, APIRoute):
                sample = route.path_format.replace("{", "").replace("}", "")
                assert route in router._candidates(sample), route.path

    def test_keys(self) -> None:
        assert _route_key("/api/v1/students/{student_id}") == ("api", "v1", "students")
        assert _route_key("/healthz") == ("healthz",)
        assert _route_key("/{anything}") is None
        assert _request_key("/api/v1/students/5/grades") == ("api", "v1", "students")

    async def test_misses_behave_as_stock_starlette(self, client: AsyncClient) -> None:
        r = await client.get("/api/v1/nothing-here")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        r = await client.delete("/api/v1/auth/login")
        assert r.status_code == 405
        assert (await client.get("/healthz")).status_code == 200


class TestJsonReads:
    def test_every_get_route_is_a_json_read_but_files_streams_and_ops(self, app: FastAPI) -> None:
        """What a batch may run (kit/routing.is_json_read), listed here so that a new route
        that is not a plain JSON read is a deliberate change of this list."""
        others = {
            route.path
            for route in app.router.routes
            if isinstance(route, APIRoute) and "GET" in route.methods and not is_json_read(route)
        }
        assert others == {
            "/api/v1/export/students/csv",
            "/api/v1/export/students/excel",
            "/api/v1/jobs/{job_id}/download",
            "/api/v1/students/{student_id}/report-card",
            "/api/v1/students/{student_id}/transcript",
            *(f"/api/v1/imports/{kind}/template" for kind in KINDS),
            "/healthz",
            "/readyz",
            "/metrics",
        }
        assert is_json_read(find_route(app, _get("/api/v1/students/7")))  # type: ignore[arg-type]
        assert find_route(app, _get("/api/v1/nothing-here")) is None
        assert find_route(app, {**_get("/api/v1/students/7"), "method": "PUT"}) is None


def _get(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
