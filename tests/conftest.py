"""Test harness: every test runs against SQLite, and against PostgreSQL when
HOMEROOM_TEST_DATABASE_URL is set. The schema comes from the real migrations; each test starts
from empty tables."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from homeroom.app import create_app
from homeroom.config import Settings
from homeroom.kit.db import Database, statement_counter
from homeroom.kit.migrate import upgrade
from homeroom.models import Base
from tests.factories import Factory
from tests.fixture_types import CountQueries

PG_URL = os.environ.get("HOMEROOM_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def _settings(backend: str, tmp: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp / 'test.db'}" if backend == "sqlite" else PG_URL
    assert url is not None
    return Settings(
        database_url=url,
        var_dir=tmp,
        secret_key=TEST_SECRET,
        login_max_failures=3,
        login_base_lockout_seconds=30,
        # Only the start-up sweep: a periodic one would add statements to the query counts of
        # whatever test it landed in. Tests that need a sweep call app.state.jobs.sweep().
        job_sweep_seconds=24 * 3600,
        check_responses=True,  # every JSON answer against its response_model
    )


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
async def settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    backend = request.param
    tmp = tmp_path_factory.mktemp(backend)
    settings = _settings(backend, tmp)
    if backend == "postgresql":
        await _reset_postgres(settings.effective_database_url)
    # Alembic's env runs its own event loop: run it in a thread.
    import asyncio

    await asyncio.to_thread(upgrade, settings)
    return settings


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def db(app: FastAPI) -> Database:
    database: Database = app.state.db
    return database


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "db" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("db")
    # A job a test started and did not wait for would still be writing: let it end first.
    await request.getfixturevalue("app").state.jobs.drain()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))
        else:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def factory(db: Database, settings: Settings) -> Factory:
    return Factory(db, settings)


@pytest.fixture
def ending(db: Database) -> int:
    """Statements a write's end costs: its audit row and its cache versions, one statement each
    on SQLite, one together on PostgreSQL (kit/epilogue.py)."""
    return 2 if db.is_sqlite else 1


@pytest.fixture
def count_queries() -> CountQueries:
    return statement_counter.counting
