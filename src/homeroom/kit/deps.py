"""Request-scoped dependencies: the database and the request's unit of work.

Every dependency is `async def`: FastAPI runs a plain `def` dependency in a worker thread,
and that hand-off costs more than the whole database read on this hot path.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.config import Settings
from homeroom.kit import idempotency
from homeroom.kit.cache import ResponseCache
from homeroom.kit.db import Database, discard_after_commit, open_session, run_after_commit
from homeroom.kit.sqlite_inline import offloaded


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.cache
    return cache


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back if it
    raises. scope="function" below makes the commit happen before the response is sent, so
    a client never sees a success that was not committed. A creating request's
    Idempotency-Key is taken first thing in the same transaction (kit/idempotency.py)."""
    db: Database = request.app.state.db
    async with open_session(db.sessionmaker) as session:
        try:
            await idempotency.claim(request, session)
            yield session
            await session.commit()
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        await run_after_commit(session)


async def offloaded_unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """`unit_of_work` for heavy requests (imports): on SQLite every statement, the commit
    included, runs in a worker thread instead of inline (kit/sqlite_inline.py), so a long
    write never holds the event loop."""
    with offloaded():
        async for session in unit_of_work(request):
            yield session


DB = Annotated[Database, Depends(get_database)]
PageCache = Annotated[ResponseCache, Depends(get_cache)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
Session = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
HeavySession = Annotated[AsyncSession, Depends(offloaded_unit_of_work, scope="function")]
