"""Submitting jobs and reading them back. Never commits: the request's unit of work does.

A job submitted inside a request is inserted in the request's transaction and sent to the
broker only after that transaction commits (`after_commit`), so a worker never sees a job id
whose row isn't there yet, and a request that fails leaves no job behind.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.jobs import repository
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import NotFound
from homeroom.models import Job, utcnow

API_PREFIX = "/api/v1"
AFTER_COMMIT = "homeroom.after_commit"

Dispatch = Callable[[int], Awaitable[None]]

# Set by the process that can send jobs (the API's lifespan, the worker): sends a job id.
_dispatch: Dispatch | None = None


def set_dispatcher(dispatch: Dispatch | None) -> None:
    global _dispatch
    _dispatch = dispatch


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Runs `action` once the request's transaction has committed (see kit/deps.py)."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


async def run_after_commit(session: AsyncSession) -> None:
    for action in session.info.pop(AFTER_COMMIT, []):
        await action()


def discard_after_commit(session: AsyncSession) -> None:
    session.info.pop(AFTER_COMMIT, None)


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

    async def send() -> None:
        if _dispatch is not None:
            await _dispatch(job_id)

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
