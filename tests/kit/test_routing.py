from typing import Any

import fastapi
import starlette
from fastapi import FastAPI
from fastapi.routing import APIRoute
from httpx import ASGITransport, AsyncClient
from starlette.routing import BaseRoute, Match

from homeroom.imports.columns import KINDS
from homeroom.kit.fastpath import plan
from homeroom.kit.routing import (
    IndexedMatching,
    Route,
    RouteIndex,
    _request_key,
    _route_key,
    find_route,
    is_json_read,
    route_index,
)
from homeroom.web.pages import WebRoute


def _samples(app: FastAPI) -> list[str]:
    """A path each route answers (its parameters filled in), and near misses."""
    paths = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            path = route.path_format
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", "7" if "id" in name else "students")
            paths += [path, path + "/", path + "/extra", path.rstrip("/") + "x"]
    return [*paths, "/", "/api", "/api/v1", "/api/v1/", "/nothing"]


def _linear(app: FastAPI, scope: dict[str, Any]) -> BaseRoute | None:
    """The route Starlette's own matching picks: the first full match of all routes."""
    for route in app.router.routes:
        if route.matches(scope)[0] == Match.FULL:
            return route
    return None


class TestIndexedMatching:
    def test_the_app_router_matches_through_the_index(self, app: FastAPI) -> None:
        stack = app.router.middleware_stack
        assert isinstance(stack, IndexedMatching)
        assert stack.app == app.router.app
        assert route_index(app) is stack.index

    async def test_the_framework_calls_it(self, app: FastAPI) -> None:
        """Starlette's Router.__call__ goes through `middleware_stack`: if a release stops
        doing so, requests skip the index (correct, but slow again) and this fails."""
        index = route_index(app)
        assert isinstance(index, RouteIndex)
        asked: list[str] = []
        candidates = index.candidates

        def spy(path: str) -> list[BaseRoute]:
            asked.append(path)
            return candidates(path)

        index.candidates = spy  # type: ignore[method-assign]
        try:
            transport = ASGITransport(app=app)
            async with AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/healthz")).status_code == 200
        finally:
            del index.candidates
        assert "/healthz" in asked

    def test_it_picks_the_route_starlette_would(self, app: FastAPI) -> None:
        index = route_index(app)
        assert index is not None
        methods = ("GET", "POST", "PATCH", "PUT", "DELETE")
        for path in _samples(app):
            for method in methods:
                scope = {**_get(path), "method": method}
                expected = _linear(app, scope)
                found = next(
                    (r for r in index.candidates(path) if r.matches(scope)[0] == Match.FULL),
                    None,
                )
                assert found is expected, (method, path)
                assert find_route(app, scope) is expected, (method, path)

    def test_every_api_route_is_a_homeroom_route(self, app: FastAPI) -> None:
        """Routers are declared with route_class=Route and included with include_router,
        which keeps each route's class. The web UI's pages (web/<room>/routes.py) are no API
        routes: out of the OpenAPI document, answering HTML, each a WebRoute."""
        others = [
            r.path
            for r in app.routes
            if isinstance(r, APIRoute) and type(r) is not Route and type(r) is not WebRoute
        ]
        assert others == []
        pages = {r.path for r in app.routes if type(r) is WebRoute}
        assert {"/", "/home", "/sign-out"} <= pages
        assert not any(path.startswith("/api/") for path in pages)

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
            if isinstance(route, APIRoute)
            and "GET" in route.methods
            and not is_json_read(route)
            and type(route) is not WebRoute  # the web UI's pages: HTML
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
        assert not any(is_json_read(r) for r in app.router.routes if type(r) is WebRoute)
        student = find_route(app, _get("/api/v1/students/7"))
        assert student is not None and is_json_read(student)
        assert find_route(app, _get("/api/v1/nothing-here")) is None
        assert find_route(app, {**_get("/api/v1/students/7"), "method": "PUT"}) is None


def _get(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}


class TestFrameworkInternals:
    """kit/routing and kit/fastpath use parts of FastAPI and Starlette that are not public
    API (the router's middleware slot, a route's regex and convertors, the Dependant's
    fields, ModelField.validate). FastAPI is pinned (pyproject.toml) because newer releases
    cost more CPU per request (bench/README.md, "FastAPI releases"); before the pin moves,
    these tests say what changed."""

    def test_the_pinned_releases(self) -> None:
        assert (fastapi.__version__, starlette.__version__) == ("0.128.0", "0.50.0"), (
            "FastAPI or Starlette moved: measure bench/raw_app.py and bench/reads.py against "
            "the pinned release and check kit/fastpath.py and kit/routing.py before changing "
            "the pin"
        )

    def test_the_hot_reads_are_planned(self, app: FastAPI) -> None:
        """Each of these GETs runs without FastAPI's per-request machinery; if a Dependant
        field kit/fastpath reads is renamed or changes meaning, plans are refused (or fail)
        and this lists the routes that fell back."""
        hot = {
            "/api/v1/students/{student_id}",
            "/api/v1/students",
            "/api/v1/students/{student_id}/grades",
            "/api/v1/auth/me",
            "/api/v1/analytics/me",
            "/healthz",
        }
        routes = {
            r.path: r
            for r in app.routes
            if isinstance(r, APIRoute) and r.path in hot and "GET" in r.methods
        }
        assert set(routes) == hot
        assert [path for path, route in routes.items() if plan(route) is None] == []

    def test_route_internals(self, app: FastAPI) -> None:
        route = next(
            r for r in app.routes if getattr(r, "path", "") == "/api/v1/students/{student_id}"
        )
        assert isinstance(route, APIRoute)
        matched = route.path_regex.match("/api/v1/students/42")
        assert matched is not None
        assert route.param_convertors["student_id"].convert(matched["student_id"]) == "42"
        field = route.dependant.path_params[0]
        assert field.validate("42", {}, loc=("path", "student_id")) == (42, None)
        _checked, errors = field.validate("x", {}, loc=("path", "student_id"))
        assert errors
