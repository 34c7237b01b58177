"""Hostile input found by fuzzing: always a 4xx problem, never a 500."""

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError, OperationalError

from homeroom.config import Settings
from homeroom.kit.db import Database, sqlite_path
from homeroom.kit.errors import install_error_handlers
from homeroom.models import AuditLog, Student
from tests.factories import Factory

HOSTILE = [
    ("/api/v1/students", b'{"student_number": 1e400, "first_name": "x"}'),
    ("/api/v1/terms", b'{"school_id": 654092959967223611392, "name": true}'),
    ("/api/v1/auth/refresh", b"-953564025725389373440"),
    ("/api/v1/grades/bulk", b'{"grades": [{"student_id": -20826355196438700108021760}]}'),
    ("/api/v1/attendance", b'{"note": "\\udb56", "status": "x", "section_id": 9e99}'),
    ("/api/v1/guardians", b'{"\\udb56": 1, "first_name": "\\ud800x", "email": "a@b.co"}'),
    ("/api/v1/students", b'{"first_name": "\\udc00", "last_name": "\\u0000"}'),
    ("/api/v1/enrollments/bulk", b"[" * 5000),
]


@pytest.mark.parametrize(("path", "body"), HOSTILE)
async def test_hostile_bodies_are_problems_not_500s(
    client: AsyncClient, factory: Factory, path: str, body: bytes
) -> None:
    school = await factory.school()
    headers, _ = await factory.login_as("admin", school)
    r = await client.post(
        path, headers={**headers, "Content-Type": "application/json"}, content=body
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == r.status_code


async def test_valid_text_with_a_lone_surrogate_is_refused(
    client: AsyncClient, factory: Factory
) -> None:
    school = await factory.school()
    headers, _ = await factory.login_as("admin", school)
    body = (
        b'{"student_number": "Z1", "first_name": "A\\ud800", "last_name": "B",'
        b' "email": "z@example.edu", "date_of_birth": "2010-01-01", "grade_level": 5}'
    )
    r = await client.post(
        "/api/v1/students", headers={**headers, "Content-Type": "application/json"}, content=body
    )
    assert r.status_code == 422
    assert any("first_name" in e["loc"] for e in r.json()["errors"])


def through_sqlalchemy(error: asyncpg.PostgresError) -> DBAPIError:
    """`error` as the write path sees it: SQLAlchemy's asyncpg adapter translates it (a plain
    DB-API Error for a timeout or a deadlock) and SQLAlchemy wraps that."""
    dbapi = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]
    translate = dbapi._asyncpg_error_translate
    kind = next(translate[c] for c in type(error).__mro__ if c in translate)
    adapted = kind(f"{type(error)}: {error}")
    adapted.pgcode = adapted.sqlstate = error.sqlstate
    adapted.__cause__ = error
    wrapped: DBAPIError = DBAPIError.instance("UPDATE students SET ...", {}, adapted, dbapi.Error)
    return wrapped


async def answer_to(error: Exception) -> Any:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise error

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/fails")


class TestDatabaseUnavailable:
    """A busy or unreachable database is a 503 with Retry-After, never a 500; what a bug does
    to the database is a 500 with a log line, whatever class SQLAlchemy wrapped it in."""

    @pytest.mark.parametrize(
        "error",
        [
            sqlite3.OperationalError("database is locked"),
            OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked")),
            asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
            through_sqlalchemy(
                asyncpg.exceptions.QueryCanceledError(
                    "canceling statement due to statement timeout"
                )
            ),
            through_sqlalchemy(
                asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout")
            ),
            through_sqlalchemy(asyncpg.exceptions.DeadlockDetectedError("deadlock detected")),
            through_sqlalchemy(asyncpg.exceptions.SerializationError("could not serialize")),
            through_sqlalchemy(asyncpg.exceptions.ConnectionDoesNotExistError("connection lost")),
            through_sqlalchemy(asyncpg.exceptions.TooManyConnectionsError("too many clients")),
            ConnectionRefusedError(111, "Connect call failed"),
        ],
        ids=[
            "sqlite-raw",
            "sqlalchemy",
            "pg-statement-timeout-read",
            "pg-statement-timeout-write",
            "pg-lock-timeout-write",
            "pg-deadlock",
            "pg-serialization",
            "pg-connection-lost",
            "pg-too-many-connections",
            "pg-refused",
        ],
    )
    async def test_busy_database_is_503(self, error: Exception) -> None:
        r = await answer_to(error)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 503

    @pytest.mark.parametrize(
        "error",
        [
            OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: studnets")),
            sqlite3.OperationalError('near "SELEC": syntax error'),
            through_sqlalchemy(asyncpg.exceptions.UndefinedTableError('"studnets" does not exist')),
            through_sqlalchemy(asyncpg.exceptions.DataError("invalid input syntax")),
            asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in"),
        ],
        ids=["sqlite-no-table", "sqlite-syntax", "pg-no-table", "pg-data", "pg-misuse"],
    )
    async def test_a_bug_is_500_with_a_log_line(
        self, error: Exception, capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        r = await answer_to(error)
        assert r.status_code == 500
        assert "Retry-After" not in r.headers
        assert r.headers["content-type"] == "application/problem+json"
        logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(e["event"], e["level"]) for e in logged] == [("unhandled_error", "error")]
        assert "Traceback" in logged[0]["exception"]


@pytest.fixture
async def impatient(
    app: FastAPI, settings: Settings, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """The app's database swapped for one whose writes give up on a held lock within
    `request.param` (lock timeout, statement timeout) in milliseconds."""
    lock_ms, statement_ms = request.param
    impatient_settings = settings.model_copy(
        update={
            "db_lock_timeout_ms": lock_ms,
            "db_statement_timeout_ms": statement_ms,
            "sqlite_busy_timeout_ms": 300,
        }
    )
    db = Database(impatient_settings)
    await db.start()
    usual = app.state.db
    app.state.db = db
    try:
        yield db
    finally:
        app.state.db = usual
        await db.close()


class TestBusyWrites:
    """A write that waits on a lock another transaction holds gives up with 503 + Retry-After
    (the README's promise for reads) and writes nothing; it was a 500 on PostgreSQL."""

    @pytest.mark.parametrize(
        "impatient",
        [(300, 30_000), (0, 300)],
        ids=["lock-timeout", "statement-timeout"],
        indirect=True,
    )
    @pytest.mark.usefixtures("impatient")
    async def test_a_held_row_lock(
        self, client: AsyncClient, factory: Factory, db: Database, settings: Settings
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school, first_name="Before")
        audit_rows = await _audit_rows(db)
        started = time.perf_counter()
        async with _row_locked(settings, student.id):
            r = await client.patch(
                f"/api/v1/students/{student.id}", headers=headers, json={"first_name": "After"}
            )
        assert time.perf_counter() - started < 3  # the impatient timeouts, not the defaults
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["title"] == "Service unavailable"
        async with db.sessionmaker() as session:
            stored = await session.get(Student, student.id)
        assert stored is not None and stored.first_name == "Before"
        assert await _audit_rows(db) == audit_rows


async def _audit_rows(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditLog)) or 0)


@asynccontextmanager
async def _row_locked(settings: Settings, student_id: int) -> AsyncIterator[None]:
    """Another connection holds the student's row (PostgreSQL: SELECT ... FOR UPDATE) or the
    database's write lock (SQLite: BEGIN IMMEDIATE) until the block ends."""
    url = settings.effective_database_url
    if settings.is_sqlite:
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    pg = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with pg.transaction():
            await pg.execute("SELECT id FROM students WHERE id = $1 FOR UPDATE", student_id)
            yield
    finally:
        await pg.close()
