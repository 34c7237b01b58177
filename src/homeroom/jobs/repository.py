"""Job queries: the request side (submit, read back, list, download) and the runner's (claim,
heartbeat, finish, sweep)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import Database, compiled
from homeroom.models import Job, JobFile

CHUNK = 1024 * 1024  # bytes of a job's file per job_files row

COLUMNS = (
    Job.id,
    Job.owner_id,
    Job.school_id,
    Job.kind,
    Job.role,
    Job.profile_id,
    Job.params,
    Job.state,
    Job.progress,
    Job.attempts,
    Job.result,
    Job.error,
    Job.file_name,
    Job.media_type,
    Job.file_size,
    Job.created_at,
    Job.started_at,
    Job.heartbeat_at,
    Job.finished_at,
    Job.expires_at,
)
FIELDS = tuple(c.key for c in COLUMNS)


def as_row(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in FIELDS}


@compiled
def _owned() -> Select[Any]:
    """One job by the parameters `id` and `owner` (its owner's only)."""
    return select(*COLUMNS).where(Job.id == bindparam("id"), Job.owner_id == bindparam("owner"))


async def get(db: Database, owner_id: int, job_id: int) -> dict[str, Any] | None:
    row = await db.reader.first(_owned(db), {"id": job_id, "owner": owner_id})
    return None if row is None else to_item(row)


def to_item(row: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(FIELDS, row, strict=True))
    for name in ("params", "result"):  # JSON arrives as text on the raw read path
        if isinstance(item[name], str):
            item[name] = orjson.loads(item[name])
    return item


def _own(has_kind: bool, has_state: bool) -> Select[Any]:
    stmt = select(*COLUMNS).where(Job.owner_id == bindparam("owner"))
    if has_kind:
        stmt = stmt.where(Job.kind == bindparam("kind"))
    if has_state:
        stmt = stmt.where(Job.state == bindparam("state"))
    return stmt


@compiled
def _own_page(has_kind: bool, has_state: bool) -> Select[Any]:
    """A page of the owner's jobs (of the kind and state given), newest first."""
    return (
        _own(has_kind, has_state)
        .order_by(Job.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@compiled
def _own_count(has_kind: bool, has_state: bool) -> Select[Any]:
    return select(func.count()).select_from(_own(has_kind, has_state).subquery())


async def list_own(
    db: Database,
    owner_id: int,
    *,
    kind: str | None,
    state: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    shape = (kind is not None, state is not None)
    params = {"owner": owner_id, "kind": kind, "state": state}
    rows = await db.reader.all(_own_page(db, *shape), {**params, "limit": limit, "offset": offset})
    if offset == 0 and len(rows) < limit:
        total = len(rows)
    else:
        total = int(await db.reader.scalar(_own_count(db, *shape), params))
    return [to_item(r) for r in rows], total


async def add(session: AsyncSession, job: Job) -> int:
    """Inserts `job` in the session's transaction; its id."""
    session.add(job)
    await session.flush()
    return job.id


@compiled
def _file_chunk() -> Select[Any]:
    return select(JobFile.data).where(
        JobFile.job_id == bindparam("job_id"), JobFile.seq == bindparam("seq")
    )


async def file_chunk(db: Database, job_id: int, seq: int) -> bytes | None:
    """Chunk `seq` of a job's file, on the raw read path; None once it was deleted."""
    data = await db.reader.scalar(_file_chunk(db), {"job_id": job_id, "seq": seq})
    return None if data is None else bytes(data)


# --- the runner's statements (each in a session of its own, committed by the runner) ----------


async def claim(session: AsyncSession, job_id: int, now: datetime) -> Job | None:
    """Marks a queued job running (one conditional UPDATE); None if it is not queued."""
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
    return result.scalar_one_or_none()


async def beat(session: AsyncSession, job_id: int, values: dict[str, Any]) -> None:
    """Sets `values` (heartbeat, progress) on a job while it runs."""
    await session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running").values(**values)
    )


async def add_file_chunk(session: AsyncSession, job_id: int, seq: int, data: bytes) -> None:
    await session.execute(insert(JobFile).values(job_id=job_id, seq=seq, data=data))


async def finish(session: AsyncSession, job_id: int, values: dict[str, Any]) -> None:
    """Sets a job's final state and what goes with it (`values`)."""
    await session.execute(update(Job).where(Job.id == job_id).values(**values))


async def fail_abandoned(
    session: AsyncSession, stale: datetime, max_attempts: int, now: datetime, error: str
) -> None:
    """Fails running jobs with no heartbeat since `stale` that ran `max_attempts` times."""
    await session.execute(
        update(Job)
        .where(_abandoned(stale), Job.attempts >= max_attempts)
        .values(state="failed", finished_at=now, error=error)
    )


async def requeue_abandoned(session: AsyncSession, stale: datetime, max_attempts: int) -> None:
    """Puts running jobs with no heartbeat since `stale` back in the queue."""
    await session.execute(
        update(Job)
        .where(_abandoned(stale), Job.attempts < max_attempts)
        .values(state="queued", progress=0)
    )


def _abandoned(stale: datetime) -> Any:
    return (Job.state == "running") & (Job.heartbeat_at < stale)


async def delete_expired_files(session: AsyncSession, now: datetime) -> None:
    """Deletes the files of jobs whose results expired, and the input of failed jobs (an
    import's rows: of no further use)."""
    expired = select(Job.id).where(Job.expires_at < now).scalar_subquery()
    await session.execute(delete(JobFile).where(JobFile.job_id.in_(expired)))
    failed = select(Job.id).where(Job.state == "failed").scalar_subquery()
    await session.execute(delete(JobFile).where(JobFile.seq < 0, JobFile.job_id.in_(failed)))


async def queued_ids(session: AsyncSession) -> Sequence[int]:
    result = await session.execute(select(Job.id).where(Job.state == "queued").order_by(Job.id))
    return list(result.scalars())
