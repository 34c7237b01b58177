"""Test harness: every test runs against SQLite, and against PostgreSQL when
HOMEROOM_TEST_DATABASE_URL is set. The schema comes from the real migrations; each test starts
from empty tables. Under pytest-xdist each worker has databases of its own (tests/backends.py).

A test cannot run inside a rolled-back transaction here: the app commits its own units of work
and reads on connections of its own (the raw read path, the reader pool), which would not see
the test's uncommitted rows. So the tables are emptied after each test that used them, with
the cheapest statements each backend has (see _clean_tables)."""

import asyncio
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
from tests.backends import PG_URL, WORKER, create_database, database_name
from tests.factories import Factory
from tests.fixture_types import CountQueries

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist, live tests first, the longest first (`live(seconds=...)`): the long
    ones start at once and the short ones fill the other workers around them. A stable sort,
    so each part keeps pytest's grouping by backend."""
    if WORKER is None:
        return

    def order(item: pytest.Item) -> tuple[bool, float]:
        live = item.get_closest_marker("live")
        return live is None, -float(live.kwargs.get("seconds", 0)) if live else 0.0

    items.sort(key=order)


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
        # A test database need not survive a crash: commits do not wait for the disk (each
        # wait cost milliseconds on a loaded machine, and tests commit thousands of times).
        name = database_name(url)
        await conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    await engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
async def settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    backend = request.param
    tmp = tmp_path_factory.mktemp(backend)
    settings = _settings(backend, tmp)
    if backend == "postgresql":
        if WORKER is not None:
            await create_database(database_name(settings.effective_database_url))
        await _reset_postgres(settings.effective_database_url)
    # Alembic's env runs its own event loop: run it in a thread.
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


TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]

# PostgreSQL: TRUNCATE of every table cost ~1 s a test on a loaded machine (a new file for
# each table and index); deleting the few rows a test wrote costs milliseconds. One statement:
# triggers and foreign-key checks off for it (session_replication_role, so the order does not
# matter and no summary trigger fires), then the sequences a test advanced start again at 1 as
# RESTART IDENTITY did.
EMPTY_POSTGRES = text(
    "DO $$ DECLARE seq regclass; BEGIN "
    "SET LOCAL session_replication_role = replica; "
    + "".join(f"DELETE FROM {name}; " for name in TABLES)
    + "FOR seq IN SELECT format('%I.%I', schemaname, sequencename)::regclass FROM pg_sequences "
    "WHERE schemaname = current_schema() AND last_value IS NOT NULL LOOP "
    "PERFORM setval(seq, 1, false); END LOOP; END $$"
)


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "db" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("db")
    # A job a test started and did not wait for would still be writing: let it end first.
    await request.getfixturevalue("app").state.jobs.drain()
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for name in TABLES:
                await conn.execute(text(f"DELETE FROM {name}"))
        else:
            await conn.execute(EMPTY_POSTGRES)


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
