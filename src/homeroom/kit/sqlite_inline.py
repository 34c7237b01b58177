"""SQLite writes run inline on the event loop, and wait for the write lock without blocking it.

aiosqlite runs every statement in a thread of its own. On a 2-core machine each hand-off waits
for the GIL (up to the 5 ms switch interval while the event loop is busy), and a write
transaction makes ~6-10 of them WHILE HOLDING SQLite's write lock: under load the lock was held
for tens of milliseconds per request and bulk writes ran at ~110 req/s with p99 of seconds.
Here the same SQLAlchemy async session drives a plain sqlite3 connection directly: a statement
runs to completion where it is awaited (a bulk upsert of a class takes well under a
millisecond), so the lock is held only for the transaction's own work.

Waiting for the lock: the worker processes take turns through an flock on a file beside the
database (`Turns`): a writer that finds another process's turn waits a few milliseconds for it
without giving the loop a turn, then in a worker thread that the kernel wakes the moment the
other lets go. Against anything else that writes, the connection's busy timeout is 0, so
`BEGIN IMMEDIATE` fails at once when the lock is held; it is retried after an `asyncio.sleep`
(0.25 ms, growing to 4 ms). Either way the event loop serves other requests meanwhile, and
past `busy_timeout` `database is locked` surfaces as usual (503 + Retry-After).

Heavy work (a 10,000-row import, a job): inside `offloaded()` every statement runs in a worker
thread instead (sqlite3 releases the GIL while it steps), so a long statement never holds the
event loop. The connection is used by one session at a time (pool), never concurrently.

It quacks like the part of aiosqlite that SQLAlchemy's aiosqlite dialect uses
(`create_async_engine(..., async_creator=connect_inline(...))`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_offload: ContextVar[bool] = ContextVar("homeroom_sqlite_offload", default=False)

_FIRST_WAIT = 0.00025
_LONGEST_WAIT = 0.004


_commits = 0  # write transactions this process committed (see commits())


def commits() -> int:
    """How many write transactions this process has committed: a read that remembers what it
    saw of the database knows from it that one of its own processes' writes came since."""
    return _commits


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


class Turns:
    """A process's place in line for SQLite's write lock, shared by its write connections.

    SQLite's own lock can only be polled: a writer of one worker process that found it held
    slept and retried, and missed the moment it was let go (under the school-day mix, bulk
    writes waited ~50 ms for a lock held 2-3 ms at a time). Here:

    - Within a process, one writer at a time has the turn; the others wait to be woken when it
      is let go. The turn is not handed to the sleeping waiter: it would sit idle until the
      event loop came back to that waiter, after every request queued meanwhile, and the
      writers arriving in between would line up behind it, each hand-off costing a turn of
      the loop (measured: a convoy that, once formed, kept bulk writes waiting 20-40 ms, p99
      of the mix 200-300 ms). Whoever runs first takes it; a woken waiter that finds it taken
      again waits at the head of the line.
    - Between processes, the writer with the turn takes an flock on a file beside the
      database before `BEGIN IMMEDIATE`, and lets go after the COMMIT or ROLLBACK. A
      transaction runs inline from BEGIN to COMMIT without giving the event loop a turn, so
      the flock is never held idle; and the writer that finds it taken waits for it without
      giving the loop a turn either, for up to `SYNC_WAIT` (a few other writes). Past that (a
      long import holds it), a worker thread waits until the flock is free, on a file
      description of its own, and lets it go at once: the writer tries again when the loop
      comes back to it (a flock taken by the thread would sit idle until then).

    Only Homeroom's own write connections take turns; anything else that writes (a migration,
    the sqlite3 shell) is still met by the polling in `_Inline.run`."""

    SYNC_WAIT = 0.005
    _POLL = 0.0001

    def __init__(self, path: str) -> None:
        self._path = f"{path}-writers.lock"
        self._fd: int | None = None
        self._busy = False
        self._line: deque[asyncio.Future[None]] = deque()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = _open_lock_file(self._path)
            weakref.finalize(self, os.close, self._fd)
        return self._fd

    async def take(self, patience: float) -> None:
        """This process's next writer's turn; OperationalError("database is locked") when it
        has not come after `patience` seconds."""
        deadline = time.monotonic() + patience
        await self._line_up(deadline)
        try:
            while not self._flock_soon():
                await self._until_free(deadline)
        except BaseException:
            self._let_go()
            raise

    def release(self) -> None:
        """After a COMMIT or ROLLBACK: the other processes, and this one's next writer."""
        fcntl.flock(self._file(), fcntl.LOCK_UN)
        self._let_go()

    async def _line_up(self, deadline: float) -> None:
        if not self._busy:
            self._busy = True
            return
        loop = asyncio.get_running_loop()
        head = False
        while True:
            place: asyncio.Future[None] = loop.create_future()
            if head:
                self._line.appendleft(place)
            else:
                self._line.append(place)
            try:
                await asyncio.wait_for(asyncio.shield(place), max(0.0, deadline - time.monotonic()))
            except BaseException as exc:
                if place.done() and not place.cancelled():
                    self._wake()  # it was woken meanwhile: wake the next one instead
                else:
                    place.cancel()
                if isinstance(exc, TimeoutError):
                    raise sqlite3.OperationalError("database is locked") from None
                raise
            if not self._busy:
                self._busy = True
                return
            head = True  # another writer ran first: this one is next

    def _let_go(self) -> None:
        self._busy = False
        self._wake()

    def _wake(self) -> None:
        while self._line:
            place = self._line.popleft()
            if not place.done():
                place.set_result(None)
                return

    def _flock_soon(self) -> bool:
        """The flock within SYNC_WAIT, waited for on this thread; False if not by then."""
        fd = self._file()
        until = time.monotonic() + self.SYNC_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= until:
                    return False
                time.sleep(self._POLL)

    async def _until_free(self, deadline: float) -> None:
        """Returns once no process holds the flock (or raises past `deadline`)."""
        patience = deadline - time.monotonic()
        if patience <= 0:
            raise sqlite3.OperationalError("database is locked")
        waiting = asyncio.get_running_loop().run_in_executor(None, _wait_until_free, self._path)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), patience)
        except TimeoutError:
            # The thread cannot be interrupted: it lets the flock go as soon as it has it.
            raise sqlite3.OperationalError("database is locked") from None


def _open_lock_file(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _wait_until_free(path: str) -> None:
    """Takes the flock of `path` on a file description of its own and lets it go at once: this
    process's own description may hold it meanwhile (another of its writers), and letting go
    there would take it from under that writer."""
    fd = _open_lock_file(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class _Inline:
    """Runs a connection's calls inline, or in a thread inside `offloaded()`."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float, turns: Turns) -> None:
        self._conn = conn
        self.busy_timeout = busy_timeout
        self.turns = turns
        self.has_turn = False

    async def take_turn(self) -> None:
        if not self.has_turn:
            await self.turns.take(self.busy_timeout)
            self.has_turn = True

    def end_turn(self, closing: bool = False) -> None:
        if self.has_turn and (closing or not self._conn.in_transaction):
            self.has_turn = False
            self.turns.release()

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
        deadline = time.monotonic() + self.busy_timeout
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
        if sql.startswith("BEGIN"):
            await self._inline.take_turn()
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

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float, turns: Turns) -> None:
        self._conn = conn
        self._inline = _Inline(conn, busy_timeout, turns)
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
        global _commits
        try:
            await self._inline.run(self._conn.commit)
            _commits += 1
        finally:
            self._inline.end_turn()

    async def rollback(self) -> None:
        try:
            await self._inline.run(self._conn.rollback)
        finally:
            self._inline.end_turn()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._conn.close()
        self._inline.end_turn(closing=True)

    def stop(self) -> None:
        self._conn.close()
        self._inline.end_turn(closing=True)


def connect_inline(
    path: str, busy_timeout: float, turns: Turns
) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for create_async_engine: sqlite3 connections to `path` that fail
    fast on a held lock (the wait happens in `Turns` and `_Inline.run`) and take turns with
    the other connections of `turns` (one per engine: a process's)."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(path, timeout=0, check_same_thread=False)
        return InlineConnection(conn, busy_timeout, turns)

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
        checkpoint: asyncio.Future[Any] | None = None
        try:
            while True:
                await asyncio.sleep(self._every)
                checkpoint = asyncio.ensure_future(
                    asyncio.to_thread(conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
                )
                # Busy (another process checkpoints) or no WAL yet: the next round.
                with contextlib.suppress(sqlite3.Error):
                    await asyncio.shield(checkpoint)
        finally:
            if checkpoint is not None and not checkpoint.done():
                # Stopped mid-checkpoint: the thread still uses the connection; closing it
                # under the thread crashed the process.
                await asyncio.wait([checkpoint])
            conn.close()
