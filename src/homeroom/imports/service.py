"""Imports: read a whole file, check every row, then write all of it or nothing.

1. `prepare`: the file's format, encoding and header, each cell read and validated by the
   domain's rules (pure; in the CPU pool's process, within `xlsx.Limits`).
2. `check`: what the rows refer to, read in a constant number of statements; every problem is
   a row error.
3. A dry run answers there. A real import with any error raises 422 with the same errors and
   writes nothing. Otherwise `apply` writes with set-based statements, bumps the cache tags
   the equivalent single writes bump and leaves one audit row - all in the request's
   transaction. Files above `job_rows` rows are checked in the request, then written by a
   background job (imports/jobs.py) that checks them again in its own transaction.

Never commits: the request's unit of work (or the job) does.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.imports import columns as cols
from homeroom.imports import plans, repository, rows, xlsx
from homeroom.imports.plans import Plan
from homeroom.imports.rows import Prepared
from homeroom.jobs import service as jobs
from homeroom.kit import cache
from homeroom.kit.auth import Principal, can, school_of
from homeroom.kit.cpu import run_cpu
from homeroom.kit.db import Database, Reader, SessionReader
from homeroom.kit.errors import (
    HomeroomError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)

API = "/api/v1/imports"


class ImportLimits(BaseSettings):
    """HOMEROOM_IMPORT_MAX_BYTES, HOMEROOM_IMPORT_MAX_ROWS, HOMEROOM_IMPORT_JOB_ROWS, ..."""

    model_config = SettingsConfigDict(env_prefix="HOMEROOM_IMPORT_", extra="ignore")

    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_rows: int = Field(default=50_000, ge=1)
    # A real import of more rows is written by a background job (answered 202).
    job_rows: int = Field(default=2_000, ge=1)
    max_errors: int = Field(default=1_000, ge=1)

    def read_limits(self) -> xlsx.Limits:
        """What reading one file may cost: max_rows rows (empty ones too), 32 cells a row,
        20 times max_bytes (at most 200 MB) unzipped from any part of a workbook."""
        return xlsx.Limits.for_upload(self.max_rows, self.max_bytes)


limits = ImportLimits()


_REJECTIONS: dict[int, type[HomeroomError]] = {
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
}


@dataclass(frozen=True, slots=True)
class Options:
    dry_run: bool = False
    school_id: int | None = None
    encoding: str | None = None
    date_order: str | None = None
    file_name: str | None = None


# --- the steps ---------------------------------------------------------------------------------


async def target_school(db: Database, principal: Principal, requested: int | None) -> int:
    """The caller's school; an all-schools admin names one (?school_id=) that must exist."""
    school_id = school_of(principal, requested)
    if principal.school_id is None and not await repository.school_exists(db, db.reader, school_id):
        raise ValidationFailed(
            "no such school",
            errors=[field_error(["query", "school_id"], "no school with this id")],
        )
    return school_id


async def prepare(kind: str, data: bytes, options: Options) -> Prepared:
    """The file read and its rows validated; raises 413/415/422 for a file that can't be."""
    # Always in the CPU pool's process, whatever the size: a 47 KB workbook can hold 30 MB of
    # XML. Measured while a 50,000-row workbook was read (in-process /healthz every 5 ms):
    # in a thread /healthz took p99 18-31 ms, max 33-231 ms (the thread holds the GIL);
    # in the pool p99 1-9 ms, max 6-13 ms, the rows' pickling back included.
    args = (kind, data, options.encoding, options.date_order, limits.read_limits())
    prepared = await run_cpu(rows.prepare, *args)
    if prepared.rejection is not None:
        status, message = prepared.rejection
        raise _REJECTIONS.get(status, ValidationFailed)(message)
    return prepared


async def check(
    db: Database,
    reader: Reader,
    principal: Principal,
    school_id: int,
    prepared: Prepared,
    *,
    real: bool,
) -> Plan:
    if prepared.header_failed:
        return Plan()
    ctx = plans.Context(db, reader, principal, school_id, prepared, real)
    return await plans.CHECKS[prepared.kind](ctx)


def summary(prepared: Prepared, plan: Plan, dry_run: bool) -> dict[str, Any]:
    errors = sorted(prepared.errors, key=lambda e: e["row"] or 0)
    return {
        "kind": prepared.kind,
        "dry_run": dry_run,
        "rows": prepared.rows,
        "valid": 0 if prepared.header_failed else prepared.rows - len(prepared.invalid_rows),
        "created": plan.created,
        "updated": plan.updated,
        "unchanged": plan.unchanged,
        "errors": errors[: limits.max_errors],
        "error_count": len(errors),
        "columns": prepared.columns,
        "ignored_columns": prepared.ignored,
    }


def refuse(prepared: Prepared) -> ValidationFailed:
    """The 422 of a real import with errors: the same list a dry run shows."""
    body = summary(prepared, Plan(), False)
    bad = len(prepared.invalid_rows)
    if prepared.header_failed:
        detail = "the header is not usable; nothing was imported"
    else:
        detail = f"{bad} of {prepared.rows} rows are invalid; nothing was imported"
    return ValidationFailed(detail, errors=body["errors"])


async def apply(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    school_id: int,
    prepared: Prepared,
    plan: Plan,
    options: Options,
    job_id: int | None = None,
) -> dict[str, Any]:
    """Writes the plan, bumps its cache tags and records the import in the audit log."""
    await plan.write(session)
    await cache.invalidate(session, *plan.tags)
    result = summary(prepared, plan, False)
    audit.record(
        session,
        principal,
        "import",
        ENTITIES[prepared.kind],
        job_id,
        school_id,
        {
            "file": options.file_name,
            "format": prepared.format,
            "rows": prepared.rows,
            "created": plan.created,
            "updated": plan.updated,
            "unchanged": plan.unchanged,
            "job_id": job_id,
            "changes": plan.details,
        },
    )
    return result


ENTITIES = {
    "students": "student",
    "guardians": "guardian",
    "enrollments": "enrollment",
    "grades": "grade",
    "attendance": "attendance",
}


# --- the request -------------------------------------------------------------------------------


async def dry_run(
    db: Database, principal: Principal, kind: str, data: bytes, options: Options
) -> dict[str, Any]:
    """What importing the file would do, and every row error: read on the raw path (no
    transaction, no lock), nothing written. 413/415/422 for a file that cannot be read."""
    school_id = await target_school(db, principal, options.school_id)
    prepared = await prepare(kind, data, options)
    plan = await check(db, db.reader, principal, school_id, prepared, real=False)
    return summary(prepared, plan, True)


async def import_file(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    kind: str,
    data: bytes,
    options: Options,
) -> tuple[int, dict[str, Any]]:
    """(status, body): 200 with the counts (or a dry run's findings), 202 with the job of a
    large import; 413/415/422 for a file that cannot be imported, nothing written."""
    if options.dry_run:
        return 200, await dry_run(db, principal, kind, data, options)
    school_id = await target_school(db, principal, options.school_id)
    prepared = await prepare(kind, data, options)
    if prepared.rows > limits.job_rows:
        # Checked now, on the read path (no write lock), so the user hears of bad rows at
        # once; the job checks again in its own transaction before it writes.
        await check(db, db.reader, principal, school_id, prepared, real=False)
        if prepared.errors:
            raise refuse(prepared)
        params = {
            "kind": kind,
            "school_id": school_id,
            "file_name": options.file_name,
            "format": prepared.format,
            "rows": prepared.rows,
            "bytes": len(data),
        }
        job = await jobs.submit(session, principal, "import", params, school_id=school_id)
        # The validated rows, not the file: the job need not read it again.
        await repository.store_upload(session, job["id"], rows.dump(prepared))
        return 202, job
    plan = await check(db, SessionReader(session), principal, school_id, prepared, real=True)
    if prepared.errors:
        raise refuse(prepared)
    return 200, await apply(db, session, principal, school_id, prepared, plan, options)


# --- templates and the catalog -----------------------------------------------------------------


def template(kind_name: str, file_format: str) -> tuple[bytes, str, str]:
    """(body, media type, file name): the header and one example row."""
    kind = cols.KINDS[kind_name]
    shown = [c for c in kind.columns if c.example or kind.is_required(c.name)]
    header = [c.name for c in shown]
    example = [c.example for c in shown]
    name = f"{kind_name}-import-template"
    if file_format == "xlsx":
        return _xlsx_template(kind, header, example), XLSX, f"{name}.xlsx"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerow(example)
    # A byte-order mark: Excel then opens the file as UTF-8.
    return ("\ufeff" + out.getvalue()).encode(), "text/csv; charset=utf-8", f"{name}.csv"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_template(kind: cols.Kind, header: list[str], example: list[str]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    text = book.add_format({"num_format": "@"})
    bold = book.add_format({"bold": True, "num_format": "@"})
    sheet = book.add_worksheet(kind.name)
    # Every column formatted as Text: Excel then keeps leading zeros and long numbers.
    sheet.set_column(0, len(header) - 1, 18, text)
    sheet.write_row(0, 0, header, bold)
    for i, value in enumerate(example):
        sheet.write_string(1, i, value, text)
    help_sheet = book.add_worksheet("columns")
    help_sheet.write_row(0, 0, ["column", "required", "meaning", "also accepted as"], bold)
    for row, column in enumerate(kind.columns, start=1):
        help_sheet.write_row(
            row,
            0,
            [
                column.name,
                "yes" if kind.is_required(column.name) else "",
                column.description,
                ", ".join(column.synonyms),
            ],
        )
    help_sheet.set_column(0, 0, 16)
    help_sheet.set_column(2, 3, 60)
    book.close()
    return buffer.getvalue()


def catalog(principal: Principal) -> dict[str, Any]:
    kinds = []
    for kind in cols.KINDS.values():
        if not can(principal, kind.permission):
            continue
        kinds.append(
            {
                "kind": kind.name,
                "description": kind.description,
                "permission": kind.permission,
                "columns": [
                    {
                        "name": c.name,
                        "required": kind.is_required(c.name),
                        "description": c.description,
                        "example": c.example,
                        "synonyms": list(c.synonyms),
                    }
                    for c in kind.columns
                ],
                "required": [list(group) for group in kind.required],
                "template_csv": f"{API}/{kind.name}/template",
                "template_xlsx": f"{API}/{kind.name}/template?format=xlsx",
                "upload": f"{API}/{kind.name}",
            }
        )
    return {
        "kinds": kinds,
        "max_bytes": limits.max_bytes,
        "max_rows": limits.max_rows,
        "job_rows": limits.job_rows,
    }
