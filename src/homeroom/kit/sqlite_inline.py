"""SQLite writes run inline on the event loop, and wait for the write lock without blocking it.

aiosqlite runs every statement in a thread of its own. On a 2-core machine each hand-off waits
for the GIL (up to the 5 ms switch interval while the event loop is busy), and a write
transaction makes ~6-10 of them WHILE HOLDING SQLite's write lock: under load the lock was held
for tens of milliseconds per request and bulk writes ran at ~110 req/s with p99 of seconds.
Here the same SQLAlchemy async session drives a plain sqlite3 connection directly: a statement
runs to completion where it is awaited (a bulk upsert of a class takes well under a
millisecond), so the lock is held only for the transaction's own work.

Waiting for the lock: the connection's busy timeout is 0, so `BEGIN IMMEDIATE` fails at once
when another process holds the lock; it is retried after an `asyncio.sleep` (0.25 ms, growing
to 4 ms) until `busy_timeout` has passed, and the event loop serves other requests meanwhile.
Then `database is locked` surfaces as usual (503 + Retry-After).

Heavy work (a 10,000-row import, a job): inside `offloaded()` every statement runs in a worker
thread instead (sqlite3 releases the GIL while it steps), so a long statement never holds the
event loop. The connection is used by one session at a time (pool), never concurrently.

It quacks like the part of aiosqlite that SQLAlchemy's aiosqlite dialect uses
(`create_async_engine(..., async_creator=connect_inline(...))`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_offload: ContextVar[bool] = ContextVar("homeroom_sqlite_offload", default=False)

_FIRST_WAIT = 0.00025
_LONGEST_WAIT = 0.004


@contextmanager
def offloaded() -> Iterator[None]:
    """Statements issued inside run in a worker thread (long imports, jobs)."""
    token = _offload.set(True)
    try:
        yield
    finally:
        _offload.reset(token)


def _locked(exc: sqlite3.OperationalError) -> bool:
    return exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "database is locked" in str(exc)
    )


class _Inline:
    """Runs a connection's calls inline, or in a thread inside `offloaded()`."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float) -> None:
        self._conn = conn
        self._busy_timeout = busy_timeout

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if _offload.get():
            return await asyncio.to_thread(fn, *args)
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            # Only a statement outside a transaction waits (BEGIN IMMEDIATE, or one in
            # autocommit): inside one, this connection already holds the write lock.
            if not _locked(exc) or self._conn.in_transaction:
                raise
        deadline = time.monotonic() + self._busy_timeout
        wait = _FIRST_WAIT
        while True:
            await asyncio.sleep(wait)
            try:
                return fn(*args)
            except sqlite3.OperationalError as exc:
                if not _locked(exc) or self._conn.in_transaction or time.monotonic() > deadline:
                    raise
            wait = min(wait * 2, _LONGEST_WAIT)


class InlineCursor:
    def __init__(self, inline: _Inline, cursor: sqlite3.Cursor) -> None:
        self._inline = inline
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        if parameters is None:
            await self._inline.run(self._cursor.execute, sql)
        else:
            await self._inline.run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> InlineCursor:
        await self._inline.run(self._cursor.executemany, sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        rows: list[Any] = await self._inline.run(self._cursor.fetchall)
        return rows

    async def fetchone(self) -> Any:
        return await self._inline.run(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows: Sequence[Any] = await self._inline.run(
            self._cursor.fetchmany, self._cursor.arraysize if size is None else size
        )
        return rows

    async def close(self) -> None:
        self._cursor.close()


class _Immediate:
    """aiosqlite's request queue, as the dialect's isolation_level setter uses it: the call
    runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """What SQLAlchemy's aiosqlite adapter calls on an aiosqlite connection, run inline."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float) -> None:
        self._conn = conn
        self._inline = _Inline(conn, busy_timeout)
        self._tx = _Immediate()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def cursor(self) -> InlineCursor:
        return InlineCursor(self._inline, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        cursor = await self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await self._inline.run(self._conn.commit)

    async def rollback(self) -> None:
        await self._inline.run(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()


def connect_inline(path: str, busy_timeout: float) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for create_async_engine: a sqlite3 connection to `path` that fails
    fast on a held lock (the wait happens in `_Inline.run`)."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(path, timeout=0, check_same_thread=False)
        return InlineConnection(conn, busy_timeout)

    return connect


class Checkpointer:
    """Moves the WAL's pages into the database file in a worker thread, every `every` seconds.

    The write connections run with `wal_autocheckpoint = 0`: SQLite's automatic checkpoint
    runs inside the COMMIT that crosses 1,000 WAL pages, which here runs inline on the event
    loop (a 4 MB copy: tens of milliseconds that every request of the process would wait).
    PASSIVE never waits for readers or writers; what it cannot copy now waits for the next
    round."""

    def __init__(self, path: str, every: float = 1.0) -> None:
        self._path = path
        self._every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="homeroom-sqlite-checkpoint")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        conn = sqlite3.connect(self._path, timeout=0, check_same_thread=False)
        try:
            while True:
                await asyncio.sleep(self._every)
                # Busy (another process checkpoints) or no WAL yet: the next round.
                with contextlib.suppress(sqlite3.Error):
                    await asyncio.to_thread(conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()
