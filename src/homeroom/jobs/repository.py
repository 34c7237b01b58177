"""Job queries."""

from typing import Any

import orjson
from sqlalchemy import bindparam, func, select

from homeroom.kit.db import Database
from homeroom.models import Job

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


async def get(db: Database, owner_id: int, job_id: int) -> dict[str, Any] | None:
    query = db.query(
        "jobs.get",
        lambda: select(*COLUMNS).where(
            Job.id == bindparam("id"), Job.owner_id == bindparam("owner")
        ),
    )
    row = await db.reader.first(query, {"id": job_id, "owner": owner_id})
    return None if row is None else to_item(row)


def to_item(row: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(FIELDS, row, strict=True))
    for name in ("params", "result"):  # JSON arrives as text on the raw read path
        if isinstance(item[name], str):
            item[name] = orjson.loads(item[name])
    return item


def _own(has_kind: bool, has_state: bool) -> Any:
    stmt = select(*COLUMNS).where(Job.owner_id == bindparam("owner"))
    if has_kind:
        stmt = stmt.where(Job.kind == bindparam("kind"))
    if has_state:
        stmt = stmt.where(Job.state == bindparam("state"))
    return stmt


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
    page_q = db.query(
        ("jobs.own", shape),
        lambda: (
            _own(*shape)
            .order_by(Job.id.desc())
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        ),
    )
    count_q = db.query(
        ("jobs.own.count", shape),
        lambda: select(func.count()).select_from(_own(*shape).subquery()),
    )
    params = {"owner": owner_id, "kind": kind, "state": state}
    rows = await db.reader.all(page_q, {**params, "limit": limit, "offset": offset})
    if offset == 0 and len(rows) < limit:
        total = len(rows)
    else:
        total = int(await db.reader.scalar(count_q, params))
    return [to_item(r) for r in rows], total
