"""Idempotency-Key on creating requests: a retry gets the first answer, never a second record.

Which requests: every POST route that answers 201 or 202, and the other creating POSTs marked
with `IDEMPOTENT` (bulk writes, imports). kit/routing.Route marks them `idempotent` and
documents the header. A request without the header is not touched.

How, in the request's own transaction (kit/deps.unit_of_work):

1. `claim`, before the endpoint runs: the key row (user, key, a fingerprint of method, path,
   query string and body, expiry) is inserted with `ON CONFLICT (user_id, key) DO UPDATE ...
   WHERE` the stored key has expired `RETURNING`. The primary key decides between concurrent
   requests: on PostgreSQL the second insert waits until the first transaction ends, then
   finds its row (or, if it rolled back, inserts its own); SQLite's writers are serialized
   already (BEGIN IMMEDIATE). When the key is taken and not expired: the same fingerprint
   gets the stored answer (`Answered`, with `Idempotent-Replayed: true`), another one a 422.
2. The endpoint runs and writes, in the same transaction.
3. The route's handler (kit/routing.Route) records the answer (status, body, Content-Type, Location,
   ETag, Cache-Control) into the key row after the endpoint returned and before the unit of
   work commits: the records and their answer commit together. A request that fails raises,
   everything rolls back and the key stays free for a retry; an answer that is not a 2xx, or
   is streamed, is not kept either.

A keyed request costs two statements more (claim, record); a replay is two statements.
Keys expire after HOMEROOM_IDEMPOTENCY_TTL_SECONDS (24 h): the next request with an expired
key takes it over (step 1), and the job runner's periodic sweep deletes the rest
(jobs/runner.recover).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import delete, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from homeroom.config import Settings
from homeroom.kit.auth import caller
from homeroom.kit.bulk import execute_core
from homeroom.kit.errors import (
    Answered,
    Conflict,
    PayloadTooLarge,
    ValidationFailed,
    field_error,
)
from homeroom.models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
# Marks a creating POST that answers neither 201 nor 202 (openapi_extra of the route).
IDEMPOTENT: dict[str, Any] = {"x-idempotent": True}
# The headers of an answer that are stored and replayed with its status and body.
KEPT_HEADERS = ("content-type", "location", "etag", "cache-control")
# A body the endpoint has not read yet (an upload) is read here to fingerprint it: bounded.
MAX_BODY_BYTES = 64 * 1024 * 1024

OPENAPI_PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "A key of your choosing (1-255 printable ASCII characters) that makes retrying this "
        "request safe: the same key with the same request (method, path, query and body) "
        "within 24 hours gets the first answer again (with `Idempotent-Replayed: true`) and "
        "creates nothing more; the same key with another request is a 422. Keys are per "
        "user. A request that failed keeps nothing: retry it with the same key."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH},
}

_CLAIM = "homeroom.idempotency"


def is_idempotent(route: APIRoute) -> bool:
    """A POST that creates: answers 201 or 202, or is marked with IDEMPOTENT."""
    if route.methods != {"POST"}:
        return False
    marked = bool((route.openapi_extra or {}).get("x-idempotent"))
    return marked or route.status_code in (201, 202)


@dataclass(frozen=True, slots=True)
class _Claim:
    session: AsyncSession
    user_id: int
    key: str


def _invalid_key(message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{HEADER}: {message}", errors=[field_error(["header", HEADER], message)]
    )


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_LENGTH and all(" " <= c <= "~" for c in key)


async def _body(request: Request) -> bytes:
    """The request's body: FastAPI has read a JSON body already; an upload is read here (and
    kept where Starlette keeps it, so the endpoint reads the same bytes)."""
    if hasattr(request, "_body"):
        return await request.body()
    too_large = PayloadTooLarge(f"a request with an {HEADER} is limited to {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body


async def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    path: str = request.scope["path"]
    query: bytes = request.scope.get("query_string", b"")
    for part in (request.method.encode(), path.encode("utf-8", "surrogatepass"), query):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(await _body(request))
    return digest.hexdigest()


def _claim_statement(dialect: str, values: dict[str, Any]) -> Any:
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert(IdempotencyKey).values(**values)
    taken_over = {
        "fingerprint": statement.excluded.fingerprint,
        "status": null(),
        "headers": null(),
        "body": null(),
        "created_at": statement.excluded.created_at,
        "expires_at": statement.excluded.expires_at,
    }
    return statement.on_conflict_do_update(
        index_elements=[IdempotencyKey.user_id, IdempotencyKey.key],
        set_=taken_over,
        where=IdempotencyKey.expires_at <= statement.excluded.created_at,
    ).returning(IdempotencyKey.user_id)


def _stored_statement(user_id: int, key: str) -> Any:
    return select(
        IdempotencyKey.fingerprint,
        IdempotencyKey.status,
        IdempotencyKey.headers,
        IdempotencyKey.body,
    ).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)


def _replay(status: int, headers: dict[str, str] | None, body: bytes | None) -> Response:
    replayed = {**(headers or {}), "Idempotent-Replayed": "true"}
    return Response(body or b"", status, headers=replayed)


async def claim(request: Request, session: AsyncSession) -> None:
    """Takes the request's Idempotency-Key in `session`'s transaction, or answers with the
    key's stored answer (raises Answered), or refuses a key used for another request (422)."""
    if not getattr(request.scope.get("route"), "idempotent", False):
        return
    key = request.headers.get(HEADER)
    if key is None:
        return
    if not _valid(key):
        raise _invalid_key(f"must be 1-{MAX_LENGTH} printable ASCII characters")
    principal = caller(request)
    if principal is None:
        return  # no valid token: the endpoint's own dependency answers 401
    settings: Settings = request.app.state.settings
    now = utcnow()
    values = {
        "user_id": principal.user_id,
        "key": key,
        "fingerprint": await _fingerprint(request),
        "created_at": now,
        "expires_at": now + timedelta(seconds=settings.idempotency_ttl_seconds),
    }
    dialect = session.get_bind().dialect.name
    claimed = await execute_core(session, _claim_statement(dialect, values), {})
    if claimed.first() is None:
        stored = await execute_core(session, _stored_statement(principal.user_id, key), {})
        fingerprint, status, headers, body = stored.one()
        if fingerprint != values["fingerprint"]:
            raise _invalid_key("this key was used for another request (method, path or body)")
        if status is None:  # cannot outlive its transaction; kept for safety
            raise Conflict(f"a request with this {HEADER} is still in progress")
        raise Answered(_replay(status, headers, body))
    request.scope[_CLAIM] = _Claim(session, principal.user_id, key)


async def record(request: Request, response: Response) -> None:
    """Keeps `response` as the answer of the request's claimed key, in the same transaction
    as the request's writes; a failure or a streamed answer frees the key instead."""
    claimed: _Claim | None = request.scope.pop(_CLAIM, None)
    if claimed is None:
        return
    where = (IdempotencyKey.user_id == claimed.user_id, IdempotencyKey.key == claimed.key)
    body = getattr(response, "body", None)
    if not 200 <= response.status_code < 300 or not isinstance(body, bytes):
        await execute_core(claimed.session, delete(IdempotencyKey).where(*where), {})
        return
    headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    answer = {"status": response.status_code, "headers": headers, "body": body}
    await execute_core(claimed.session, update(IdempotencyKey).where(*where).values(answer), {})


async def delete_expired(session: AsyncSession, now: datetime) -> None:
    """Forgets the keys whose answers expired (the job runner's periodic sweep)."""
    await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
