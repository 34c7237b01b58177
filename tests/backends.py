"""Which databases the tests use, one set per pytest-xdist worker.

SQLite files live in pytest's tmp dirs, already one per worker. PostgreSQL: each worker
(PYTEST_XDIST_WORKER, gw0, gw1, ...) gets a database of its own, named after the one
HOMEROOM_TEST_DATABASE_URL names plus the worker's id (`test` -> `test_gw0`), created when
missing. Tests that share Redis or a job broker carry `xdist_group("redis")` and so run one
after another on one worker.
"""

import os

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

CONFIGURED_PG_URL = os.environ.get("HOMEROOM_TEST_DATABASE_URL")
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _own_url(url: str) -> str:
    if WORKER is None:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


PG_URL = None if CONFIGURED_PG_URL is None else _own_url(CONFIGURED_PG_URL)


def database_name(url: str) -> str:
    name = make_url(url).database
    assert name is not None
    return name


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def create_database(name: str, *, drop_first: bool = False) -> None:
    """Creates `name` (dropped first when asked) next to the configured database, through a
    connection to that one, which exists."""
    assert CONFIGURED_PG_URL is not None
    admin = create_async_engine(CONFIGURED_PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        if drop_first:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        found = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if found is None:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()


async def drop_database(name: str) -> None:
    assert CONFIGURED_PG_URL is not None
    admin = create_async_engine(CONFIGURED_PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()
