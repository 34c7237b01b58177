"""One domain error hierarchy; one handler renders every error as problem+json (RFC 9457)."""

import json
import sqlite3
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = structlog.get_logger()

PROBLEM_JSON = "application/problem+json"


class HomeroomError(Exception):
    status = 400
    title = "Bad request"
    type = "about:blank"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}


class Unauthorized(HomeroomError):
    status = 401
    title = "Not authenticated"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(HomeroomError):
    status = 403
    title = "Forbidden"


class NotFound(HomeroomError):
    status = 404
    title = "Not found"


class Conflict(HomeroomError):
    status = 409
    title = "Conflict"


class Gone(HomeroomError):
    status = 410
    title = "Gone"


class PayloadTooLarge(HomeroomError):
    status = 413
    title = "Payload too large"


class PreconditionFailed(HomeroomError):
    status = 412
    title = "Precondition failed"


class ValidationFailed(HomeroomError):
    status = 422
    title = "Validation failed"


class TooManyRequests(HomeroomError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class Answered(Exception):
    """Ends a request with a response made before its endpoint ran (an Idempotency-Key's
    stored answer, kit/idempotency.py): raised from a dependency, sent as it is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def field_error(loc: list[str | int], message: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": loc, "msg": message, "type": kind}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    try:
        payload = orjson.dumps(body)
    except TypeError:
        # Echoed input orjson refuses (a lone surrogate in a field name): the stdlib escapes it.
        payload = json.dumps(body, default=str).encode()
    return Response(payload, status, headers=headers, media_type=PROBLEM_JSON)


def _echo(value: Any) -> Any:
    """The rejected input as it may be shown back: scalars only, bounded, JSON-safe."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)[:40]
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, str):
        return value[:200].encode("utf-8", "replace").decode()
    return _OMIT


_OMIT = object()


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        item = {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err["type"]}
        if "input" in err and (echo := _echo(err["input"])) is not _OMIT:
            item["input"] = echo
        out.append(item)
    return out


def _database_unavailable() -> tuple[type[Exception], ...]:
    import asyncpg

    return (
        sqlalchemy_exc.OperationalError,
        sqlalchemy_exc.TimeoutError,
        sqlite3.OperationalError,
        asyncpg.exceptions.QueryCanceledError,
        asyncpg.exceptions.TooManyConnectionsError,
        asyncpg.exceptions.PostgresConnectionError,
        asyncpg.exceptions.InterfaceError,
    )


DATABASE_UNAVAILABLE = _database_unavailable()


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HomeroomError)
    async def _domain(_: Request, exc: HomeroomError) -> Response:
        return problem(exc.status, exc.title, exc.detail, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(Answered)
    async def _answered(_: Request, exc: Answered) -> Response:
        return exc.response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return problem(422, "Validation failed", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, detail)
        return problem(exc.status_code, title, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> Response:
        # Services check their own constraints first; this catches the race where two
        # requests pass the check together and the database's unique index decides.
        log.info("integrity_error", error=str(exc.orig))
        return problem(409, "Conflict", "the change conflicts with an existing record")

    async def _unavailable(_: Request, exc: Exception) -> Response:
        # The database is busy (SQLite's write lock held past busy_timeout, a PostgreSQL
        # statement timeout, a full pool) or unreachable: the client may retry shortly.
        log.warning("database_unavailable", error=repr(exc)[:300])
        return problem(
            503,
            "Service unavailable",
            "the database is busy or unreachable; retry shortly",
            headers={"Retry-After": "1"},
        )

    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", error=repr(exc))
        return problem(500, "Internal server error", "an unexpected error occurred")
