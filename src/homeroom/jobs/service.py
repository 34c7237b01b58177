"""Submitting jobs and reading them back. Never commits: the request's unit of work does.

A job submitted inside a request is inserted in the request's transaction and sent to the
broker only after that transaction commits (`after_commit`), so a worker never sees a job id
whose row isn't there yet, and a request that fails leaves no job behind.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from homeroom import enums
from homeroom.jobs import repository
from homeroom.jobs.schemas import JobFilters
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database, after_commit
from homeroom.kit.errors import Conflict, Gone, NotFound
from homeroom.models import Job, utcnow

API_PREFIX = "/api/v1"

Send = Callable[[int], Awaitable[None]]
_SEND = "homeroom.jobs.send"


def send_through(sessionmaker: async_sessionmaker[AsyncSession], send: Send | None) -> Send | None:
    """Makes the sessions of `sessionmaker` send the jobs submitted in them with `send` once
    they commit (the process's JobRuntime, jobs/broker.py; None: nothing is sent, the jobs stay
    queued for a sweep). Returns what was set before."""
    info = dict(sessionmaker.kw.get("info") or {})
    previous: Send | None = info.pop(_SEND, None)
    if send is not None:
        info[_SEND] = send
    sessionmaker.configure(info=info)
    return previous


async def submit(
    session: AsyncSession,
    principal: Principal,
    kind: str,
    params: dict[str, Any],
    *,
    school_id: int | None = None,
) -> dict[str, Any]:
    """Records a job for `principal` and queues it when the request commits.

    Returns the job as GET /jobs/{id} shows it (status "queued"); answer it with 202.
    """
    job = Job(
        owner_id=principal.user_id,
        school_id=school_id if school_id is not None else principal.school_id,
        kind=kind,
        role=principal.role,
        profile_id=principal.profile_id,
        params=params,
        state="queued",
        progress=0,
        attempts=0,
        created_at=utcnow(),
    )
    job_id = await repository.add(session, job)
    # No sender (a process without a job runtime): the job stays queued, and the next sweep
    # of any process that runs jobs sends it.
    send: Send | None = session.info.get(_SEND)
    if send is not None:

        async def sent() -> None:
            await send(job_id)

        after_commit(session, sent)
    return view(repository.as_row(job))


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A job as its owner sees it."""
    has_file = row["state"] == "succeeded" and row["file_name"] is not None
    expired = row["expires_at"] is not None and _as_dt(row["expires_at"]) <= utcnow()
    return {
        "id": row["id"],
        "kind": row["kind"],
        "status": row["state"],
        "progress": row["progress"],
        "params": row["params"],
        "result": row["result"],
        "error": row["error"],
        "file_name": row["file_name"],
        "file_size": row["file_size"],
        "media_type": row["media_type"],
        "created_at": row["created_at"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "expires_at": row["expires_at"],
        "download_url": (
            f"{API_PREFIX}/jobs/{row['id']}/download" if has_file and not expired else None
        ),
    }


def _as_dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def get_job(
    db: Database, principal: Principal, job_id: int, kind: str | None = None
) -> dict[str, Any]:
    """The caller's own job (of `kind`, when given); anyone else's is 404."""
    row = await repository.get(db, principal.user_id, job_id)
    if row is None or (kind is not None and row["kind"] != kind):
        raise NotFound("job not found")
    return view(row)


async def list_jobs(db: Database, principal: Principal, filters: JobFilters) -> dict[str, Any]:
    rows, total = await repository.list_own(
        db,
        principal.user_id,
        kind=filters.kind,
        state=filters.status,
        limit=filters.limit,
        offset=filters.offset,
    )
    return {
        "items": [view(r) for r in rows],
        "total": total,
        "limit": filters.limit,
        "offset": filters.offset,
    }


@dataclass(frozen=True, slots=True)
class JobDownload:
    """A finished job's file: what names it and its bytes, read chunk by chunk."""

    db: Database
    job_id: int
    name: str
    media_type: str
    size: int
    # A job's file never changes once written: its id, size and finish time name it.
    etag: str

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file, one chunk in memory at a time, each read on the raw read path (on
        SQLite the write session would take the write lock)."""
        for seq in range((self.size + repository.CHUNK - 1) // repository.CHUNK):
            data = await repository.file_chunk(self.db, self.job_id, seq)
            if data is None:  # expired and deleted while streaming
                return
            yield data


async def job_file(db: Database, principal: Principal, job_id: int) -> JobDownload:
    """The owner's finished job file: 404 for anyone else or when the job made no file, 409
    while it runs, 410 once it expired."""
    row = await repository.get(db, principal.user_id, job_id)
    if row is None:
        raise NotFound("job not found")
    if row["state"] in enums.UNFINISHED_JOB_STATES:
        raise Conflict("the job has not finished yet; poll it until its status is succeeded")
    if row["state"] != "succeeded" or row["file_name"] is None:
        raise NotFound("this job made no file to download")
    if row["expires_at"] is not None and _as_dt(row["expires_at"]) <= utcnow():
        raise Gone("the file has expired; run the job again")
    etag = '"job-{}-{}-{}"'.format(
        row["id"], row["file_size"], _as_dt(row["finished_at"]).timestamp()
    )
    return JobDownload(
        db,
        job_id,
        row["file_name"],
        row["media_type"] or "application/octet-stream",
        int(row["file_size"] or 0),
        etag,
    )
