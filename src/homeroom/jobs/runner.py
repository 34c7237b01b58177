"""Running a job: claim its row, run its handler, store its result, notify its owner.

Any process may be handed any job id, any number of times (a re-sent message, two processes
sweeping at once): the claim is one conditional UPDATE, so exactly one of them runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import tempfile
import traceback
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import bindparam, delete, insert, select, update

from homeroom.config import Settings
from homeroom.jobs.registry import HANDLER_MODULES, HANDLERS, JobContext, JobFailed
from homeroom.kit import idempotency
from homeroom.kit.db import Database
from homeroom.kit.security import AccessClaims
from homeroom.kit.sqlite_inline import offloaded
from homeroom.models import Job, JobFile, Notification, utcnow

log = structlog.get_logger("homeroom.jobs")

CHUNK = 1024 * 1024
HEARTBEAT_SECONDS = 10.0
_loaded = False

TITLES = {
    "export": "Export",
    "import": "Import",
    "report_cards": "Report cards",
}


def load_handlers(settings: Settings) -> None:
    """Imports every package's handlers, and the site's own (once per process)."""
    global _loaded
    if not _loaded:
        extra = [m.strip() for m in settings.job_modules.split(",") if m.strip()]
        for module in (*HANDLER_MODULES, *extra):
            importlib.import_module(module)
        _loaded = True


async def _claim(db: Database, job_id: int) -> Job | None:
    """Marks a queued job running, for this process only; None if someone else has it."""
    now = utcnow()
    async with db.sessionmaker() as session:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(
                state="running",
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                progress=0,
            )
            .returning(Job)
        )
        job = result.scalar_one_or_none()
        await session.commit()
        return job


async def _report(db: Database, job_id: int, progress: int | None = None) -> None:
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    async with db.sessionmaker() as session:
        await session.execute(
            update(Job).where(Job.id == job_id, Job.state == "running").values(**values)
        )
        await session.commit()


async def _heartbeat(db: Database, settings: Settings, job_id: int) -> None:
    # Several beats fit in the stale window, so one slow write never makes a job look dead.
    interval = min(HEARTBEAT_SECONDS, settings.job_stale_seconds / 4)
    while True:
        await asyncio.sleep(interval)
        with contextlib.suppress(Exception):  # a missed beat is retried; never kills the job
            await _report(db, job_id)


def _notification(job: Job, ok: bool, message: str) -> dict[str, Any]:
    title = TITLES.get(job.kind, job.kind.replace("_", " ").capitalize())
    return {
        "user_id": job.owner_id,
        "kind": "job.succeeded" if ok else "job.failed",
        "title": f"{title} finished" if ok else f"{title} failed",
        "body": message,
        "job_id": job.id,
        "created_at": utcnow(),
    }


async def _succeed(
    db: Database, settings: Settings, job: Job, ctx: JobContext, result: dict[str, Any] | None
) -> None:
    now = utcnow()
    values: dict[str, Any] = {
        "state": "succeeded",
        "progress": 100,
        "result": result,
        "finished_at": now,
        "heartbeat_at": now,
        "expires_at": now + timedelta(seconds=settings.job_result_ttl_seconds),
    }
    async with db.sessionmaker() as session:
        path = ctx.output_path
        if path is not None and path.exists():
            size = 0
            with path.open("rb") as f:
                seq = 0
                while chunk := f.read(CHUNK):
                    await session.execute(
                        insert(JobFile).values(job_id=job.id, seq=seq, data=chunk)
                    )
                    size += len(chunk)
                    seq += 1
            values |= {"file_name": ctx.output_name, "media_type": ctx.output_type}
            values["file_size"] = size
        await session.execute(update(Job).where(Job.id == job.id).values(**values))
        body = f"{ctx.output_name} is ready to download." if path is not None else "Done."
        await session.execute(insert(Notification).values(**_notification(job, True, body)))
        await session.commit()


async def _fail(db: Database, job: Job, message: str) -> None:
    now = utcnow()
    async with db.sessionmaker() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(state="failed", error=message, finished_at=now, heartbeat_at=now)
        )
        await session.execute(insert(Notification).values(**_notification(job, False, message)))
        await session.commit()


async def run_job(db: Database, settings: Settings, job_id: int) -> str | None:
    """Runs one job if it is still queued. Returns its final state, or None if not ours."""
    job = await _claim(db, job_id)
    if job is None:
        return None
    load_handlers(settings)
    handler = HANDLERS.get(job.kind)
    if handler is None:
        await _fail(db, job, f"no handler for jobs of kind {job.kind!r}")
        return "failed"
    owner = AccessClaims(job.owner_id, job.role, job.school_id, job.profile_id)
    beat = asyncio.create_task(_heartbeat(db, settings, job.id))
    log.info("job started", job_id=job.id, kind=job.kind, attempt=job.attempts)
    try:
        # Jobs are the heavy writers: on SQLite their statements run in a worker thread.
        with offloaded(), tempfile.TemporaryDirectory(prefix=f"homeroom-job-{job.id}-") as tmp:

            async def report(percent: int) -> None:
                await _report(db, job.id, percent)

            ctx = JobContext(
                db=db,
                settings=settings,
                job_id=job.id,
                kind=job.kind,
                params=dict(job.params or {}),
                owner=owner,
                workdir=Path(tmp),
                report=report,
            )
            try:
                result = await handler(ctx)
            except JobFailed as exc:
                await _fail(db, job, str(exc))
                log.info("job failed", job_id=job.id, kind=job.kind, error=str(exc))
                return "failed"
            except Exception as exc:
                log.error(
                    "job crashed",
                    job_id=job.id,
                    kind=job.kind,
                    error=repr(exc),
                    traceback=traceback.format_exc(),
                )
                await _fail(
                    db, job, f"the job stopped on an unexpected error ({type(exc).__name__})"
                )
                return "failed"
            await _succeed(db, settings, job, ctx, result)
            log.info("job succeeded", job_id=job.id, kind=job.kind)
            return "succeeded"
    finally:
        beat.cancel()


async def recover(db: Database, settings: Settings) -> list[int]:
    """Jobs to (re)send: abandoned running jobs go back to the queue (or fail after
    job_max_attempts runs), expired result files are deleted, and the ids of every queued job
    are returned. Expired idempotency keys are deleted too (the periodic sweep of the
    installation: kit/idempotency.py)."""
    now = utcnow()
    stale = now - timedelta(seconds=settings.job_stale_seconds)
    async with db.sessionmaker() as session:
        abandoned = (Job.state == "running") & (Job.heartbeat_at < stale)
        await session.execute(
            update(Job)
            .where(abandoned, Job.attempts >= settings.job_max_attempts)
            .values(
                state="failed",
                finished_at=now,
                error="the job was interrupted too many times (its worker stopped)",
            )
        )
        await session.execute(
            update(Job)
            .where(abandoned, Job.attempts < settings.job_max_attempts)
            .values(state="queued", progress=0)
        )
        expired = select(Job.id).where(Job.expires_at < now).scalar_subquery()
        await session.execute(delete(JobFile).where(JobFile.job_id.in_(expired)))
        # The input of a job that failed (an import's rows) is of no further use.
        failed = select(Job.id).where(Job.state == "failed").scalar_subquery()
        await session.execute(delete(JobFile).where(JobFile.seq < 0, JobFile.job_id.in_(failed)))
        await idempotency.delete_expired(session, now)
        queued = await session.execute(select(Job.id).where(Job.state == "queued").order_by(Job.id))
        ids = list(queued.scalars())
        await session.commit()
    return ids


async def file_chunks(db: Database, job_id: int, size: int) -> AsyncIterator[bytes]:
    """A finished job's file, chunk by chunk: one chunk in memory at a time, each read on the
    raw read path (on SQLite the write session would take the write lock)."""
    query = db.query(
        "jobs.file_chunk",
        lambda: select(JobFile.data).where(
            JobFile.job_id == bindparam("job_id"), JobFile.seq == bindparam("seq")
        ),
    )
    for seq in range((size + CHUNK - 1) // CHUNK):
        data = await db.reader.scalar(query, {"job_id": job_id, "seq": seq})
        if data is None:  # expired and deleted while streaming
            return
        yield bytes(data)
