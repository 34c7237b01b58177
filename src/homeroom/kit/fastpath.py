"""Hot GET requests without the framework's per-request machinery.

Routes are declared with FastAPI as usual (typed parameters, dependencies, OpenAPI); what costs
is how a request reaches them. FastAPI resolves every request's dependencies generically,
re-inspecting each parameter's annotation (`solve_dependencies` was over half of the CPU of
`GET /students/{id}`, ~300 us in process), behind three more layers of middleware (server
errors, exceptions, exit stacks) and its own request wrapper.

At start-up each GET route whose parameters are all of the kinds below gets a plan, and
`FastReads` (innermost of the application's middleware) runs the plan directly:

- the endpoint's `Request` parameter;
- path and query parameters, validated by FastAPI's own fields (the same rules, the same
  coercion);
- dependencies whose only parameter is the request (authentication, the database, query
  models, paging), each called once per request as FastAPI caches them.

Anything else (a body, a dependency with `yield` or with parameters of its own, headers,
cookies, `Response`/`BackgroundTasks` parameters, an endpoint not annotated as returning a
`Response`) keeps the route on FastAPI, as do requests while `dependency_overrides` are set.
A fast run that raises anything (a validation error, a 404, a database error) is run again
through the whole framework before a byte is sent, so every error is rendered exactly as
FastAPI renders it: a GET has no side effects to repeat.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi._compat import ModelField, is_scalar_field
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from homeroom.kit.routing import RouteIndex, route_index


class _Fallback(Exception):
    """The fast run cannot answer this request: FastAPI will."""


@dataclass(frozen=True, slots=True)
class _Dependency:
    name: str
    call: Callable[[Request], Awaitable[Any]]
    key: Any  # FastAPI's cache key: one call per request for the same key


@dataclass(frozen=True, slots=True)
class Plan:
    """How to call one route's endpoint from a request."""

    call: Callable[..., Awaitable[Response]]
    request_name: str | None
    dependencies: tuple[_Dependency, ...]
    path: tuple[tuple[str, str, ModelField], ...]  # (argument, alias, field)
    query: tuple[tuple[str, str, ModelField], ...]

    async def run(self, scope: Scope, receive: Receive, send: Send) -> Response:
        request = Request(scope, receive, send)
        values: dict[str, Any] = {}
        if self.dependencies:
            solved: dict[Any, Any] = {}
            for dep in self.dependencies:
                if dep.key in solved:
                    values[dep.name] = solved[dep.key]
                else:
                    values[dep.name] = solved[dep.key] = await dep.call(request)
        if self.path:
            path_params = scope["path_params"]
            for name, alias, field in self.path:
                values[name] = _validated(field, path_params.get(alias), ("path", alias))
        if self.query:
            query_params = request.query_params
            for name, alias, field in self.query:
                raw = query_params.get(alias)
                if raw is None:
                    if field.field_info.is_required():
                        raise _Fallback
                    values[name] = field.get_default()
                else:
                    values[name] = _validated(field, raw, ("query", alias))
        if self.request_name is not None:
            values[self.request_name] = request
        response = await self.call(**values)
        if not isinstance(response, Response):
            raise _Fallback
        return response


def _validated(field: ModelField, value: Any, loc: tuple[str, str]) -> Any:
    checked, errors = field.validate(value, {}, loc=loc)
    if errors:
        raise _Fallback
    return checked


def _simple_dependency(dep: Dependant) -> _Dependency | None:
    """A dependency FastPath may call itself: async, its only parameter the request."""
    if (
        dep.call is None
        or dep.name is None
        or dep.dependencies
        or dep.path_params
        or dep.query_params
        or dep.header_params
        or dep.cookie_params
        or dep.body_params
        or dep.request_param_name is None
        or dep.websocket_param_name
        or dep.http_connection_param_name
        or dep.response_param_name
        or dep.background_tasks_param_name
        or dep.security_scopes_param_name
        or dep.is_gen_callable
        or dep.is_async_gen_callable
        or not dep.is_coroutine_callable
    ):
        return None
    return _Dependency(dep.name, dep.call, dep.cache_key)


def plan(route: APIRoute) -> Plan | None:
    """The plan of a GET route, or None when FastAPI must run it."""
    d = route.dependant
    if (
        route.methods != {"GET"}
        or d.call is None
        or d.body_params
        or d.header_params
        or d.cookie_params
        or d.websocket_param_name
        or d.http_connection_param_name
        or d.response_param_name
        or d.background_tasks_param_name
        or d.security_scopes_param_name
        or not inspect.iscoroutinefunction(d.call)
    ):
        return None
    returns = inspect.signature(d.call).return_annotation
    if not (inspect.isclass(returns) and issubclass(returns, Response)):
        return None
    dependencies = []
    for sub in d.dependencies:
        simple = _simple_dependency(sub)
        if simple is None:
            return None
        dependencies.append(simple)
    if not all(is_scalar_field(f) for f in d.query_params):
        return None
    return Plan(
        call=d.call,
        request_name=d.request_param_name,
        dependencies=tuple(dependencies),
        path=tuple((f.name, f.alias, f) for f in d.path_params),
        query=tuple((f.name, f.alias, f) for f in d.query_params),
    )


class FastReads:
    """Runs planned GET routes directly; everything else goes on to the framework."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi
        self._plans: dict[int, Plan | None] | None = None
        self._index: RouteIndex | None = None

    def _plans_by_route(self) -> dict[int, Plan | None]:
        plans = {}
        for route in self.fastapi.router.routes:
            if isinstance(route, APIRoute):
                plans[id(route)] = plan(route)
        self._plans = plans
        return plans

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        index = self._index or route_index(self.fastapi)
        if index is None or self.fastapi.dependency_overrides:
            await self.app(scope, receive, send)
            return
        self._index = index
        plans = self._plans if self._plans is not None else self._plans_by_route()
        path = scope["path"]
        router = self.fastapi.router
        for route in index.candidates(path):
            # As the router: the first route matching the path and the method decides (one
            # that matches the path only is passed over); if it is planned it runs here,
            # else the framework runs it.
            regex = getattr(route, "path_regex", None)
            if regex is None:
                break
            matched = regex.match(path)
            if matched is None:
                continue
            found = plans.get(id(route))
            if found is None:
                methods = getattr(route, "methods", None)
                if methods and "GET" not in methods:
                    continue
                break
            convertors = route.param_convertors  # type: ignore[attr-defined]
            path_params = dict(scope.get("path_params", {}))
            for name, value in matched.groupdict().items():
                path_params[name] = convertors[name].convert(value)
            scope["router"] = router
            scope["endpoint"] = route.endpoint  # type: ignore[attr-defined]
            scope["path_params"] = path_params
            scope["route"] = route
            try:
                response = await found.run(scope, receive, send)
            except Exception:
                break  # FastAPI runs it again and renders whatever it raises
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
