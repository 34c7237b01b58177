"""JSON responses encoded once with orjson, with ETag and conditional GET."""

import hashlib
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from homeroom.kit.errors import PreconditionFailed

JSON = "application/json"
PRIVATE = "private, no-cache"
NO_STORE = "no-store"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = (t.strip().removeprefix("W/") for t in header.split(","))
    return etag in tags


def matches_if_none_match(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match names `etag` (a GET may then answer 304)."""
    for name, value in request.scope["headers"]:
        if name == b"if-none-match":
            return _matches(value.decode("latin-1"), etag)
    return False


class Prepared(Response):
    """A Response built from headers already encoded, in the order Starlette's own would have:
    Starlette encodes a dict of headers on every response (~6 us of a ~50 us read)."""

    def __init__(self, body: bytes, status_code: int, raw_headers: list[tuple[bytes, bytes]]):
        self.body = body
        self.status_code = status_code
        self.background = None
        self.raw_headers = raw_headers


def prepared_json(
    request: Request,
    body: bytes,
    etag: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    cache_control: str = PRIVATE,
) -> Response:
    """`body` (JSON) with its ETag and Cache-Control; 304 when a GET's If-None-Match has it."""
    raw = [(b"etag", etag.encode()), (b"cache-control", cache_control.encode())]
    if headers:
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if request.method == "GET" and matches_if_none_match(request, etag):
        return Prepared(b"", 304, raw)
    raw += [(b"content-length", str(len(body)).encode()), _CONTENT_TYPE]
    return Prepared(body, status_code, raw)


_CONTENT_TYPE = (b"content-type", JSON.encode())


def json_response(
    request: Request,
    content: Any,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    cache_control: str = PRIVATE,
) -> Response:
    """Encodes `content`, tags it with an ETag, and answers 304 when the client has it."""
    body = orjson.dumps(content)
    return prepared_json(request, body, etag_of(body), status_code, headers, cache_control)


def ensure_match(if_match: str | None, current: Any) -> None:
    """For PATCH/DELETE: a stale If-Match (the record changed since it was read) -> 412.

    `current` is the record as GET /{id} would return it; its ETag is what clients hold.
    """
    if if_match is None:
        return
    if not _matches(if_match, etag_of(orjson.dumps(current))):
        raise PreconditionFailed("the record has changed since you read it")
