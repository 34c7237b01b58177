"""Hostile input found by fuzzing: always a 4xx problem, never a 500."""

import sqlite3

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import OperationalError

from homeroom.kit.errors import install_error_handlers
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


class TestDatabaseUnavailable:
    """A busy or unreachable database is a 503 with Retry-After, never a 500."""

    @pytest.mark.parametrize(
        "error",
        [
            sqlite3.OperationalError("database is locked"),
            OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked")),
            asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        ],
        ids=["sqlite-raw", "sqlalchemy", "pg-statement-timeout"],
    )
    async def test_busy_database_is_503(self, error: Exception) -> None:
        app = FastAPI()
        install_error_handlers(app)

        @app.get("/busy")
        async def busy() -> None:
            raise error

        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.get("/busy")
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert r.headers["content-type"] == "application/problem+json"
