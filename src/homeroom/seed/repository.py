"""Bulk loading of the demo rows through the raw drivers, one transaction per seed.

SQLite: sqlite3 `executemany` with foreign-key checks and fsync off for the load, the secondary
indexes of the big tables dropped first and rebuilt at the end (a sort instead of millions of
random b-tree inserts), the student search index built once from the loaded table.
PostgreSQL: asyncpg binary COPY, the same indexes (the search's trigram indexes too) and the
foreign keys dropped and recreated inside the same transaction (recreating a foreign key checks
every row in one join), then the id sequences moved past the ids we assigned. Either the whole
school is written or nothing is: a failed seed leaves the database as it found it.

The analytics summaries' triggers keep them in step one write at a time: on the district's 7 M
grade and attendance rows that made seeding 3-4x slower (SQLite 55 s -> 204 s, PostgreSQL
88 s -> 193 s). A seed turns them off for its load and fills the summaries once with the
application's set-based statements (analytics/summary_repository.py), in the same transaction.
"""

from __future__ import annotations

import itertools
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any, Protocol

import orjson

from homeroom.analytics import summary_repository as summaries
from homeroom.config import Settings
from homeroom.kit.cache import EPOCH
from homeroom.kit.db import sqlite_path
from homeroom.models import Base
from homeroom.models.base import sqlite_timestamp
from homeroom.seed.plan import Codec, Row, Table

CHUNK = 50_000

# Tables that get tens of thousands to millions of rows: their secondary indexes (and on
# PostgreSQL their unique and foreign-key constraints) are built after the load.
BULK_TABLES = (
    "users",
    "students",
    "guardians",
    "student_guardians",
    "enrollments",
    "grades",
    "attendance_sessions",
    "attendance_records",
)

OnRows = Callable[[str, int], None]

# SQLite's student search index (migration 0006) built from the table in one pass.
SEARCH_INDEX_REBUILD = "INSERT INTO students_fts (students_fts) VALUES ('rebuild')"


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _identity(value: Any) -> Any:
    return value


SQLITE_CODEC = Codec(timestamp=sqlite_timestamp, day=date.isoformat, flag=int, json=_json)
POSTGRES_CODEC = Codec(timestamp=_identity, day=_identity, flag=_identity, json=_json)


class DatabaseNotEmpty(Exception):
    def __init__(self, tables: Sequence[str], school: str | None) -> None:
        self.tables = tuple(tables)
        self.school = school
        super().__init__(f"the database already has data in: {', '.join(tables)}")


class Target(Protocol):
    codec: Codec

    async def existing(self) -> DatabaseNotEmpty | None:
        """What is already there (None when every table is empty)."""

    async def load(self, tables: Iterable[Table], on_rows: OnRows) -> None:
        """Write every table in one transaction; raises DatabaseNotEmpty if data appeared."""


def target_for(settings: Settings) -> Target:
    url = settings.effective_database_url
    if settings.is_sqlite:
        return SqliteTarget(sqlite_path(url))
    return PostgresTarget(url.replace("postgresql+asyncpg://", "postgresql://", 1))


def _table_names() -> list[str]:
    # cache_versions holds no school data: a server started before the seed writes its cache
    # epoch there, and that must not make the database count as taken.
    return [t.name for t in Base.metadata.sorted_tables if t.name != "cache_versions"]


# A seed writes logins, people and a catalog in bulk, past every write path that bumps cache
# tags (kit/cache.py): it replaces the cache epoch in its own transaction instead, so no answer
# cached before it (an all-schools admin's count of logins, say) is ever served after it.
NEW_EPOCH_SQL = (
    "INSERT INTO cache_versions (tag, version) VALUES ({}, {}) "
    "ON CONFLICT (tag) DO UPDATE SET version = excluded.version"
)


def _emptiness_sql() -> str:
    return "SELECT " + ", ".join(f"EXISTS (SELECT 1 FROM {t})" for t in _table_names())


def _verdict(flags: Sequence[Any], school: str | None) -> DatabaseNotEmpty | None:
    full = [name for name, flag in zip(_table_names(), flags, strict=True) if flag]
    return DatabaseNotEmpty(full, school) if full else None


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# --- SQLite ------------------------------------------------------------------------------------


class SqliteTarget:
    codec = SQLITE_CODEC

    def __init__(self, path: str) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None, timeout=30)

    def _existing(self, conn: sqlite3.Connection) -> DatabaseNotEmpty | None:
        flags = conn.execute(_emptiness_sql()).fetchone()
        schools = conn.execute("SELECT code FROM schools ORDER BY id LIMIT 1")
        return _verdict(flags, next((code for (code,) in schools), None))

    async def existing(self) -> DatabaseNotEmpty | None:
        conn = self._connect()
        try:
            return self._existing(conn)
        finally:
            conn.close()

    async def load(self, tables: Iterable[Table], on_rows: OnRows) -> None:
        import asyncio

        await asyncio.to_thread(self._load, tables, on_rows)

    def _load(self, tables: Iterable[Table], on_rows: OnRows) -> None:
        conn = self._connect()
        try:
            # Rows are valid by construction (the tests check them with foreign_key_check and
            # integrity_check); checking foreign keys and CHECK constraints row by row would
            # double the load (an IN-list CHECK alone costs ~2 us a row). Connection-local.
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("PRAGMA ignore_check_constraints = ON")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA cache_size = -1048576")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA threads = 2")  # helper threads for CREATE INDEX's sort
            journal = self._rollback_journal(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                found = self._existing(conn)
                if found is not None:
                    raise found
                indexes = conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                    f" AND tbl_name IN ({', '.join('?' * len(BULK_TABLES))})",
                    BULK_TABLES,
                ).fetchall()
                for name, _ in indexes:
                    conn.execute(f'DROP INDEX "{name}"')
                # The summary and search-index triggers: off for the load; the summaries are
                # filled and the search index built once after it.
                triggers = conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                    " AND (name LIKE 'analytics!_%' ESCAPE '!'"
                    " OR name LIKE 'students!_fts!_%' ESCAPE '!')"
                ).fetchall()
                for name, _ in triggers:
                    conn.execute(f'DROP TRIGGER "{name}"')
                for table in tables:
                    marks = ", ".join("?" * len(table.columns))
                    sql = f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})"
                    for chunk in _chunks(table.rows, CHUNK):
                        conn.executemany(sql, chunk)
                        on_rows(table.name, len(chunk))
                for _, create in indexes:
                    conn.execute(create)
                for statement in summaries.fill_statements(sqlite=True):
                    conn.execute(statement)
                conn.execute(SEARCH_INDEX_REBUILD)
                for _, create in triggers:
                    conn.execute(create)
                conn.execute(NEW_EPOCH_SQL.format("?", "?"), (EPOCH, secrets.randbits(63)))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            # Statistics for the query planner; sampled, so it takes a moment even on millions.
            conn.execute("PRAGMA analysis_limit = 1000")
            conn.execute("ANALYZE")
            if journal:
                conn.execute(f"PRAGMA journal_mode = {journal}")
        finally:
            conn.close()

    @staticmethod
    def _rollback_journal(conn: sqlite3.Connection) -> str | None:
        """Leave WAL for the load when nobody else has the file open.

        In WAL mode every page would be written twice (to the log, then checkpointed); with a
        rollback journal, pages added to a fresh table are written once and need no journal.
        Returns the mode to restore afterwards.
        """
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
        if mode.lower() != "wal":
            return None
        try:
            changed = str(conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0])
        except sqlite3.OperationalError:  # another connection holds the file: stay in WAL
            return None
        return mode if changed.lower() != "wal" else None


# --- PostgreSQL --------------------------------------------------------------------------------

_DEFERRABLE_INDEXES = """
SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
WHERE c.relname = ANY($1::text[])
  AND c.relnamespace = current_schema()::regnamespace
  AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
"""

_DEFERRABLE_CONSTRAINTS = """
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', k.conrelid::regclass, k.conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.conrelid::regclass, k.conname,
              pg_get_constraintdef(k.oid)),
       k.contype::text
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relname = ANY($1::text[])
  AND c.relnamespace = current_schema()::regnamespace
  AND k.contype IN ('u', 'f')
ORDER BY k.contype = 'u', k.conname
"""


# The summary triggers (named analytics_*), as the schema has them.
_SUMMARY_TRIGGERS = r"""
SELECT t.tgname, c.relname
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
WHERE t.tgname LIKE 'analytics\_%'
  AND NOT t.tgisinternal
  AND c.relnamespace = current_schema()::regnamespace
ORDER BY t.tgname
"""


class PostgresTarget:
    codec = POSTGRES_CODEC

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def _existing(self, conn: Any) -> DatabaseNotEmpty | None:
        flags = await conn.fetchrow(_emptiness_sql())
        school = await conn.fetchval("SELECT code FROM schools ORDER BY id LIMIT 1")
        return _verdict(tuple(flags), school)

    async def existing(self) -> DatabaseNotEmpty | None:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            return await self._existing(conn)
        finally:
            await conn.close()

    async def load(self, tables: Iterable[Table], on_rows: OnRows) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            async with conn.transaction():
                # Serialize concurrent seeds: the second waits, then finds the data.
                await conn.execute("LOCK TABLE schools IN EXCLUSIVE MODE")
                found = await self._existing(conn)
                if found is not None:
                    raise found
                await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
                await conn.execute("SET LOCAL synchronous_commit = off")
                rebuild = await self._drop_deferrable(conn)
                # The summary triggers: off for the load, the summaries filled once after it.
                triggers = await conn.fetch(_SUMMARY_TRIGGERS)
                for name, owner in triggers:
                    await conn.execute(f"ALTER TABLE {owner} DISABLE TRIGGER {name}")
                written: list[Table] = []
                for table in tables:
                    for chunk in _chunks(table.rows, CHUNK):
                        await conn.copy_records_to_table(
                            table.name, records=chunk, columns=table.columns
                        )
                        on_rows(table.name, len(chunk))
                    written.append(table)
                for statement in rebuild:
                    await conn.execute(statement)
                await conn.execute("SET LOCAL work_mem = '256MB'")
                for statement in summaries.fill_statements(sqlite=False):
                    await conn.execute(statement)
                for name, owner in triggers:
                    await conn.execute(f"ALTER TABLE {owner} ENABLE TRIGGER {name}")
                await conn.execute(NEW_EPOCH_SQL.format("$1", "$2"), EPOCH, secrets.randbits(63))
                for table in written:
                    if "id" in table.columns and table.count:
                        # Ids were assigned here: move the sequence past them.
                        await conn.execute(
                            "SELECT setval(pg_get_serial_sequence($1, 'id'), $2)",
                            table.name,
                            table.count,
                        )
            # Every table: the summaries filled above too (with stale statistics the planner
            # took the dashboard's at-risk join for a seq scan of 350,000 rows: 36 -> 6 ms).
            await conn.execute("ANALYZE")
        finally:
            await conn.close()

    @staticmethod
    async def _drop_deferrable(conn: Any) -> list[str]:
        """Drop the big tables' secondary indexes, unique and foreign-key constraints; return
        the statements that recreate them (indexes and unique constraints before the foreign
        keys, which are checked as they are added)."""
        tables = list(BULK_TABLES)
        constraints = await conn.fetch(_DEFERRABLE_CONSTRAINTS, tables)
        indexes = [(drop, create) for drop, create in await conn.fetch(_DEFERRABLE_INDEXES, tables)]
        foreign = [(drop, create) for drop, create, kind in constraints if kind == "f"]
        unique = [(drop, create) for drop, create, kind in constraints if kind == "u"]
        for drop, _ in [*foreign, *unique, *indexes]:
            await conn.execute(drop)
        return [create for _, create in [*unique, *indexes, *foreign]]
