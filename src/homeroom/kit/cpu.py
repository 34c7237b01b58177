"""CPU-heavy work (xlsx, pdf, zip) off the event loop.

`run_cpu(fn, *args)` runs a module-level function in a small process pool, so rendering a PDF
or writing a workbook never holds the API process's GIL; arguments and result must pickle
(plain rows, dicts, bytes, paths). `run_thread` is for work that can't pickle.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any, TypeVar

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None


class _PoolProcess(SpawnProcess):
    """A pool process starts with SIGINT blocked, as multiprocessing's own resource tracker
    does. A terminal's Ctrl-C reaches every process of the foreground group, and one that
    came while the process was still importing (the pool is warmed as a server worker
    starts) killed it with a KeyboardInterrupt traceback. The pool's processes end with
    their parent (`_exit_with_parent`, `shutdown`), never by Ctrl-C. The mask is the
    calling thread's, so this is safe from any thread."""

    def start(self) -> None:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _PoolContext(SpawnContext):
    Process = _PoolProcess


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        workers = max(1, min(2, (os.cpu_count() or 1) - 1))
        # spawn, not fork: the parent runs an event loop and threads, which fork would copy.
        _pool = ProcessPoolExecutor(
            workers, mp_context=_PoolContext(), initializer=_exit_with_parent
        )
    return _pool


def _exit_with_parent() -> None:
    """Runs in each pool process: it ends when its parent does, however the parent ends. A
    server worker killed because it did not stop in time (granian's workers_kill_timeout, a
    worker still starting when Ctrl-C came) never tells its pool, which would live on."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


async def run_cpu(fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), fn, *args)


async def run_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


def _ready() -> bool:
    return True


def warm() -> None:
    """Starts the pool's process now, in the background: otherwise the first workbook or PDF
    of each API process pays its spawn (~1 s)."""
    _executor().submit(_ready)


def shutdown() -> None:
    """Ends the pool and waits for its processes to exit: the callers (the end of a server
    worker's or a job worker's lifespan) have finished their requests and jobs by then. A
    process still starting when its parent exits would find the pool's semaphores gone and
    die with a traceback (Ctrl-C right after `homeroom serve` came up)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
