"""`homeroom worker`: a process that receives job ids from the configured broker and runs them.

Run as many as you like, on any machine that reaches the database and the broker: each job
runs once (its claim is a conditional UPDATE), and each worker sweeps for jobs left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog
from taskiq.api import run_receiver_task

from homeroom.config import Settings
from homeroom.jobs.broker import JobRuntime
from homeroom.kit import cpu
from homeroom.kit.db import Database

log = structlog.get_logger("homeroom.worker")


async def work(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Receives and runs jobs until `stop` is set (or SIGINT/SIGTERM)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    db = Database(settings)
    await db.start()
    runtime = JobRuntime(db, settings, runs_jobs=True)
    await runtime.start()
    receiver = asyncio.create_task(
        run_receiver_task(
            runtime.broker,
            max_async_tasks=settings.job_concurrency,
            max_prefetch=0,
            propagate_exceptions=False,
        )
    )
    log.info("worker ready", broker=_safe(settings.broker_url or ""))
    try:
        await stop.wait()
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        await runtime.close()
        await db.close()
        cpu.shutdown()
        log.info("worker stopped")


def _safe(url: str) -> str:
    """The broker URL without its password, for the log."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
