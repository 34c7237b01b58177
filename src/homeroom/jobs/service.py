"""Submitting jobs and reading them back. Never commits: the request's unit of work does.

A job submitted inside a request is inserted in the request's transaction and sent to the
broker only after that transaction commits (`after_commit`), so a worker never sees a job id
whose row isn't there yet, and a request that fails leaves no job behind.
"""

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.jobs import repository, runner
from homeroom.jobs.schemas import JobFilters
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database, after_commit
from homeroom.kit.errors import Conflict, Gone, NotFound
from homeroom.kit.responses import PRIVATE
from homeroom.models import Job, utcnow

API_PREFIX = "/api/v1"


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
    session.add(job)
    await session.flush()
    job_id = job.id

    db: Database | None = session.info.get("db")

    async def send() -> None:
        # No dispatcher (a process without a job runtime): the job stays queued, and the
        # next sweep of any process that runs jobs sends it.
        if db is not None and db.job_dispatch is not None:
            await db.job_dispatch(job_id)

    after_commit(session, send)
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


async def download(
    db: Database, principal: Principal, job_id: int, if_none_match: str | None
) -> Response:
    """Streams the owner's finished job file: 404 for anyone else or when the job made no
    file, 409 while it runs, 410 once it expired."""
    row = await repository.get(db, principal.user_id, job_id)
    if row is None:
        raise NotFound("job not found")
    if row["state"] in ("queued", "running"):
        raise Conflict("the job has not finished yet; poll it until its status is succeeded")
    if row["state"] != "succeeded" or row["file_name"] is None:
        raise NotFound("this job made no file to download")
    if row["expires_at"] is not None and _as_dt(row["expires_at"]) <= utcnow():
        raise Gone("the file has expired; run the job again")
    # A job's file never changes once written: its id, size and finish time name it.
    etag = '"job-{}-{}-{}"'.format(
        row["id"], row["file_size"], _as_dt(row["finished_at"]).timestamp()
    )
    headers = {
        "ETag": etag,
        "Cache-Control": PRIVATE,
        "Content-Disposition": attachment(row["file_name"]),
        "Content-Length": str(row["file_size"]),
    }
    if if_none_match and etag in (t.strip().removeprefix("W/") for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return StreamingResponse(
        runner.file_chunks(db, job_id, int(row["file_size"] or 0)),
        media_type=row["media_type"] or "application/octet-stream",
        headers=headers,
    )


def attachment(file_name: str) -> str:
    """A Content-Disposition naming the file, safe for any name (RFC 6266 / 5987)."""
    ascii_name = "".join(c if c.isalnum() or c in "._- " else "_" for c in file_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"
