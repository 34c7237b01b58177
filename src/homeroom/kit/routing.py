"""Routes: one route class for every API route, and matching through an index.

Domain routers are declared with `route_class=Route` (FastAPI's extension point for routes)
and included with `app.include_router`, so FastAPI copies every route setting itself. `Route`
documents what kit adds to a route (the query models it parses, the 413 of a body that is too
large, the Idempotency-Key of a creating POST) and records a creating POST's answer for its
key (kit/idempotency.py). `document_conditional_writes` adds If-Match and 412 to a write of a
path that can also be read.

`index_routes` narrows each request to the routes that share its leading path segments instead
of trying every route's regex in turn. Measured in-process: /healthz cost 160-300 us of CPU
when its route came after ~70 others, ~45 us once matching was indexed. The index is a router
middleware (Starlette's `Router(middleware=...)` slot, which FastAPI's application router
does not take as an argument, so it is set as Starlette's Router sets it);
tests/kit/test_routing.py fails if the framework stops calling it or if it would pick another
route than Starlette's own matching.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Router
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from homeroom.kit import idempotency
from homeroom.kit.errors import PROBLEM_JSON
from homeroom.kit.params import QUERY_MODEL, openapi_parameters


def _query_models(dependant: Dependant) -> list[type[BaseModel]]:
    found = []
    for dependency in dependant.dependencies:
        model = getattr(dependency.call, QUERY_MODEL, None)
        if model is not None:
            found.append(model)
        found += _query_models(dependency)
    return found


_TOO_LARGE: dict[str, Any] = {
    "description": "The request body is larger than the limit (HOMEROOM_MAX_BODY_BYTES)",
    "content": {PROBLEM_JSON: {}},
}


def _with_parameters(
    extra: dict[str, Any] | None, parameters: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """`extra` with `parameters` documented once each (a route included into another router
    is built again from its own settings)."""
    merged = dict(extra or {})
    present = list(merged.get("parameters", []))
    known = {(p.get("name"), p.get("in")) for p in present}
    present += [p for p in parameters if (p["name"], p["in"]) not in known]
    if present:
        merged["parameters"] = present
    return merged or None


class Route(APIRoute):
    """Every API route. Documents the query parameters its query models parse, the 413 of a
    route that reads a body (kit/guards.LimitBody) and, on a creating POST, the
    Idempotency-Key; a creating POST's answer is recorded for its key before the request's
    unit of work commits (the endpoint returns first, then the unit of work exits: the
    handler runs in between)."""

    idempotent: bool = False

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.body_field is not None and 413 not in self.responses:
            self.responses = {**self.responses, 413: _TOO_LARGE}
        parameters = [p for m in _query_models(self.dependant) for p in openapi_parameters(m)]
        extra = self.openapi_extra
        if self.idempotent:
            extra = {**(extra or {}), **idempotency.IDEMPOTENT}
            parameters.append(idempotency.OPENAPI_PARAMETER)
        self.openapi_extra = _with_parameters(extra, parameters)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        self.idempotent = idempotency.is_idempotent(self)
        if not self.idempotent:
            return handler

        async def idempotent(request: Request) -> Response:
            response = await handler(request)
            await idempotency.record(request, response)
            return response

        return idempotent


_IF_MATCH: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The ETag you read (GET): if the record changed since, nothing is written "
    "and the answer is 412. Compared inside the write's transaction, with the row locked.",
    "schema": {"type": "string"},
}
_PRECONDITION_FAILED: dict[str, Any] = {
    "description": "Precondition failed: the If-Match ETag is not the record's current one",
    "content": {PROBLEM_JSON: {}},
}
_CONDITIONAL = {"PATCH", "PUT", "DELETE"}


def document_conditional_writes(app: FastAPI) -> None:
    """A PATCH, PUT or DELETE of a path the application can also GET is documented with
    If-Match and its 412 (the OpenAPI document is built from these settings when asked)."""
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    readable = {r.path for r in routes if "GET" in r.methods}
    for route in routes:
        if route.methods & _CONDITIONAL and route.path in readable:
            route.responses = {**route.responses}
            route.responses.setdefault(412, _PRECONDITION_FAILED)
            route.openapi_extra = _with_parameters(route.openapi_extra, [_IF_MATCH])


_KEY_DEPTH = 3  # "/api/v1/students/..." -> ("api", "v1", "students")


def _route_key(path: str) -> tuple[str, ...] | None:
    """The literal leading segments of a route path, or None when a parameter comes first."""
    segments = path.strip("/").split("/")
    literal: list[str] = []
    for segment in segments[:_KEY_DEPTH]:
        if "{" in segment:
            return tuple(literal) if len(literal) == _KEY_DEPTH else None
        literal.append(segment)
    return tuple(literal)


def _request_key(path: str) -> tuple[str, ...]:
    return tuple(path.strip("/").split("/")[:_KEY_DEPTH])


class RouteIndex:
    """A router's routes by their leading literal segments: each key's list holds the routes
    with that key and the routes a parameter starts (wildcards), in the router's order, so the
    first full match is the one Starlette's linear scan would find. Rebuilt when routes are
    added."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self._routes = routes  # the router's own list
        self._index: dict[tuple[str, ...], list[BaseRoute]] = {}
        self._wildcards: list[BaseRoute] = []
        self._indexed_count = -1

    def candidates(self, path: str) -> list[BaseRoute]:
        if self._indexed_count != len(self._routes):
            self._build()
        return self._index.get(_request_key(path), self._wildcards)

    def _build(self) -> None:
        keyed: dict[tuple[str, ...], list[int]] = {}
        wildcards: list[int] = []
        routes = self._routes
        for position, route in enumerate(routes):
            key = _route_key(getattr(route, "path", "") or "")
            if key is None or not isinstance(route, StarletteRoute):
                wildcards.append(position)
            else:
                keyed.setdefault(key, []).append(position)
        self._index = {
            key: [routes[p] for p in sorted(positions + wildcards)]
            for key, positions in keyed.items()
        }
        self._wildcards = [routes[p] for p in wildcards]
        self._indexed_count = len(routes)


class IndexedMatching:
    """Router middleware: answers a request with the first route of its index candidates that
    matches it in full, as `Router.app` does with all routes; anything else (404, 405, slash
    redirects, lifespan) goes on to `Router.app`, so behaviour is unchanged."""

    def __init__(self, app: ASGIApp, router: Router, index: RouteIndex) -> None:
        self.app = app
        self.router = router
        self.index = index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.index.candidates(scope["path"]):
                match, child_scope = route.matches(scope)
                if match == Match.FULL:
                    if "router" not in scope:
                        scope["router"] = self.router
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def index_routes(app: FastAPI) -> RouteIndex:
    """Puts IndexedMatching in front of the application router's own matching and keeps the
    index on `app.state.route_index` (kit/fastpath and find_route read it)."""
    router = app.router
    # Starlette's Router sets middleware_stack to its own `app`, wrapped by the middleware it
    # was given; FastAPI gives the application's router none.
    assert router.middleware_stack == router.app, "router middleware is already set"
    index = RouteIndex(router.routes)
    router.middleware_stack = IndexedMatching(router.app, router, index)
    app.state.route_index = index
    return index


def route_index(app: ASGIApp) -> RouteIndex | None:
    """The application's route index, if it has one."""
    state = getattr(app, "state", None)
    return getattr(state, "route_index", None) if state is not None else None


def find_route(app: ASGIApp, scope: Scope) -> BaseRoute | None:
    """The route that would answer `scope` in full (path and method), as the router picks it;
    None when the request would be a 404 or a 405."""
    router = getattr(app, "router", None)
    if router is None:
        return None
    index = route_index(app)
    candidates = index.candidates(scope["path"]) if index is not None else router.routes
    for route in candidates:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route
    return None


def _is_json(media_type: str) -> bool:
    media = media_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def is_json_read(route: BaseRoute) -> bool:
    """A GET route whose answer is one JSON document of a declared model, by its own
    declaration (the one the OpenAPI document shows). Streams, downloads and documents in
    other formats (CSV, XLSX, PDF) declare another response class or another 2xx media type;
    routes without a response model (/healthz, /metrics) are not API reads."""
    if not isinstance(route, APIRoute) or "GET" not in route.methods:
        return False
    if route.response_model is None:
        return False
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    if not (isinstance(response_class, type) and issubclass(response_class, JSONResponse)):
        return False
    for status, declared in route.responses.items():
        media_types = declared.get("content") or {}
        if str(status).startswith("2") and not all(_is_json(m) for m in media_types):
            return False
    return True
