"""Exports: which rows (the caller's scope and filters), in which format, as a byte stream.

An export is one statement read in batches (exports/repository.py); each batch is encoded
and handed on at once, so memory stays flat and the first bytes leave before the query has
finished. XLSX rows are rendered to XML in the CPU process pool (kit/cpu.py) while the next
batch is read, so a large workbook never holds the API's event loop; CSV is cheap enough to
encode in place (~2-3 ms per 1,000 rows).
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.exports import repository, writers
from homeroom.exports.schemas import (
    ExportFormat,
    ExportJobFilters,
    ExportRequest,
    StudentsExport,
)
from homeroom.jobs import service as jobs
from homeroom.jobs.schemas import JobFilters
from homeroom.kit import cache
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal
from homeroom.kit.cpu import run_cpu
from homeroom.kit.db import CompiledQuery, Database, Row
from homeroom.kit.errors import ValidationFailed, field_error
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.students import repository as student_repository
from homeroom.students.schemas import StudentFilters

JOB_KIND = "export"
SHEET_NAMES = {
    "students": "Students",
    "grades": "Grades",
    "attendance": "Attendance",
    "enrollments": "Enrollments",
}


@dataclass
class Export:
    """A prepared export: its rows are read only when `chunks()` is iterated."""

    name: str
    format: ExportFormat
    query: CompiledQuery
    params: dict[str, Any]
    db: Database
    rows: int = 0
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def columns(self) -> tuple[writers.Column, ...]:
        return repository.columns_of(self.query)

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.created:%Y%m%d-%H%M}.{self.format}"

    @property
    def media_type(self) -> str:
        return writers.CSV_MEDIA_TYPE if self.format == "csv" else writers.XLSX_MEDIA_TYPE

    async def count(self) -> int:
        return await repository.count(self.db, self.query, self.params)

    async def chunks(self) -> AsyncGenerator[bytes]:
        """The file's bytes, batch by batch (`rows` counts the rows encoded so far)."""
        encoder = writers.encoder(self.format, self.columns, SHEET_NAMES[self.name])
        yield encoder.start()
        batches = repository.batches(self.db, self.query, self.params)
        try:
            if isinstance(encoder, writers.XlsxEncoder):
                async with aclosing(_xlsx(encoder, batches, self)) as parts:
                    async for data in parts:
                        yield data
            else:
                async for batch in batches:
                    self.rows += len(batch)
                    yield encoder.rows(batch)
                    # SQLite reads and CSV encoding never wait on anything: let the event
                    # loop serve other requests between batches.
                    await asyncio.sleep(0)
        finally:
            await batches.aclose()
        yield encoder.finish()


async def _xlsx(
    encoder: writers.XlsxEncoder, batches: AsyncIterator[list[Row]], export: Export
) -> AsyncGenerator[bytes]:
    """Each batch's XML rendered in the process pool while the next batch is read."""
    pending: asyncio.Future[bytes] | None = None
    pending_rows = 0
    try:
        async for batch in batches:
            rendered = asyncio.ensure_future(run_cpu(writers.render_rows, encoder.kinds, batch))
            if pending is not None:
                yield encoder.add(await pending, pending_rows)
                export.rows += pending_rows
            pending, pending_rows = rendered, len(batch)
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    if pending is not None:
        yield encoder.add(await pending, pending_rows)
        export.rows += pending_rows


def _sort(sort: str | None) -> tuple[str, bool]:
    return student_repository.SORTING.parse(sort)


def students(
    db: Database,
    principal: Principal,
    filters: StudentFilters,
    sort: str | None,
    fmt: ExportFormat,
) -> Export:
    """The caller's student list as GET /students shows it (same scope, filters, sort)."""
    sort_name, desc = _sort(sort)
    query, params = repository.students(db, scope_kind(principal), filters, sort_name, desc)
    return Export("students", fmt, query, {**scope_params(principal), **params}, db)


async def students_stream(
    db: Database,
    pages: cache.ResponseCache,
    principal: Principal,
    filters: StudentFilters,
    sort: str | None,
    fmt: ExportFormat,
) -> tuple[Export, AsyncIterator[bytes]]:
    """`students` and its bytes, read and encoded at most `export_concurrency` at a time per
    process. A school's whole list (staff and admins) is kept for the next download when small
    enough (HOMEROOM_CACHE_LARGE_ENTRY_BYTES) and served from there while the school's
    students are unchanged: every write of a student, whatever makes it (API, import, seed,
    plain SQL), bumps "school:{id}:people" by a trigger (migration 0005), so it is never stale.
    Narrower scopes depend on enrollments and links too, and are small: never cached."""
    export = students(db, principal, filters, sort, fmt)
    key = None
    if scope_kind(principal) in ("school", "all"):
        tags = [tag.school(principal.school_id, "people")]
        parts = (fmt, sort, principal.school_id, *filters.model_dump().values())
        key = await pages.key("export:students", parts, tags)
    return export, _cached(db, pages.large, export, key)


async def _cached(
    db: Database, large: cache.LargeBodies, export: Export, key: str | None
) -> AsyncGenerator[bytes]:
    body = large.get(key) if key is not None else None
    if body is None:
        async with db.heavy:
            body = large.get(key) if key is not None else None
            if body is None:
                async with aclosing(_kept(export, large, key)) as chunks:
                    async for data in chunks:
                        yield data
                return
    yield body


async def _kept(export: Export, large: cache.LargeBodies, key: str | None) -> AsyncGenerator[bytes]:
    """The export's chunks, also kept whole under `key` once all of them were sent."""
    parts: list[bytes] | None = [] if key is not None else None
    size = 0
    async with aclosing(export.chunks()) as chunks:
        async for data in chunks:
            if parts is not None:
                size += len(data)
                if size > large.max_entry:
                    parts = None
                else:
                    parts.append(data)
            yield data
    if parts is not None and key is not None:
        large.put(key, b"".join(parts))


def from_request(db: Database, principal: Principal, request: ExportRequest) -> Export:
    """The export a POST /exports body describes, in the submitter's scope."""
    if isinstance(request, StudentsExport):
        filters = repository.students_filters(request)
        return students(db, principal, filters, request.sort, request.format)
    rows = repository.ROWS[request.kind]
    query, params = repository.rows_query(db, rows, scope_kind(principal), request)
    return Export(request.kind, request.format, query, {**scope_params(principal), **params}, db)


async def submit(
    db: Database, session: AsyncSession, principal: Principal, request: ExportRequest
) -> dict[str, Any]:
    """Queues an export job (sent when the request commits); bad filters are a 422 now,
    never a failed job later."""
    if isinstance(request, StudentsExport):
        try:
            _sort(request.sort)
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.detail, errors=[field_error(["body", "sort"], exc.detail)]
            ) from None
    params = request.model_dump(mode="json", exclude_none=True)
    return await jobs.submit(session, principal, JOB_KIND, params)


async def get_job(db: Database, principal: Principal, job_id: int) -> dict[str, Any]:
    return await jobs.get_job(db, principal, job_id, kind=JOB_KIND)


async def list_jobs(
    db: Database, principal: Principal, filters: ExportJobFilters
) -> dict[str, Any]:
    return await jobs.list_jobs(db, principal, JobFilters(kind=JOB_KIND, **filters.model_dump()))
