from fastapi import FastAPI
from fastapi.routing import APIRoute
from httpx import AsyncClient

from homeroom.kit.routing import IndexedRouter, _request_key, _route_key


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
