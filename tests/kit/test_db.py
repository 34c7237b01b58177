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
from homeroom.kit.sqlite_inline import Checkpointer, Turns, offloaded


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
                raw = (await conn.get_raw_connection()).driver_connection
                assert raw is not None
                inline = raw._inline
                monkeypatch.setattr(inline, "busy_timeout", 0.05)
                with pytest.raises(Exception, match="locked"):
                    await conn.execute(
                        text("INSERT INTO cache_versions (tag, version) VALUES ('t:x', 1)")
                    )
        finally:
            holder.rollback()
            holder.close()

    async def test_writers_of_two_processes_take_turns(self, db: Database) -> None:
        """Another worker process (here another engine: flocks of two open files conflict
        like two processes') holds its turn: a write waits for it without holding the event
        loop, and starts as soon as the other commits."""
        _sqlite_only(db)
        from homeroom.kit.db import create_engine

        other = create_engine(db.settings)
        started = asyncio.Event()
        release = asyncio.Event()

        async def hold() -> float:
            async with other.begin() as conn:
                await conn.execute(
                    text("INSERT INTO cache_versions (tag, version) VALUES ('t:a', 1)")
                )
                started.set()
                await release.wait()
            return time.monotonic()

        holder = asyncio.create_task(hold())
        await started.wait()

        async def write() -> float:
            async with db.sessionmaker() as session:
                await session.execute(
                    text("INSERT INTO cache_versions (tag, version) VALUES ('t:b', 1)")
                )
                await session.commit()
            return time.monotonic()

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.2)
        assert not writing.done()  # it waits, and the loop runs this test meanwhile
        release.set()
        committed, written = await holder, await writing
        await other.dispose()
        # At once, not after a busy-handler back-off (up to 100 ms a sleep); the bound leaves
        # room for a loaded machine (57 ms seen under a load average of 8).
        assert 0 <= written - committed < 0.2

    async def test_offloaded_statements_run_in_a_worker_thread(self, db: Database) -> None:
        _sqlite_only(db)
        threads = []

        def which(_: object) -> int:
            import threading

            threads.append(threading.get_ident())
            return 1

        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            raw._conn.create_function("which_thread", 1, which)
            await conn.execute(text("SELECT which_thread(1)"))
            with offloaded():
                await conn.execute(text("SELECT which_thread(1)"))
        import threading

        assert threads[0] == threading.get_ident() and threads[1] != threading.get_ident()


class TestTurns:
    """Two `Turns` on one database stand for two worker processes (their flocks conflict
    like two processes')."""

    async def test_a_turn_passes_at_once_and_an_abandoned_wait_gives_it_back(
        self, tmp_path: Path
    ) -> None:
        path = str(tmp_path / "turns.db")
        one, other = Turns(path), Turns(path)
        await one.take(1)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await other.take(0.05)  # gave up: its thread still waits for the flock
        waiting = asyncio.create_task(other.take(2))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        let_go = time.monotonic()
        one.release()
        await waiting  # the abandoned thread took it and gave it back, then this one
        assert time.monotonic() - let_go < 0.5
        other.release()

    async def test_one_writer_at_a_time_across_processes(self, tmp_path: Path) -> None:
        path = str(tmp_path / "turns.db")
        one, other = Turns(path), Turns(path)
        await one.take(1)  # the first writer of one process
        second = asyncio.create_task(one.take(1))  # its next writer waits
        await asyncio.sleep(0.05)
        assert not second.done()
        elsewhere = asyncio.create_task(other.take(2))  # the other process waits for the flock
        await asyncio.sleep(0.05)
        assert not elsewhere.done()
        one.release()  # both may go now, one after the other, never together
        done, pending = await asyncio.wait({second, elsewhere}, return_when="FIRST_COMPLETED")
        await asyncio.sleep(0.05)
        assert len(done) == 1 and not pending.pop().done()
        (one if second in done else other).release()
        await asyncio.gather(second, elsewhere)
        (other if second in done else one).release()

    async def test_a_turn_let_go_is_not_kept_for_a_sleeping_writer(self, tmp_path: Path) -> None:
        """Writer A lets go while B sleeps in line; C, running before B wakes, takes the turn
        at once (held for B, it would sit idle until the loop came back to B, and C would
        line up behind: a convoy). B is next."""
        turns = Turns(str(tmp_path / "turns.db"))
        await turns.take(1)  # A
        b = asyncio.create_task(turns.take(1))
        await asyncio.sleep(0.01)
        assert not b.done()
        turns.release()
        c = asyncio.create_task(turns.take(1))
        await asyncio.sleep(0)  # C runs first (created after B was woken, scheduled before it)
        assert c.done() and not b.done()
        await asyncio.sleep(0.01)
        assert not b.done()  # woken, found the turn taken, waits at the head of the line
        turns.release()
        await asyncio.wait_for(b, 1)
        turns.release()

    async def test_a_timed_out_wait_leaves_no_flock_behind(self, tmp_path: Path) -> None:
        """The thread of an abandoned wait takes the flock on a file of its own and lets it go
        at once: it never takes it from under a later writer of its process."""
        path = str(tmp_path / "turns.db")
        one, other = Turns(path), Turns(path)
        await other.take(1)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await one.take(0.02)  # its thread still waits for the flock
        other.release()
        await one.take(1)  # a later writer of the same process has it
        await asyncio.sleep(0.05)  # the abandoned thread took it, on its own file, and let go
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await other.take(0.05)  # still held by `one`'s writer
        one.release()
        await other.take(1)
        other.release()


class TestCheckpoints:
    async def test_commits_leave_the_checkpoint_to_the_checkpointer(
        self, db: Database, tmp_path: Path
    ) -> None:
        _sqlite_only(db)
        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
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
