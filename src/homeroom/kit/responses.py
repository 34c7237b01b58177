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
    etag = etag_of(body)
    out = {"ETag": etag, "Cache-Control": cache_control}
    if headers:
        out.update(headers)
    if request.method == "GET" and _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=out)
    return Response(body, status_code, headers=out, media_type=JSON)


def ensure_match(if_match: str | None, current: Any) -> None:
    """For PATCH/DELETE: a stale If-Match (the record changed since it was read) -> 412.

    `current` is the record as GET /{id} would return it; its ETag is what clients hold.
    """
    if if_match is None:
        return
    if not _matches(if_match, etag_of(orjson.dumps(current))):
        raise PreconditionFailed("the record has changed since you read it")
