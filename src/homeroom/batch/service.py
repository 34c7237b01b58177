"""Runs each sub-request through the ASGI application itself, in-process.

Each one is a complete request: the same middleware, routing, authentication (the caller's
own Authorization header), scopes and ETag handling as over the network, so a sub-request
can do exactly what the caller could do with a separate request and nothing more.
"""

import asyncio
import logging
from typing import Any
from urllib.parse import unquote

import orjson
from starlette.types import ASGIApp, Message, Scope

from homeroom.batch.schemas import BatchRequest, SubRequest

log = logging.getLogger(__name__)

_DROPPED = frozenset({"content-length"})


def _scope(parent: Scope, sub: SubRequest, authorization: bytes) -> Scope:
    raw_path, _, query = sub.path.partition("?")
    headers = [(b"host", _header(parent, b"host")), (b"authorization", authorization)]
    for name, value in (sub.headers or {}).items():
        headers.append((name.encode("latin-1"), value.encode("latin-1")))
    return {
        "type": "http",
        "asgi": parent.get("asgi", {"version": "3.0"}),
        "http_version": parent.get("http_version", "1.1"),
        "method": sub.method,
        "scheme": parent.get("scheme", "http"),
        "server": parent.get("server"),
        "client": parent.get("client"),
        "root_path": parent.get("root_path", ""),
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("ascii"),
        "query_string": query.encode("ascii"),
        "headers": headers,
        "state": dict(parent.get("state") or {}),
    }


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def _body(content_type: str, body: bytes) -> Any:
    if not body:
        return None
    if "json" in content_type:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return body.decode("utf-8", "replace")


async def _run(app: ASGIApp, scope: Scope) -> dict[str, Any]:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    try:
        await app(scope, receive, send)
    except Exception:
        # The server-error middleware has already answered 500 (when it could) and re-raises
        # for the server's log; one failing sub-request must not fail the others.
        log.exception("batch sub-request failed: %s", scope["path"])
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None:
        return {"status": 500, "headers": {}, "body": None}
    headers: dict[str, str] = {}
    for name, value in start.get("headers", ()):
        key = name.decode("latin-1").lower()
        if key in _DROPPED:
            continue
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return {
        "status": start["status"],
        "headers": headers,
        "body": _body(headers.get("content-type", ""), body),
    }


async def run_batch(app: ASGIApp, parent: Scope, data: BatchRequest) -> list[dict[str, Any]]:
    """Every sub-request's status, headers and parsed body, in the order they were given.

    They run concurrently (reads on a pool overlap their round trips); results keep order.
    """
    authorization = _header(parent, b"authorization")
    scopes = [_scope(parent, sub, authorization) for sub in data.requests]
    return list(await asyncio.gather(*(_run(app, s) for s in scopes)))
