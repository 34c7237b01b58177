"""The background half of a large import: the file kept with the job is read, checked again
and written in one transaction, all or nothing, exactly as a small import is in its request.

Checked again because the data may have changed since the request checked it (a section
deleted, a seat taken). Idempotent: a job run twice (its worker died after the commit but
before recording success) finds every row unchanged the second time.
"""

from typing import Any

from homeroom.imports import repository
from homeroom.imports import service as import_service
from homeroom.jobs.registry import JobContext, JobFailed, handler
from homeroom.kit.db import SessionReader
from homeroom.kit.errors import HomeroomError

SHOWN_ERRORS = 5


@handler("import")
async def run(ctx: JobContext) -> dict[str, Any] | None:
    params = ctx.params
    data = await repository.load_upload(ctx.db, ctx.job_id)
    if data is None:
        raise JobFailed("the uploaded file is no longer available; upload it again")
    options = import_service.Options(
        False,
        params["school_id"],
        params.get("encoding"),
        params.get("date_order"),
        params.get("file_name"),
    )
    await ctx.progress(10)
    try:
        prepared = await import_service.prepare(params["kind"], data, options)
    except HomeroomError as exc:
        await _forget_upload(ctx)
        raise JobFailed(exc.detail) from None
    # Progress is recorded in its own transaction: report before taking SQLite's write lock.
    await ctx.progress(40)
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
