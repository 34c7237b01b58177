"""Answers checked against what the OpenAPI document promises.

Endpoints return ready `Response`s (orjson bytes from tuples, kit/responses.py), so FastAPI
never validates them against the route's `response_model`: a renamed column or a missing field
would reach clients while the document says otherwise. With HOMEROOM_CHECK_RESPONSES (the test
suite sets it) `CheckResponses` holds each successful JSON answer, validates it against the
model of the route that answered (`scope["route"]`, set by the router and by kit/fastpath) and
raises `ResponseMismatch` instead of sending one that does not match.
"""

from functools import cache
from typing import Any

from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ResponseMismatch(AssertionError):
    """An answer that its route's response_model does not describe."""


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json"
    return False


def _model(route: APIRoute, status: int) -> Any:
    """The model the OpenAPI document gives an answer of `status`: the one documented for that
    status (`responses={202: {"model": ...}}`), else the route's response_model."""
    documented = route.responses.get(status) or route.responses.get(str(status)) or {}
    return documented.get("model") or route.response_model


def check(route: APIRoute, status: int, body: bytes) -> None:
    """Raises ResponseMismatch when `body` is not what the route documents for `status`."""
    model = _model(route, status)
    try:
        _adapter(model).validate_json(body)
    except ValidationError as exc:
        method = "/".join(sorted(route.methods))
        raise ResponseMismatch(
            f"{method} {route.path} answered {status} with a body its documented model "
            f"({model!r}) does not describe:\n{exc}"
        ) from None


class CheckResponses:
    """Holds a 2xx application/json answer of a route with a response_model until its body is
    complete, checks it, then sends it unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def checked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                status = message["status"]
                if (
                    isinstance(route, APIRoute)
                    and route.response_model is not None
                    and 200 <= status < 300
                    and _is_json(message.get("headers", []))
                ):
                    held.append(message)
                    return
            elif held:
                held.append(message)
                if message.get("more_body", False):
                    return
                start, *bodies = held
                held.clear()
                body = b"".join(m.get("body", b"") for m in bodies)
                check(scope["route"], start["status"], body)
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, checked_send)
