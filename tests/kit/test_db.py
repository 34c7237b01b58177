"""The write path's connections: SQLite inline with a lock wait that never blocks the event
loop, checkpoints off the commit, and PostgreSQL connections the server closed."""

import asyncio
import itertools
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from homeroom.kit.db import Database, sqlite_path
from homeroom.kit.sqlite_inline import Checkpointer, offloaded


def _sqlite_only(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's write lock")


class TestSqliteWriteLock:
    async def test_waiting_for_the_lock_leaves_the_event_loop_free(self, db: Database) -> None:
        """Another process holds the write lock for 300 ms: a write waits for it and then
        succeeds, while the event loop keeps running other tasks every few milliseconds."""
        _sqlite_only(db)
        holder = sqlite3.connect(sqlite_path(db.settings.effective_database_url))
        holder.execute("BEGIN IMMEDIATE")
        ticks: list[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.005)

        async def release() -> None:
            await asyncio.sleep(0.3)
            holder.rollback()

        tick = asyncio.create_task(ticker())
        releasing = asyncio.create_task(release())
        started = time.monotonic()
        try:
            async with db.sessionmaker() as session:
                await session.execute(
                    text("INSERT INTO cache_versions (tag, version) VALUES ('t:w', 1)")
                )
                await session.commit()
        finally:
            tick.cancel()
            await releasing
            holder.close()
        waited = time.monotonic() - started
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        assert waited >= 0.29
        assert len(ticks) > 30 and max(gaps) < 0.1, max(gaps)

    async def test_a_lock_held_past_the_busy_timeout_is_an_error(
        self, db: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _sqlite_only(db)
        holder = sqlite3.connect(sqlite_path(db.settings.effective_database_url))
        holder.execute("BEGIN IMMEDIATE")
        try:
            async with db.engine.connect() as conn:
                inline = (await conn.get_raw_connection()).driver_connection._inline
                monkeypatch.setattr(inline, "_busy_timeout", 0.05)
                with pytest.raises(Exception, match="locked"):
                    await conn.execute(
                        text("INSERT INTO cache_versions (tag, version) VALUES ('t:x', 1)")
                    )
        finally:
            holder.rollback()
            holder.close()

    async def test_offloaded_statements_run_in_a_worker_thread(self, db: Database) -> None:
        _sqlite_only(db)
        threads = []

        def which(_: object) -> int:
            import threading

            threads.append(threading.get_ident())
            return 1

        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            raw._conn.create_function("which_thread", 1, which)
            await conn.execute(text("SELECT which_thread(1)"))
            with offloaded():
                await conn.execute(text("SELECT which_thread(1)"))
        import threading

        assert threads[0] == threading.get_ident() and threads[1] != threading.get_ident()


class TestCheckpoints:
    async def test_commits_leave_the_checkpoint_to_the_checkpointer(
        self, db: Database, tmp_path: Path
    ) -> None:
        _sqlite_only(db)
        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        path = tmp_path / "wal.db"
        writer = sqlite3.connect(path)
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("CREATE TABLE t (x BLOB)")
        for _ in range(20):
            writer.execute("INSERT INTO t VALUES (randomblob(100000))")
            writer.commit()
        before = path.stat().st_size  # the pages are in the WAL only
        checkpointer = Checkpointer(str(path), every=0.05)
        checkpointer.start()
        await asyncio.sleep(0.5)
        await checkpointer.stop()
        after = path.stat().st_size
        writer.close()
        assert before < 100_000 and after > 2_000_000, (before, after)


class TestClosedConnections:
    async def test_a_connection_the_server_closed_is_replaced_at_checkout(
        self, db: Database
    ) -> None:
        if db.is_sqlite:
            pytest.skip("PostgreSQL connections")
        async with db.sessionmaker() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await session.commit()
        import asyncpg

        dsn = db.settings.effective_database_url.replace("postgresql+asyncpg", "postgresql", 1)
        killer = await asyncpg.connect(dsn)  # not from the pool: it would be that connection
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        await asyncio.sleep(0.2)  # the server's close reaches the client
        for _ in range(3):  # whichever pooled connection comes out, each works
            async with db.sessionmaker() as session:
                assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
