"""The background half of a large import: the rows the request validated are checked again
against the database and written in one transaction, all or nothing, exactly as a small
import is in its request.

Checked again because the data may have changed since the request checked it (a section
deleted, a seat taken). Idempotent: a job run twice (its worker died after the commit but
before recording success) finds every row unchanged the second time.
"""

from typing import Any

from homeroom.imports import repository, rows
from homeroom.imports import service as import_service
from homeroom.jobs.registry import JobContext, JobFailed, handler
from homeroom.kit.db import SessionReader
from homeroom.kit.errors import HomeroomError

SHOWN_ERRORS = 5


@handler("import")
async def run(ctx: JobContext) -> dict[str, Any] | None:
    params = ctx.params
    saved = await repository.load_upload(ctx.db, ctx.job_id)
    if saved is None:
        raise JobFailed("the uploaded file is no longer available; upload it again")
    prepared = rows.load(saved)
    options = import_service.Options(
        school_id=params["school_id"], file_name=params.get("file_name")
    )
    # Progress is recorded in its own transaction: report before taking SQLite's write lock.
    await ctx.progress(20)
    school_id = int(params["school_id"])
    async with ctx.db.sessionmaker() as session:
        plan = await import_service.check(
            ctx.db, SessionReader(session), ctx.owner, school_id, prepared, real=True
        )
        if prepared.errors:
            await session.rollback()
            await _forget_upload(ctx)
            raise JobFailed(_describe(import_service.refuse(prepared)))
        result = await import_service.apply(
            ctx.db, session, ctx.owner, school_id, prepared, plan, options, job_id=ctx.job_id
        )
        await repository.drop_upload(session, ctx.job_id)
        await session.commit()
    return {k: result[k] for k in ("kind", "rows", "created", "updated", "unchanged")}


async def _forget_upload(ctx: JobContext) -> None:
    async with ctx.db.sessionmaker() as session:
        await repository.drop_upload(session, ctx.job_id)
        await session.commit()


def _describe(error: HomeroomError) -> str:
    shown = []
    for item in (error.errors or [])[:SHOWN_ERRORS]:
        where = f"row {item['row']}" if item["row"] is not None else "the file"
        column = f", {item['column']}" if item["column"] else ""
        value = f" {item['value']!r}" if item["value"] else ""
        shown.append(f"{where}{column}{value}: {item['message']}")
    more = len(error.errors or []) - len(shown)
    tail = f" (and {more} more)" if more > 0 else ""
    return f"{error.detail}. {'; '.join(shown)}{tail}"
