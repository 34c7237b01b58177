"""Business rules for attendance. Never commits: the request's unit of work does."""

import datetime as dt
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.attendance import repository
from homeroom.attendance.schemas import (
    AttendanceBulk,
    AttendanceCreate,
    AttendanceUpdate,
    DateRange,
)
from homeroom.audit import service as audit
from homeroom.enums import ATTENDANCE_STATUSES
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database, SessionReader
from homeroom.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.tags import Tag
from homeroom.kit.writes import Target
from homeroom.models import utcnow
from homeroom.sections import rules as section_rules


def rate(present: int, late: int, total: int) -> float | None:
    """The attendance rate: (present + late) / total, None when there is nothing to count."""
    return (present + late) / total if total else None


def _tags(section_id: int, *student_ids: int) -> list[Tag]:
    """What an attendance write changes: the section's summary and each student's."""
    return [tag.section_attendance(section_id), *(tag.student(s) for s in student_ids)]


# --- records ------------------------------------------------------------------------------------


async def create_attendance(
    db: Database, session: AsyncSession, principal: Principal, data: AttendanceCreate
) -> dict[str, Any]:
    """Record one student's attendance in a section on a date."""
    context = await repository.create_context(
        db,
        session,
        scope_kind(principal),
        scope_params(principal),
        data.section_id,
        data.student_id,
        data.date,
    )
    if context is None:
        raise NotFound("section not found")
    teacher_id, school_id, enrollment_id, session_id, existing_id = context
    section_rules.ensure_may_write(principal, teacher_id)
    if enrollment_id is None:
        raise ValidationFailed(
            "the student is not enrolled in this section",
            errors=[field_error(["body", "student_id"], "student is not enrolled in the section")],
        )
    if existing_id is not None:
        raise Conflict(
            "the student already has an attendance record for this section and date; "
            f"change it with PATCH /attendance/{existing_id}"
        )
    if session_id is None:
        session_id = (
            await repository.add_session(session, school_id, data.section_id, data.date)
        ).id
    values = {
        "school_id": school_id,
        "session_id": session_id,
        "student_id": data.student_id,
        "status": data.status,
        "note": data.note,
        "recorded_by": principal.user_id,
        "recorded_at": utcnow(),
    }
    derived = {"section_id": data.section_id, "date": data.date}
    record = await writes.insert(db, session, principal, repository.RESOURCE, values, derived)
    await cache.invalidate(session, *_tags(data.section_id, data.student_id))
    audit.record(
        session,
        principal,
        "create",
        "attendance",
        record["id"],
        school_id,
        data.model_dump(mode="json"),
    )
    return record


async def _writable(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    target: Target,
) -> tuple[writes.Loaded, int]:
    """The record for a write by `principal`, locked, and its school."""
    record = await writes.load(
        db,
        session,
        principal,
        repository.RESOURCE,
        target,
        query=repository.write_query(db, scope_kind(principal)),
        authorize=lambda loaded: section_rules.ensure_may_write(
            principal, repository.WriteExtra._make(loaded.extra).teacher_id
        ),
    )
    return record, int(repository.WriteExtra._make(record.extra).school_id)


async def update_attendance(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    target: Target,
    data: AttendanceUpdate,
) -> dict[str, Any]:
    """Change a record's status or note; send If-Match with the ETag you read."""
    record, school_id = await _writable(db, session, principal, target)
    changes = data.changes()
    if not changes:
        return record.item
    values = {**changes, "recorded_by": principal.user_id, "recorded_at": utcnow()}
    updated = await writes.update(db, session, principal, repository.RESOURCE, record, values)
    await cache.invalidate(session, *_tags(updated["section_id"], updated["student_id"]))
    audit.record(session, principal, "update", "attendance", target.id, school_id, changes)
    return updated


async def delete_attendance(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete an attendance record."""
    record, school_id = await _writable(db, session, principal, target)
    item = record.item
    await writes.delete(session, repository.RESOURCE, target.id)
    await cache.invalidate(session, *_tags(item["section_id"], item["student_id"]))
    audit.record(
        session,
        principal,
        "delete",
        "attendance",
        target.id,
        school_id,
        {k: item[k] for k in ("section_id", "student_id", "status")} | {"date": str(item["date"])},
    )


# --- bulk ---------------------------------------------------------------------------------------


def _bulk_errors(data: AttendanceBulk, enrolled: set[int]) -> list[dict[str, Any]]:
    errors = []
    seen: set[int] = set()
    for i, row in enumerate(data.records):
        loc: list[str | int] = ["body", "records", i, "student_id"]
        if row.student_id in seen:
            errors.append(field_error(loc, "student appears more than once in this batch"))
        elif row.student_id not in enrolled:
            errors.append(field_error(loc, "student is not enrolled in the section"))
        seen.add(row.student_id)
    return errors


def _checked(
    principal: Principal, data: AttendanceBulk, rows: list[repository.BulkContext]
) -> tuple[int, int | None, set[int]]:
    """(school_id, the day's session id or None, students with a record already) of a bulk
    write that may go ahead; else the 404, 403 or 422 it gets."""
    if not rows:
        raise NotFound("section not found")
    first, *_ = rows
    section_rules.ensure_may_write(principal, first.teacher_id)
    errors = _bulk_errors(data, {r.student_id for r in rows if r.student_id is not None})
    if errors:
        raise ValidationFailed(
            f"{len(errors)} of {len(data.records)} rows are invalid; nothing was written",
            errors=errors,
        )
    recorded = {r.student_id for r in rows if r.student_id is not None and r.record_id is not None}
    return first.school_id, first.session_id, recorded


async def record_bulk(
    db: Database, session: AsyncSession, principal: Principal, data: AttendanceBulk
) -> dict[str, Any]:
    """Takes a whole section's attendance for one day: every row or none.

    Checked first on the read path, before the write begins (on SQLite the write lock is held
    only for the writing, ~1 ms); then one upsert of every row, guarded: it writes only the
    rows of students still enrolled, in a section still the teacher's. Had anything changed
    in between, fewer rows are written: the section is checked again inside the transaction
    and the request answers what it finds (422, 403, 404, or 409 to send it again), nothing
    written. Statements whatever the batch size: the read, the day's session when it is the
    first of the day, the upsert, and the transaction's cache tags and audit row.
    """
    kind, scope = scope_kind(principal), scope_params(principal)
    student_ids = sorted({row.student_id for row in data.records})
    context = (data.section_id, data.date, student_ids)
    rows = await repository.bulk_context(db, db.reader, kind, scope, *context)
    school_id, session_id, existing = _checked(principal, data, rows)
    if session_id is None:
        session_id = await repository.day_session(session, school_id, data.section_id, data.date)
    now = utcnow()
    teacher = principal.profile_id if principal.role == "teacher" else None
    written = await repository.upsert_records(
        session,
        [
            (school_id, session_id, row.student_id, row.status, row.note, principal.user_id, now)
            for row in data.records
        ],
        guard=(data.section_id, teacher),
    )
    if written != len(data.records):
        rows = await repository.bulk_context(db, SessionReader(session), kind, scope, *context)
        _checked(principal, data, rows)
        raise Conflict("the section changed while its attendance was saved; send it again")
    await cache.invalidate(session, *_tags(data.section_id, *student_ids))
    created = len(data.records) - len(existing)
    result = {
        "section_id": data.section_id,
        "date": data.date,
        "created": created,
        "updated": len(existing),
    }
    audit.record(
        session,
        principal,
        "bulk_upsert",
        "attendance_session",
        session_id,
        school_id,
        {**result, "date": data.date.isoformat()},
    )
    return result


# --- a section's day, to take its attendance ----------------------------------------------------


async def day_sheet(
    db: Database, principal: Principal, section_id: int, day: dt.date
) -> dict[str, Any]:
    """What taking a section's attendance on `day` shows: the section, and each student
    enrolled (not dropped), by name, with their record of the day (status and note None when
    they have none yet). One statement. 404 when the section is out of the caller's scope,
    403 when they may not take its attendance (record_bulk's rule)."""
    rows = await repository.day_sheet(
        db, scope_kind(principal), scope_params(principal), section_id, day
    )
    if not rows:
        raise NotFound("section not found")
    first, *_ = rows
    if principal.role not in ("admin", "staff", "teacher"):
        raise Forbidden("only the section's teacher and the school office take attendance")
    section_rules.ensure_may_write(principal, first.teacher_id)
    students = [
        {
            "student_id": row.student_id,
            "student_number": row.student_number,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "status": row.status,
            "note": row.note,
        }
        for row in rows
        if row.student_id is not None
    ]
    return {
        "section_id": first.section_id,
        "name": first.section_name,
        "teacher_id": first.teacher_id,
        "course_code": first.course_code,
        "course_title": first.course_title,
        "date": day,
        "students": students,
    }


# --- rates --------------------------------------------------------------------------------------


def _status_counts(counts: list[Any]) -> dict[str, Any]:
    """A summary row's counts by status (ATTENDANCE_STATUSES' order), as integers."""
    return {status: int(n) for status, n in zip(ATTENDANCE_STATUSES, counts, strict=True)}


def _with_rate(counts: dict[str, Any], total: int) -> dict[str, Any]:
    return {**counts, "rate": rate(counts["present"], counts["late"], total)}


async def student_summary(
    db: Database, principal: Principal, student_id: int, period: DateRange
) -> dict[str, Any]:
    kind, scope = scope_kind(principal), scope_params(principal)
    if not await repository.student_visible(db, kind, scope, student_id):
        raise NotFound("student not found")
    rows = await repository.student_by_section(
        db, kind, scope, student_id, period.date_from, period.date_to
    )
    by_section = []
    totals = dict.fromkeys(("total", *ATTENDANCE_STATUSES), 0)
    for section_id, code, total, *counts in rows:
        entry = {"section_id": section_id, "course_code": code, "total": int(total)}
        entry |= _status_counts(counts)
        for key in totals:
            totals[key] += entry[key]
        by_section.append(_with_rate(entry, entry["total"]))
    return {
        "student_id": student_id,
        **_with_rate(totals, totals["total"]),
        "by_section": by_section,
    }


async def section_summary(
    db: Database, principal: Principal, section_id: int, period: DateRange
) -> dict[str, Any]:
    section = await repository.visible_section(
        db, scope_kind(principal), scope_params(principal), section_id
    )
    if section is None:
        raise NotFound("section not found")
    teaches = principal.role == "teacher" and section.teacher_id == principal.profile_id
    if principal.role not in ("admin", "staff") and not teaches:
        raise Forbidden("only staff and the section's teacher see its attendance summary")
    student_rows = await repository.section_by_student(
        db, section_id, period.date_from, period.date_to
    )
    date_rows = await repository.section_by_date(db, section_id, period.date_from, period.date_to)
    by_student = []
    for student_id, first_name, last_name, *counts in student_rows:
        entry: dict[str, Any] = {
            "student_id": student_id,
            "first_name": first_name,
            "last_name": last_name,
        }
        entry |= _status_counts(counts)
        by_student.append(_with_rate(entry, sum(int(n) for n in counts)))
    by_date = []
    totals = dict.fromkeys(ATTENDANCE_STATUSES, 0)
    for day, *counts in date_rows:
        entry = {"date": day} | _status_counts(counts)
        for status in ATTENDANCE_STATUSES:
            totals[status] += entry[status]
        by_date.append(entry)
    return {
        "section_id": section_id,
        "sessions": len(by_date),
        "rate": rate(totals["present"], totals["late"], sum(totals.values())),
        "by_student": by_student,
        "by_date": by_date,
    }


async def student_summary_cached(
    db: Database,
    pages: cache.ResponseCache,
    principal: Principal,
    student_id: int,
    period: DateRange,
) -> cache.Entry:
    """GET /students/{id}/attendance as cached bytes: the student's records (student tag),
    the course codes of their sections ("catalog"), and the caller's scope."""

    async def build() -> bytes:
        return orjson.dumps(await student_summary(db, principal, student_id, period))

    tags = (
        tag.student(student_id),
        tag.school(principal.school_id, "catalog"),
        *tag.scope(principal),
    )
    key = (student_id, period.date_from, period.date_to, *cache.scope_key(principal))
    return await pages.cached("student_attendance", key, tags, build)


async def section_summary_cached(
    db: Database,
    pages: cache.ResponseCache,
    principal: Principal,
    section_id: int,
    period: DateRange,
) -> cache.Entry:
    """GET /sections/{id}/attendance as cached bytes: the section's records
    ("section:{id}:attendance"), the section itself (its teacher decides who sees it) and
    the names of its students (the school's "people")."""

    async def build() -> bytes:
        return orjson.dumps(await section_summary(db, principal, section_id, period))

    tags = (
        tag.section(section_id),
        tag.section_attendance(section_id),
        tag.school(principal.school_id, "people"),
        *tag.scope(principal),
    )
    key = (section_id, period.date_from, period.date_to, *cache.scope_key(principal))
    return await pages.cached("section_attendance", key, tags, build)


# --- a student's missed days ---------------------------------------------------------------------

MISSED_PAGE = 50


def _day(value: Any) -> dt.date:
    """A DATE column's value: a date (PostgreSQL) or its ISO text (SQLite's raw path)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


async def missed_days(
    db: Database,
    principal: Principal,
    student_id: int,
    before: tuple[dt.date, int] | None = None,
    limit: int = MISSED_PAGE,
) -> dict[str, Any]:
    """The student's records that are not present (absent, late, excused), the latest first,
    `limit` at a time (keyset: `before` is the (date, record id) the previous page ended
    at, its `next`). The attendance list's scope; 404 when the student is out of it. Two
    statements."""
    kind, scope = scope_kind(principal), scope_params(principal)
    if not await repository.student_visible(db, kind, scope, student_id):
        raise NotFound("student not found")
    rows = await repository.missed(db, kind, scope, student_id, before, limit + 1)
    days = [{**row._asdict(), "date": _day(row.date)} for row in rows[:limit]]
    last = days[-1] if len(rows) > limit else None
    return {
        "student_id": student_id,
        "days": days,
        "next": None if last is None else (last["date"], last["id"]),
    }


WRITES = Writes(create_attendance, update_attendance, delete_attendance)
