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
    title = "Content too large"


class UnsupportedMediaType(HomeroomError):
    status = 415
    title = "Unsupported media type"


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


def problem_body(
    status: int, title: str, detail: str, *, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The problem+json document as a dict (a batch embeds it in its own answer)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return body


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_body(status, title, detail, errors=errors)
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


# PostgreSQL conditions (SQLSTATE) that pass: the same request may succeed if sent again.
_RETRYABLE_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout)
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up)
        "53000",  # insufficient_resources
        "53200",  # out_of_memory
        "53300",  # too_many_connections
    }
)
# SQLite result codes (primary): SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN.
_RETRYABLE_SQLITE_CODES = frozenset({5, 6, 14})
_RETRYABLE_SQLITE_MESSAGES = ("database is locked", "database table is locked", "unable to open")


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps: SQLAlchemy's `.orig` (the DB-API error), then `__cause__`
    (`raise ... from`: the asyncpg error under SQLAlchemy's adapter). Not `__context__`: an
    error raised while handling a timeout is not the timeout."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return chain


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database is busy or unreachable, so that the request may succeed
    if retried: judged by the driver's own error, whatever SQLAlchemy wrapped it in (its
    asyncpg adapter makes a lock or statement timeout a plain DBAPIError, SQLite calls a missing
    table an OperationalError). Anything else is a bug: a 500 and a log line."""
    import asyncpg

    for error in _causes(exc):
        if isinstance(error, sqlalchemy_exc.TimeoutError):  # no pool connection in time
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate:
            return sqlstate in _RETRYABLE_SQLSTATES or sqlstate.startswith("08")
        if isinstance(error, sqlite3.Error):
            code = getattr(error, "sqlite_errorcode", None)
            if code is not None:
                return code & 0xFF in _RETRYABLE_SQLITE_CODES
            return str(error).startswith(_RETRYABLE_SQLITE_MESSAGES)
        if isinstance(error, asyncpg.exceptions.InterfaceError):
            return "closed" in str(error)  # a connection lost; the rest is misuse
        if isinstance(error, ConnectionError):  # refused, reset: the server is not there
            return True
    return False


def _database_errors() -> tuple[type[Exception], ...]:
    """The classes a database error arrives as: SQLAlchemy's wrappers, the drivers' own."""
    import asyncpg

    return (
        sqlalchemy_exc.DBAPIError,
        sqlalchemy_exc.TimeoutError,
        sqlite3.Error,
        asyncpg.exceptions.PostgresError,
        asyncpg.exceptions.InterfaceError,
        ConnectionError,
    )


DATABASE_ERRORS = _database_errors()


_TITLES = {
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    413: "Content too large",
}


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
        first = next(iter(errors), {"loc": [], "msg": "invalid request"})
        where = ".".join(str(p) for p in first["loc"])
        return problem(422, "Validation failed", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        title = _TITLES.get(exc.status_code, detail)
        return problem(exc.status_code, title, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> Response:
        # Services check their own constraints first; this catches the race where two
        # requests pass the check together and the database's unique index decides.
        log.info("integrity_error", error=str(exc.orig))
        return problem(409, "Conflict", "the change conflicts with an existing record")

    async def _database(_: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            log.exception("unhandled_error", error=repr(exc))
            return problem(500, "Internal server error", "an unexpected error occurred")
        # Busy (SQLite's write lock held past busy_timeout, a PostgreSQL lock or statement
        # timeout, a deadlock, a full pool) or unreachable: the client may retry shortly.
        log.warning("database_unavailable", error=repr(exc)[:300])
        return problem(
            503,
            "Service unavailable",
            "the database is busy or unreachable; retry shortly",
            headers={"Retry-After": "1"},
        )

    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", error=repr(exc))
        return problem(500, "Internal server error", "an unexpected error occurred")
