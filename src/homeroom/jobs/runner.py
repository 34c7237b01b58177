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
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

from homeroom.config import Settings
from homeroom.jobs import repository
from homeroom.jobs.registry import HANDLER_MODULES, HANDLERS, JobContext, JobFailed
from homeroom.kit import idempotency
from homeroom.kit.db import Database
from homeroom.kit.security import AccessClaims
from homeroom.kit.sqlite_inline import offloaded
from homeroom.models import Job, utcnow
from homeroom.notifications import repository as notification_repository

log = structlog.get_logger("homeroom.jobs")

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
    async with db.sessionmaker() as session:
        job = await repository.claim(session, job_id, utcnow())
        await session.commit()
        return job


async def _report(db: Database, job_id: int, progress: int | None = None) -> None:
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    async with db.sessionmaker() as session:
        await repository.beat(session, job_id, values)
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
                while chunk := f.read(repository.CHUNK):
                    await repository.add_file_chunk(session, job.id, seq, chunk)
                    size += len(chunk)
                    seq += 1
            values |= {"file_name": ctx.output_name, "media_type": ctx.output_type}
            values["file_size"] = size
        await repository.finish(session, job.id, values)
        body = f"{ctx.output_name} is ready to download." if path is not None else "Done."
        await notification_repository.add(session, _notification(job, True, body))
        await session.commit()


async def _fail(db: Database, job: Job, message: str) -> None:
    now = utcnow()
    async with db.sessionmaker() as session:
        values = {"state": "failed", "error": message, "finished_at": now, "heartbeat_at": now}
        await repository.finish(session, job.id, values)
        await notification_repository.add(session, _notification(job, False, message))
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
        await repository.fail_abandoned(
            session,
            stale,
            settings.job_max_attempts,
            now,
            "the job was interrupted too many times (its worker stopped)",
        )
        await repository.requeue_abandoned(session, stale, settings.job_max_attempts)
        await repository.delete_expired_files(session, now)
        await idempotency.delete_expired(session, now)
        ids = list(await repository.queued_ids(session))
        await session.commit()
    return ids
