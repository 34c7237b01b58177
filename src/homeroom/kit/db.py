"""Database access: one engine for writes, one raw read path for hot reads.

Writes go through the SQLAlchemy async ORM session, one unit of work per request.
Reads that dominate a school day (lists, detail pages) go through `Reader`: a SQLAlchemy Core
statement compiled ONCE per shape, executed on the raw driver (sqlite3 inline, asyncpg pool)
and returned as plain tuples. The layers were measured on this machine (bench/README.md): the
async ORM over aiosqlite runs at about a quarter of raw sqlite3, and the SQLAlchemy layers over
asyncpg at about half; the raw path keeps the endpoint near the driver's own speed.

Both paths run the same statement objects, so a write endpoint can read its result back through
its own session (`SessionReader`) with the same SQL and the same row shape.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ParamSpec, Protocol, cast, overload

import orjson
from sqlalchemy import Boolean, Select, event
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import Executable

from homeroom.config import Settings
from homeroom.kit.bulk import execute_core
from homeroom.kit.sqlite_inline import Checkpointer, Turns, connect_inline
from homeroom.kit.sqlite_inline import commits as sqlite_commits
from homeroom.models.base import sqlite_timestamp

Row = tuple[Any, ...]
P = ParamSpec("P")

# The raw sqlite3 path bypasses SQLAlchemy's type processors, so parameters are adapted here
# to exactly the text UTCDateTime and Date store (a cursor's datetime must compare as text).
sqlite3.register_adapter(datetime, sqlite_timestamp)
sqlite3.register_adapter(date, date.isoformat)


# --- statement counting (tests assert query counts; both paths report here) -------------------


class StatementCounter:
    """Counts SQL statements issued by this process while `counting()` is active."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.active = False

    def record(self, sql: str) -> None:
        if self.active:
            self.statements.append(sql)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


statement_counter = StatementCounter()


# --- compiled queries ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A statement compiled for one dialect: SQL text, positional parameter order, defaults."""

    statement: Executable
    sql: str
    param_names: tuple[str, ...]
    defaults: dict[str, Any]
    columns: tuple[str, ...]
    # Indexes of columns whose raw SQLite value needs converting (0/1 -> bool).
    bool_columns: tuple[int, ...]
    # A query that may read many rows (a search, an aggregate): SQLite runs it in a worker thread.
    scan: bool = False

    def positional(self, params: dict[str, Any]) -> list[Any]:
        defaults = self.defaults
        return [params[n] if n in params else defaults.get(n) for n in self.param_names]


def _compile(statement: Executable, dialect: Dialect, scan: bool = False) -> CompiledQuery:
    compiled: Any = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ())
    defaults = {k: v for k, v in compiled.construct_params(_check=False).items() if v is not None}
    columns: tuple[str, ...] = ()
    bools: tuple[int, ...] = ()
    if isinstance(statement, Select):
        selected = list(statement.selected_columns)
        columns = tuple(c.key or c.name for c in selected)
        if dialect.name == "sqlite":
            bools = tuple(i for i, c in enumerate(selected) if isinstance(c.type, Boolean))
    return CompiledQuery(statement, compiled.string, names, defaults, columns, bools, scan)


# --- readers -----------------------------------------------------------------------------------


class Reader(Protocol):
    """Runs compiled queries and returns plain rows."""

    async def all(self, query: CompiledQuery, params: dict[str, Any]) -> list[Row]: ...
    async def first(self, query: CompiledQuery, params: dict[str, Any]) -> Row | None: ...
    async def scalar(self, query: CompiledQuery, params: dict[str, Any]) -> Any: ...


def _fix_bools(rows: list[Row], bool_columns: tuple[int, ...]) -> list[Row]:
    if not bool_columns or not rows:
        return rows
    out = []
    for row in rows:
        r = list(row)
        for i in bool_columns:
            if r[i] is not None:
                r[i] = bool(r[i])
        out.append(tuple(r))
    return out


class SqliteReader:
    """Runs queries inline on a per-process read-only sqlite3 connection.

    Inline, not in a thread: an indexed read takes tens of microseconds, less than a thread
    hand-off costs on 2 cores (the GIL switch interval). WAL lets these reads run beside
    the writer without blocking.

    A query compiled with `scan=True` (one that may read a whole school: a search, which its
    index makes cheap unless the term is in every student's email; the dashboard's
    aggregates) runs in a worker thread on that thread's own connection instead: inline, a
    65 ms search scan held the event loop for its whole duration and every other request of
    the worker waited behind it (measured in the school-day mix: p99 8.5 s).
    """

    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._threads = threading.local()
        self._scan_connections: list[sqlite3.Connection] = []
        self._version: int | None = None
        self._version_commits = -1

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self._path,
                check_same_thread=False,
                isolation_level=None,  # autocommit: each read sees the latest commit
                cached_statements=512,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA query_only = 1")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA mmap_size = 268435456")
            self._conn = conn
        return self._conn

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the database
        (`PRAGMA data_version`). Not counted as a statement: it reads connection state.

        Read once per turn of the event loop: the value is kept until a callback scheduled
        after the read runs (the ready queue is first in, first out). Every request served
        meanwhile was scheduled before the read, so it was sent after every commit it may
        have been told of, and those commits were made before the read: it sees them. Under
        load a turn serves many reads (the pragma was ~3% of the CPU of the school-day mix).
        """
        if self._version is None or self._version_commits != sqlite_commits():
            # (A write of this process since: an in-process caller may read right after it.)
            self._version = self._connection().execute("PRAGMA data_version").fetchone()[0]
            self._version_commits = sqlite_commits()
            try:
                asyncio.get_running_loop().call_soon(self._forget_version)
            except RuntimeError:  # no event loop: read it every time
                value, self._version = self._version, None
                return value
        return self._version

    def _forget_version(self) -> None:
        self._version = None

    def _run(self, query: CompiledQuery, params: dict[str, Any]) -> sqlite3.Cursor:
        statement_counter.record(query.sql)
        return self._connection().execute(query.sql, query.positional(params))

    def _scan_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._threads, "conn", None)
        if conn is None:
            # Used only by its own thread; closed by the owner of the reader at shutdown.
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA query_only = 1")
            self._threads.conn = conn
            self._scan_connections.append(conn)
        return conn

    def _scan(self, query: CompiledQuery, params: dict[str, Any]) -> list[Row]:
        statement_counter.record(query.sql)
        cursor = self._scan_connection().execute(query.sql, query.positional(params))
        return cursor.fetchall()

    async def _rows(self, query: CompiledQuery, params: dict[str, Any]) -> list[Row]:
        if query.scan:
            rows = await asyncio.to_thread(self._scan, query, params)
        else:
            rows = self._run(query, params).fetchall()
        return _fix_bools(rows, query.bool_columns)

    async def all(self, query: CompiledQuery, params: dict[str, Any]) -> list[Row]:
        return await self._rows(query, params)

    async def first(self, query: CompiledQuery, params: dict[str, Any]) -> Row | None:
        if query.scan:
            rows = await self._rows(query, params)
            return rows[0] if rows else None
        row = self._run(query, params).fetchone()
        if row is None:
            return None
        return _fix_bools([row], query.bool_columns)[0]

    async def scalar(self, query: CompiledQuery, params: dict[str, Any]) -> Any:
        if query.scan:
            rows = await self._rows(query, params)
            return rows[0][0] if rows else None
        row = self._run(query, params).fetchone()
        return None if row is None else row[0]

    async def batches(
        self, query: CompiledQuery, params: dict[str, Any], size: int
    ) -> AsyncIterator[list[Row]]:
        """The rows in lists of up to `size`, read on a connection of its own in a worker
        thread (exports): sorting a whole school's list must not hold the event loop, and
        sqlite3 releases the GIL while it steps."""
        conn = sqlite3.connect(self._path, check_same_thread=False)
        try:
            statement_counter.record(query.sql)
            cur = await asyncio.to_thread(conn.execute, query.sql, query.positional(params))
            while batch := await asyncio.to_thread(_fetch_batch, cur, size):
                yield _fix_bools(batch, query.bool_columns)
        finally:
            conn.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        for conn in self._scan_connections:
            conn.close()
        self._scan_connections.clear()


def _fetch_batch(cursor: sqlite3.Cursor, size: int) -> list[Row]:
    """The next rows of an export's cursor (run in a worker thread)."""
    return cursor.fetchmany(size)


async def _keep_session(connection: Any) -> None:
    """Releases a reader connection without asyncpg's RESET ALL / UNLISTEN round trip: the
    reader sets no session state and takes no locks (measured: 2x reads/s at 32 readers).
    asyncpg still rolls back any open transaction on release."""


class _Connections:
    """The reader's asyncpg connections: a stack of idle ones and a line of waiting queries.

    asyncpg's own pool costs ~80 us of CPU per query on top of the query's ~30 us (its
    acquire and release machinery; measured with uvloop, `pool.fetchrow` 111 us against
    `connection.fetchrow` 30 us): more than the rest of a cached read. Reads need none of what
    it does (no transactions, no session state to reset): here taking a free connection is a
    list pop, and a query that finds none waits in line for the next one given back.
    Connections are opened as needed up to `size`; one that broke is dropped and replaced.
    """

    def __init__(self, connect: Callable[[], Awaitable[Any]], size: int) -> None:
        self._connect = connect
        self._size = size
        self._open = 0
        self._idle: list[Any] = []
        self._line: deque[asyncio.Future[Any]] = deque()

    async def take(self) -> Any:
        if self._idle:
            return self._idle.pop()
        if self._open < self._size:
            return await self._opened()
        place: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._line.append(place)
        try:
            conn = await place
        except BaseException:
            if place.done() and not place.cancelled():
                self.give(place.result())  # handed to us as we were cancelled: pass it on
            raise
        return conn if conn is not None else await self._opened()

    async def _opened(self) -> Any:
        self._open += 1
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            raise

    def give(self, conn: Any, broken: bool = False) -> None:
        if broken or conn.is_closed():
            self._open -= 1
            conn.terminate()
            conn = None  # the next in line opens a new one
        while self._line:
            place = self._line.popleft()
            if not place.done():
                place.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)

    async def close(self) -> None:
        for place in self._line:
            place.cancel()
        self._line.clear()
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()


class AsyncpgReader:
    """Runs queries on asyncpg connections with their statement caches."""

    def __init__(self, dsn: str, max_size: int, statement_timeout_ms: int, heavy_size: int) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._timeout_ms = statement_timeout_ms
        self._heavy_size = heavy_size
        self._pool: _Connections | None = None
        self._heavy: Any = None
        self._heavy_lock = asyncio.Lock()

    async def start(self) -> None:
        import asyncpg

        async def connect() -> Any:
            return await asyncpg.connect(
                self._dsn, server_settings=self._server_settings("homeroom-reader")
            )

        self._pool = _Connections(connect, self._max_size)
        self._pool.give(await self._pool.take())  # fail at start-up, not on the first read

    def _server_settings(self, name: str) -> dict[str, str]:
        return {"statement_timeout": str(self._timeout_ms), "jit": "off", "application_name": name}

    async def _run(self, method: str, query: CompiledQuery, params: dict[str, Any]) -> Any:
        statement_counter.record(query.sql)
        pool = self._pool
        assert pool is not None, "the reader is not started"
        conn = await pool.take()
        broken = False
        try:
            return await getattr(conn, method)(query.sql, *query.positional(params))
        except BaseException as exc:
            broken = _broken(exc)
            raise
        finally:
            pool.give(conn, broken)

    async def all(self, query: CompiledQuery, params: dict[str, Any]) -> list[Row]:
        rows = await self._run("fetch", query, params)
        return [tuple(r) for r in rows]

    async def first(self, query: CompiledQuery, params: dict[str, Any]) -> Row | None:
        row = await self._run("fetchrow", query, params)
        return None if row is None else tuple(row)

    async def scalar(self, query: CompiledQuery, params: dict[str, Any]) -> Any:
        return await self._run("fetchval", query, params)

    async def batches(
        self, query: CompiledQuery, params: dict[str, Any], size: int
    ) -> AsyncIterator[list[Row]]:
        """The rows in lists of up to `size` from a server-side cursor (exports), on a
        connection of the heavy pool: a long stream never holds one the hot reads need."""
        statement_counter.record(query.sql)
        pool = await self._heavy_pool()
        async with pool.acquire() as conn, conn.transaction():
            cursor = await conn.cursor(query.sql, *query.positional(params))
            while batch := await cursor.fetch(size):
                yield [tuple(record) for record in batch]

    async def _heavy_pool(self) -> Any:
        async with self._heavy_lock:
            if self._heavy is None:
                import asyncpg

                self._heavy = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._heavy_size,
                    server_settings=self._server_settings("homeroom-heavy"),
                    reset=_keep_session,
                )
        return self._heavy

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._heavy is not None:
            await self._heavy.close()
            self._heavy = None


def _broken(exc: BaseException) -> bool:
    """Whether a query's error leaves its connection unusable (rather than the query wrong):
    the connection is then dropped instead of given back."""
    import asyncpg

    if isinstance(exc, asyncpg.PostgresError):
        return isinstance(exc, asyncpg.PostgresConnectionError)
    return True  # cancelled mid-query, or the socket failed: its state is unknown


class SessionReader:
    """Runs the same compiled queries through an ORM session (inside its transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # SQLite: the raw reader returns timestamps as the stored text (".000000" included)
        # while the ORM parses them and orjson drops a zero fraction, so the same record
        # would encode (and ETag) differently; give back the stored form here too.
        self._as_stored = session.get_bind().dialect.name == "sqlite"

    def _row(self, row: Any) -> Row:
        if not self._as_stored:
            return tuple(row)
        return tuple(sqlite_timestamp(v) if isinstance(v, datetime) else v for v in row)

    async def _execute(self, query: CompiledQuery, params: dict[str, Any]) -> Any:
        return await execute_core(self._session, query.statement, params)

    async def all(self, query: CompiledQuery, params: dict[str, Any]) -> list[Row]:
        result = await self._execute(query, params)
        return [self._row(r) for r in result.all()]

    async def first(self, query: CompiledQuery, params: dict[str, Any]) -> Row | None:
        row = (await self._execute(query, params)).first()
        return None if row is None else self._row(row)

    async def scalar(self, query: CompiledQuery, params: dict[str, Any]) -> Any:
        return (await self._execute(query, params)).scalar()

    async def returned(self, statement: Executable, params: dict[str, Any]) -> Row | None:
        """The first row `statement` returns (an INSERT or UPDATE ... RETURNING), in the form
        the read path gives it."""
        row = (await execute_core(self._session, statement, params)).first()
        return None if row is None else self._row(row)


# --- sessions -----------------------------------------------------------------------------------


@asynccontextmanager
async def open_session(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session of `maker`, closed where this context ends.

    `async with maker() as session` closes the session in a task of its own, under
    `asyncio.shield`: the request waits a whole turn of the event loop for it, behind every
    request queued meanwhile (~10 ms under the school-day mix: one of the three waits of a
    bulk write). Closing here costs no turn (on SQLite no await suspends; on PostgreSQL a
    committed or rolled-back connection goes back to the pool without a round trip)."""
    session = maker()
    try:
        yield session
    finally:
        await session.close()


# --- after commit -------------------------------------------------------------------------------

AFTER_COMMIT = "homeroom.after_commit"


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Runs `action` once the request's transaction has committed (kit/deps.unit_of_work);
    dropped if it rolls back. Jobs are sent this way: never before their row exists."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


async def run_after_commit(session: AsyncSession) -> None:
    for action in session.info.pop(AFTER_COMMIT, []):
        await action()


def discard_after_commit(session: AsyncSession) -> None:
    session.info.pop(AFTER_COMMIT, None)


# --- group commit ------------------------------------------------------------------------------

GroupWrite = Callable[[AsyncSession, list[Any]], Awaitable[None]]


class GroupCommit:
    """Small writes of concurrent requests, committed together: one transaction per batch.

    For writes that arrive by the dozen and must each be durable before their answer (a class
    signing in at once: a login row, a refresh token, last_login_at). SQLite has one write
    connection per process (create_engine); when every statement was a hop to the driver's
    thread, with argon2 filling both cores, one login's transaction held it 7-23 ms at the
    median and up to 280 ms (measured in process, 64 logins at once on the district, a busy
    machine), together about the whole burst's duration; the logins queued one transaction
    each and the last ones could pass the pool timeout (503). Here a submitter waits for the
    commit of the batch that carries its item, so nothing is acknowledged before it is
    committed (and a burst pays a few commits, on PostgreSQL a few WAL flushes); the
    next batch starts as soon as the previous one ends (no timer), so a lone write is not
    delayed, and a burst takes a few transactions instead of one each. A failed batch fails
    every submitter in it (the request answers as it would have alone, e.g. 503)."""

    def __init__(self, db: Database, write: GroupWrite, max_batch: int = 500) -> None:
        self._db = db
        self._write = write
        self._max_batch = max_batch
        self._pending: list[tuple[Any, asyncio.Future[None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Any) -> None:
        """Writes `item` with whatever else is pending; returns once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        await done

    async def drain(self) -> None:
        """Waits until every submitted item is written (at shutdown)."""
        if self._runner is not None:
            await asyncio.shield(self._runner)

    async def _run(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                try:
                    async with open_session(self._db.sessionmaker) as session, session.begin():
                        await self._write(session, [item for item, _ in batch])
                except BaseException as exc:
                    for _, done in batch:
                        if done.done():  # its request was cancelled meanwhile
                            continue
                        if isinstance(exc, asyncio.CancelledError):
                            done.cancel()
                        else:
                            done.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._runner = None
            if self._pending:  # cancelled (shutdown): nobody will write the rest
                for _, done in self._pending:
                    done.cancel()
                self._pending.clear()


# --- the database object -----------------------------------------------------------------------


@dataclass
class Database:
    """Everything a process needs to talk to its database (the write engine and its sessions,
    the raw reader, compiled queries); created in the app's lifespan. What the process keeps
    beside it lives beside it: the response cache (kit/cache.ResponseCache, which reads its
    versions through this) and the job runtime (jobs/broker.JobRuntime)."""

    settings: Settings
    engine: AsyncEngine = field(init=False)
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    reader: SqliteReader | AsyncpgReader = field(init=False)
    dialect: Dialect = field(init=False)
    # Heavy reads (an export, a dashboard built anew) running at once in this process; more
    # wait for a turn instead of taking the CPU from every other request.
    heavy: asyncio.Semaphore = field(init=False)
    _queries: dict[Hashable, CompiledQuery] = field(default_factory=dict, init=False)
    _checkpointer: Checkpointer | None = field(default=None, init=False)
    _groups: dict[Hashable, GroupCommit] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        url = self.settings.effective_database_url
        self.engine = create_engine(self.settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.heavy = asyncio.Semaphore(self.settings.export_concurrency)
        if self.settings.is_sqlite:
            self.dialect = sqlite.dialect(paramstyle="qmark")
            self.reader = SqliteReader(sqlite_path(url), self.settings.sqlite_busy_timeout_ms)
        else:
            self.dialect = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
            dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
            self.reader = AsyncpgReader(
                dsn,
                self.settings.db_pool_size,
                self.settings.db_statement_timeout_ms,
                self.settings.pool_sizes()[2],
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect.name == "sqlite"

    async def start(self) -> None:
        if isinstance(self.reader, AsyncpgReader):
            await self.reader.start()
        else:
            self._checkpointer = Checkpointer(sqlite_path(self.settings.effective_database_url))
            self._checkpointer.start()

    async def close(self) -> None:
        for group in self._groups.values():
            await group.drain()
        if self._checkpointer is not None:
            await self._checkpointer.stop()
        if isinstance(self.reader, AsyncpgReader):
            await self.reader.close()
        else:
            self.reader.close()
        await self.engine.dispose()

    def query(
        self, key: Hashable, build: Callable[[], Executable], *, scan: bool = False
    ) -> CompiledQuery:
        """The compiled form of the statement `build()` makes, compiled once per `key`.

        `key` must name everything that changes the statement's shape (filters present,
        sort order); values travel as bind parameters.
        """
        compiled = self._queries.get(key)
        if compiled is None:
            compiled = self._queries[key] = _compile(build(), self.dialect, scan)
        return compiled

    def group_commit(self, key: Hashable, write: GroupWrite) -> GroupCommit:
        """The process's `GroupCommit` for `key` (created on first use) writing with `write`."""
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = GroupCommit(self, write)
        return group


class Compiled(Protocol[P]):
    """A statement builder compiled once per distinct arguments: `query(db, *shape)`."""

    build: Callable[P, Executable]

    def __call__(self, db: Database, *args: P.args, **kwargs: P.kwargs) -> CompiledQuery: ...


@overload
def compiled(build: Callable[P, Executable], *, scan: bool = False) -> Compiled[P]: ...


@overload
def compiled(
    build: None = None, *, scan: bool = False
) -> Callable[[Callable[P, Executable]], Compiled[P]]: ...


def compiled(build: Callable[P, Executable] | None = None, *, scan: bool = False) -> Any:
    """Turns a statement builder into its compiled query: `query(db, *shape)` compiles
    `build(*shape)` once per distinct `shape` and returns it from then on.

    The cache key is the builder itself and the arguments it is called with, so no key is
    named by hand: the arguments must be exactly what changes the statement's shape (the
    caller's scope kind, which filters are present, the sort; hashable), while values travel
    as bind parameters. `scan` marks a query that may read many rows (SQLite runs it in a
    worker thread).
    """

    def wrap(build: Callable[P, Executable]) -> Compiled[P]:
        def query(db: Database, *args: P.args, **kwargs: P.kwargs) -> CompiledQuery:
            key = (build, args, tuple(kwargs.items())) if kwargs else (build, args)
            found = db._queries.get(key)
            if found is None:
                found = db._queries[key] = _compile(build(*args, **kwargs), db.dialect, scan)
            return found

        vars(query)["build"] = build
        query.__doc__ = build.__doc__
        query.__name__ = build.__name__
        query.__qualname__ = build.__qualname__
        return cast(Compiled[P], query)

    return wrap if build is None else wrap(build)


# Write connections per process on SQLite (one writes at a time; the others wait their turn).
SQLITE_WRITE_CONNECTIONS = 3


def sqlite_path(url: str) -> str:
    path = url.split(":///", 1)[1]
    return path.split("?", 1)[0]


def create_engine(settings: Settings, *, lock_timeout: bool = True) -> AsyncEngine:
    """The write engine. On PostgreSQL its sessions have the statement timeout and, unless
    `lock_timeout` is False (migrations wait for their locks), the lock timeout."""
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        path = Path(sqlite_path(url))
        path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one write lock for the whole file. Writers waiting for it inside SQLite
        # sleep in its busy handler (back-off up to 100 ms, no queue order), so under load the
        # lock sat free while every waiter slept (bulk writes alone: 83-89 req/s, p99 2-2.5
        # s). Here a process's write connections line up in order and the processes take
        # turns (kit/sqlite_inline.Turns); a few connections let the next writers of a process
        # wait in that line, ready, while one writes. Statements run inline on the event loop:
        # no thread hop per statement while the write lock is held.
        engine = create_async_engine(
            url,
            async_creator=connect_inline(
                str(path), settings.sqlite_busy_timeout_ms / 1000, Turns(str(path))
            ),
            pool_size=SQLITE_WRITE_CONNECTIONS,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout_seconds,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        _configure_sqlite(engine, settings)
    else:
        _, pool_size, _ = settings.pool_sizes()
        server_settings = {
            "statement_timeout": str(settings.db_statement_timeout_ms),
            # Short statements: LLVM compilation (80-190 ms when a plan's estimated cost
            # passes jit_above_cost) would cost more than it ever saves.
            "jit": "off",
            "application_name": "homeroom",
        }
        if lock_timeout:
            server_settings["lock_timeout"] = str(settings.db_lock_timeout_ms)
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout_seconds,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"server_settings": server_settings},
        )
        # A dead connection is replaced at checkout, without a round trip: asyncpg sees the
        # server close its socket as soon as it happens (pool_pre_ping sent a SELECT 1 before
        # every write request: one more round trip on each).
        event.listen(engine.sync_engine.pool, "checkout", _refuse_closed)
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if dbapi_connection.driver_connection.is_closed():
        raise sqlalchemy_exc.DisconnectionError("the database closed this connection")


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _count_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    statement_counter.record(statement)


def _configure_sqlite(engine: AsyncEngine, settings: Settings) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer nor each other.
        cursor.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across application crashes in WAL mode; only an OS crash or power
        # loss can lose the last commits, never corrupt the file.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 0: a held write lock fails at once and kit/sqlite_inline waits for it without
        # blocking the event loop (HOMEROOM_SQLITE_BUSY_TIMEOUT_MS bounds that wait).
        cursor.execute("PRAGMA busy_timeout = 0")
        # The writer reads index and summary pages too: keep them in memory (and the file
        # mapped), as the reader does, instead of a system call per page.
        cursor.execute("PRAGMA cache_size = -32768")
        cursor.execute("PRAGMA mmap_size = 268435456")
        # Checkpoints run in a worker thread (kit/sqlite_inline.Checkpointer), not inside a
        # COMMIT on the event loop.
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        # Take the write lock at BEGIN so two writers queue on busy_timeout instead of one
        # failing mid-transaction with "database is locked" on lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    # pysqlite's own transaction handling must be off for the BEGIN above to be ours.
    @event.listens_for(engine.sync_engine, "connect", insert=True)
    def _no_autobegin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
