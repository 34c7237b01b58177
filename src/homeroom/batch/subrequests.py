"""Runs each sub-request through the ASGI application itself, in-process.

Each one is a complete request: the same middleware, routing, authentication (the caller's
own Authorization header), scopes and ETag handling as over the network, so a sub-request
can do exactly what the caller could do with a separate request and nothing more.

Only JSON reads run (kit/routing.is_json_read: a GET route whose declared answer is one JSON
document); a sub-request for anything else (a streamed export, a job's file, a PDF, an import
template) is refused before any sub-request runs. Whatever a route does anyway, a sub-request
behaves as a client that waits for its answer: its `receive()` gives the empty body, then waits
until the sub-request ends and says `http.disconnect`, so a response that listens for the
client (a StreamingResponse) neither spins nor outlives it. And the answers of one batch share
MAX_BATCH_BYTES: one that would take the batch past it becomes a 413 entry and its bytes are
dropped, so nothing can make a batch grow without bound.
"""

import asyncio
import logging
from typing import Any
from urllib.parse import unquote

import orjson
from starlette.types import ASGIApp, Message, Scope

from homeroom.batch.schemas import BatchRequest, SubRequest
from homeroom.kit.errors import PROBLEM_JSON, ValidationFailed, field_error, problem_body
from homeroom.kit.routing import find_route, is_json_read

log = logging.getLogger(__name__)

# The sub-responses of one batch together: beyond, a sub-response is a 413 entry.
MAX_BATCH_BYTES = 4 * 1024 * 1024

_DROPPED = frozenset({"content-length"})
# ASGI 2.3: the end of the client is told by `receive()` answering http.disconnect (which
# this runner does), not by `send()` raising. Both servers announce 2.3 too.
_ASGI = {"version": "3.0", "spec_version": "2.3"}


def _scope(parent: Scope, sub: SubRequest, authorization: bytes) -> Scope:
    raw_path, _, query = sub.path.partition("?")
    headers = [(b"host", _header(parent, b"host")), (b"authorization", authorization)]
    for name, value in (sub.headers or {}).items():
        headers.append((name.encode("latin-1"), value.encode("latin-1")))
    return {
        "type": "http",
        "asgi": _ASGI,
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


def _refuse_other_than_json_reads(app: ASGIApp, scopes: list[Scope]) -> None:
    """422 naming every sub-request whose route is not a JSON read. A path no route answers
    runs anyway and gets its own 404 (or 405) inside the batch."""
    refused = [
        index
        for index, scope in enumerate(scopes)
        if (route := find_route(app, scope)) is not None and not is_json_read(route)
    ]
    if refused:
        message = "a batch runs JSON reads only, not files or streams: request it on its own"
        errors = [field_error(["body", "requests", i, "path"], message) for i in refused]
        first, *_ = refused
        raise ValidationFailed(f"body.requests.{first}.path: {message}", errors=errors)


def _body(content_type: str, body: bytes) -> Any:
    if not body:
        return None
    if "json" in content_type:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return body.decode("utf-8", "replace")


class _Budget:
    """The bytes the batch's sub-responses may still take, shared by all of them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit


def _too_large(limit: int) -> dict[str, Any]:
    detail = f"this answer would take the batch past its {limit:,}-byte limit; request it alone"
    return {
        "status": 413,
        "headers": {"content-type": PROBLEM_JSON},
        "body": problem_body(413, "Content too large", detail),
    }


async def _run(app: ASGIApp, scope: Scope, budget: _Budget) -> dict[str, Any]:
    start: Message | None = None
    chunks: list[bytes] = []
    size = 0
    too_large = False
    asked = False
    ended = asyncio.Event()

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # A client waiting for its answer: nothing more to read until the sub-request ends.
        await ended.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal start, size, too_large
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or too_large:
            return
        chunk = message.get("body", b"")
        if len(chunk) > budget.left:
            too_large = True
            budget.left += size
            chunks.clear()
            ended.set()  # a streaming response stops at the disconnect
            return
        budget.left -= len(chunk)
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            ended.set()

    try:
        await app(scope, receive, send)
    except Exception:
        # The server-error middleware has already answered 500 (when it could) and re-raises
        # for the server's log; one failing sub-request must not fail the others.
        log.exception("batch sub-request failed: %s", scope["path"])
    finally:
        ended.set()
    if too_large:
        return _too_large(budget.limit)
    if start is None:
        return {"status": 500, "headers": {}, "body": None}
    headers: dict[str, str] = {}
    for name, value in start.get("headers", ()):
        key = name.decode("latin-1").lower()
        if key in _DROPPED:
            continue
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return {
        "status": start["status"],
        "headers": headers,
        "body": _body(headers.get("content-type", ""), b"".join(chunks)),
    }


async def run_batch(app: ASGIApp, parent: Scope, data: BatchRequest) -> list[dict[str, Any]]:
    """Every sub-request's status, headers and parsed body, in the order they were given.

    They run concurrently (reads on a pool overlap their round trips); results keep order.
    """
    authorization = _header(parent, b"authorization")
    scopes = [_scope(parent, sub, authorization) for sub in data.requests]
    _refuse_other_than_json_reads(app, scopes)
    budget = _Budget(MAX_BATCH_BYTES)
    return list(await asyncio.gather(*(_run(app, s, budget) for s in scopes)))
