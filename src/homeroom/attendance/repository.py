"""Every attendance query. Reads compile once per shape and run on the raw read path; writes
run inside the request's session."""

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    TextClause,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.attendance.schemas import AttendanceFilters, AttendanceRead
from homeroom.enums import ATTENDANCE_STATUSES
from homeroom.kit.bulk import RowSet, any_id, execute_core, id_list, typed
from homeroom.kit.db import Compiled, Database, Reader, Row, SessionReader, compiled
from homeroom.kit.pagination import Sorting
from homeroom.kit.records import Listing, at_least, at_most, columns_of, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter, student_filter
from homeroom.models import (
    AttendanceRecord,
    AttendanceSession,
    Course,
    Enrollment,
    Section,
    Student,
    utcnow,
)

# The record's own columns, and its session's section and date.
COLUMNS = columns_of(AttendanceRecord, AttendanceRead, AttendanceSession)
SORTING = Sorting.of(COLUMNS, "-date", "id")


def _record_scope(kind: ScopeKind) -> list[ColumnElement[bool]]:
    """Students see their own records, guardians their children's, teachers their own
    sections' records, staff and admins their school's."""
    conditions = [school_filter(kind, AttendanceRecord.school_id)]
    if kind in ("student", "guardian"):
        conditions.append(student_filter(kind, AttendanceRecord.student_id))
    elif kind == "teacher":
        conditions.append(section_filter(kind, AttendanceSession.section_id))
    return conditions


def _section_scope(kind: ScopeKind) -> list[ColumnElement[bool]]:
    return [school_filter(kind, Section.school_id), section_filter(kind, Section.id)]


def _records(kind: ScopeKind, *extra: Any) -> Select[Any]:
    return (
        select(*COLUMNS, *extra)
        .select_from(AttendanceRecord)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .where(*_record_scope(kind))
    )


# A record's section and date are its session's, which no write of the record changes.
RESOURCE = resource(
    "attendance record",
    AttendanceRecord,
    _records,
    COLUMNS,
    returning=tuple(c for c in COLUMNS if c.class_ is AttendanceRecord),
)
LISTING = Listing(
    "attendance",
    RESOURCE,
    _records,
    SORTING,
    AttendanceFilters,
    filters={
        "section_id": equals(AttendanceSession.section_id),
        "student_id": equals(AttendanceRecord.student_id),
        "date": equals(AttendanceSession.date),
        "date_from": at_least(AttendanceSession.date),
        "date_to": at_most(AttendanceSession.date),
        "status": equals(AttendanceRecord.status),
    },
)


class WriteExtra(NamedTuple):
    """What write_query reads after the record's columns."""

    teacher_id: int | None
    school_id: int


@compiled
def write_query(kind: ScopeKind) -> Select[Any]:
    """The record in the caller's scope by the parameter `id`, then its section's teacher_id
    and the record's school_id."""
    return (
        _records(kind, Section.teacher_id, AttendanceRecord.school_id)
        .join(Section, Section.id == AttendanceSession.section_id)
        .where(AttendanceRecord.id == bindparam("id"))
    )


def _session_of_section() -> Any:
    return and_(
        AttendanceSession.section_id == Section.id,
        AttendanceSession.date == bindparam("day", type_=Date),
    )


@compiled
def _create_context(kind: ScopeKind) -> Select[Any]:
    enrollment = (
        select(Enrollment.id)
        .where(
            Enrollment.section_id == Section.id,
            Enrollment.student_id == bindparam("student_id"),
            Enrollment.status != "dropped",
        )
        .scalar_subquery()
    )
    meeting = select(AttendanceSession.id).where(_session_of_section()).scalar_subquery()
    existing = (
        select(AttendanceRecord.id)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .where(_session_of_section(), AttendanceRecord.student_id == bindparam("student_id"))
        .scalar_subquery()
    )
    return select(
        Section.teacher_id,
        Section.school_id,
        enrollment.label("enrollment_id"),
        meeting.label("session_id"),
        existing.label("record_id"),
    ).where(Section.id == bindparam("section_id"), *_section_scope(kind))


async def create_context(
    db: Database,
    session: AsyncSession,
    kind: ScopeKind,
    scope: dict[str, Any],
    section_id: int,
    student_id: int,
    day: dt.date,
) -> Row | None:
    """One statement: (teacher_id, school_id, enrollment_id, session_id, existing record id)
    for a section visible to the caller; None when it is not visible."""
    query = _create_context(db, kind)
    params = {**scope, "section_id": section_id, "student_id": student_id, "day": day}
    return await SessionReader(session).first(query, params)


@compiled
def _bulk_context(kind: ScopeKind, sqlite: bool) -> Select[Any]:
    return (
        select(
            Section.teacher_id,
            Section.school_id,
            AttendanceSession.id.label("session_id"),
            Enrollment.student_id,
            AttendanceRecord.id.label("record_id"),
        )
        .select_from(Section)
        .outerjoin(AttendanceSession, _session_of_section())
        .outerjoin(
            Enrollment,
            and_(
                Enrollment.section_id == Section.id,
                any_id(Enrollment.student_id, "student_ids", sqlite),
                Enrollment.status != "dropped",
            ),
        )
        .outerjoin(
            AttendanceRecord,
            and_(
                AttendanceRecord.session_id == AttendanceSession.id,
                AttendanceRecord.student_id == Enrollment.student_id,
            ),
        )
        .where(Section.id == bindparam("section_id"), *_section_scope(kind))
    )


class BulkContext(NamedTuple):
    """The section, the day's session (None when there is none yet), one of the given
    students enrolled (None when none is) and their record of the day (None when none)."""

    teacher_id: int | None
    school_id: int
    session_id: int | None
    student_id: int | None
    record_id: int | None


async def bulk_context(
    db: Database,
    reader: Reader,
    kind: ScopeKind,
    scope: dict[str, Any],
    section_id: int,
    day: dt.date,
    student_ids: list[int],
) -> list[BulkContext]:
    """One statement: a row for each of the given students enrolled; no rows when the section
    is not visible. A section without any of the students enrolled still gives one row with
    student_id None."""
    sqlite = db.is_sqlite
    query = _bulk_context(db, kind, sqlite)
    params = {
        **scope,
        "section_id": section_id,
        "day": day,
        "student_ids": id_list(student_ids, sqlite),
    }
    return list(map(BulkContext._make, await reader.all(query, params)))


async def add_session(
    session: AsyncSession, school_id: int, section_id: int, day: dt.date
) -> AttendanceSession:
    meeting = AttendanceSession(school_id=school_id, section_id=section_id, date=day)
    session.add(meeting)
    await session.flush()
    return meeting


async def day_session(session: AsyncSession, school_id: int, section_id: int, day: dt.date) -> int:
    """The id of the section's attendance session of `day`, created if it has none (also
    when another request created it since it was read)."""
    table: Any = AttendanceSession.__table__
    insert: Any = sqlite_insert if session.bind.dialect.name == "sqlite" else postgresql_insert
    statement = (
        insert(table)
        .values(school_id=school_id, section_id=section_id, date=day, created_at=utcnow())
        .on_conflict_do_update(
            index_elements=[table.c.section_id, table.c.date], set_={"section_id": section_id}
        )
        .returning(table.c.id)
    )
    result = await execute_core(session, statement, {})
    session_id: int = result.scalar_one()
    return session_id


_RECORDS = RowSet(
    (
        ("school_id", "INTEGER"),
        ("session_id", "INTEGER"),
        ("student_id", "INTEGER"),
        ("status", "TEXT"),
        ("note", "TEXT"),
        ("recorded_by", "INTEGER"),
        ("recorded_at", "TIMESTAMPTZ"),
    )
)
_UPSERT: dict[tuple[bool, bool], TextClause] = {}


def _upsert_statement(sqlite: bool, guarded: bool) -> TextClause:
    statement = _UPSERT.get((sqlite, guarded))
    if statement is None:
        columns = ", ".join(name for name, _ in _RECORDS.columns)
        guard = ""
        if guarded:
            section = typed("section_id", "INTEGER", sqlite)
            teacher = typed("teacher_id", "INTEGER", sqlite)
            guard = (
                f" AND EXISTS (SELECT 1 FROM enrollments e WHERE e.section_id = {section} "
                "AND e.student_id = r.student_id AND e.status != 'dropped') "
                f"AND ({teacher} IS NULL OR EXISTS (SELECT 1 FROM sections s "
                f"WHERE s.id = {section} AND s.teacher_id = {teacher}))"
            )
        statement = _UPSERT[sqlite, guarded] = text(
            f"INSERT INTO attendance_records ({columns}) SELECT {columns} FROM "
            f"({_RECORDS.select(sqlite)}) r WHERE true{guard} "
            "ON CONFLICT (session_id, student_id) DO UPDATE SET status = excluded.status, "
            "note = excluded.note, recorded_by = excluded.recorded_by, "
            "recorded_at = excluded.recorded_at"
        )
    return statement


async def upsert_records(
    session: AsyncSession,
    rows: list[tuple[Any, ...]],
    guard: tuple[int, int | None] | None = None,
) -> int:
    """One statement whatever the number of rows: each (school_id, session_id, student_id,
    status, note, recorded_by, recorded_at) is inserted, or updates the student's record of
    that session. With a `guard` (section_id, teacher_id or None), only the rows of students
    still enrolled in that section (and, with a teacher, of a section still theirs) are
    written. Returns the number of rows written."""
    sqlite = session.bind.dialect.name == "sqlite"
    params = _RECORDS.params(sqlite, rows)
    if guard is not None:
        guard_section, guard_teacher = guard
        params |= {"section_id": guard_section, "teacher_id": guard_teacher}
    result = await execute_core(session, _upsert_statement(sqlite, guard is not None), params)
    written: int = result.rowcount
    return written


# --- rates --------------------------------------------------------------------------------------


def status_count(status: str) -> Any:
    """How many of the grouped records have `status` (0, not NULL, when none)."""
    return func.coalesce(func.sum(case((AttendanceRecord.status == status, 1), else_=0)), 0)


def _counts() -> tuple[Any, ...]:
    return tuple(status_count(status).label(status) for status in ATTENDANCE_STATUSES)


def _date_range(stmt: Select[Any], has_from: bool, has_to: bool) -> Select[Any]:
    if has_from:
        stmt = stmt.where(AttendanceSession.date >= bindparam("date_from", type_=Date))
    if has_to:
        stmt = stmt.where(AttendanceSession.date <= bindparam("date_to", type_=Date))
    return stmt


def _range_params(date_from: dt.date | None, date_to: dt.date | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if date_from is not None:
        params["date_from"] = date_from
    if date_to is not None:
        params["date_to"] = date_to
    return params


@compiled
def _visible_student(kind: ScopeKind) -> Select[Any]:
    return select(Student.id).where(
        Student.id == bindparam("student_id"),
        school_filter(kind, Student.school_id),
        student_filter(kind, Student.id),
    )


async def student_visible(
    db: Database, kind: ScopeKind, scope: dict[str, Any], student_id: int
) -> bool:
    query = _visible_student(db, kind)
    return await db.reader.first(query, {**scope, "student_id": student_id}) is not None


@compiled
def _student_by_section(own_sections_only: bool, has_from: bool, has_to: bool) -> Select[Any]:
    stmt = (
        select(AttendanceSession.section_id, Course.code, func.count(), *_counts())
        .select_from(AttendanceRecord)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .join(Section, Section.id == AttendanceSession.section_id)
        .join(Course, Course.id == Section.course_id)
        .where(AttendanceRecord.student_id == bindparam("student_id"))
        .group_by(AttendanceSession.section_id, Course.code)
        .order_by(Course.code, AttendanceSession.section_id)
    )
    if own_sections_only:
        stmt = stmt.where(Section.teacher_id == bindparam("scope_profile"))
    return _date_range(stmt, has_from, has_to)


async def student_by_section(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    student_id: int,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> list[Row]:
    """(section_id, course_code, total, present, absent, late, excused) per section; a teacher
    counts only their own sections, as their attendance list does."""
    query = _student_by_section(db, kind == "teacher", date_from is not None, date_to is not None)
    params = {**scope, "student_id": student_id, **_range_params(date_from, date_to)}
    return await db.reader.all(query, params)


class VisibleSection(NamedTuple):
    id: int
    teacher_id: int | None


@compiled
def _visible_section(kind: ScopeKind) -> Select[Any]:
    return select(Section.id, Section.teacher_id).where(
        Section.id == bindparam("section_id"), *_section_scope(kind)
    )


async def visible_section(
    db: Database, kind: ScopeKind, scope: dict[str, Any], section_id: int
) -> VisibleSection | None:
    """The section when the caller may see it."""
    query = _visible_section(db, kind)
    row = await db.reader.first(query, {**scope, "section_id": section_id})
    return None if row is None else VisibleSection._make(row)


@compiled
def _section_by_student(has_from: bool, has_to: bool) -> Select[Any]:
    stmt = (
        select(Student.id, Student.first_name, Student.last_name, *_counts())
        .select_from(AttendanceRecord)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .join(Student, Student.id == AttendanceRecord.student_id)
        .where(AttendanceSession.section_id == bindparam("section_id"))
        .group_by(Student.id, Student.first_name, Student.last_name)
        .order_by(Student.last_name, Student.first_name, Student.id)
    )
    return _date_range(stmt, has_from, has_to)


async def _section_rows(
    db: Database,
    query: Compiled[[bool, bool]],
    section_id: int,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> list[Row]:
    """`query`'s rows over the section's records between the dates."""
    compiled_query = query(db, date_from is not None, date_to is not None)
    params = {"section_id": section_id, **_range_params(date_from, date_to)}
    return await db.reader.all(compiled_query, params)


async def section_by_student(
    db: Database, section_id: int, date_from: dt.date | None, date_to: dt.date | None
) -> list[Row]:
    """(student_id, first_name, last_name, present, absent, late, excused) per student."""
    return await _section_rows(db, _section_by_student, section_id, date_from, date_to)


@compiled
def _section_by_date(has_from: bool, has_to: bool) -> Select[Any]:
    stmt = (
        select(AttendanceSession.date, *_counts())
        .select_from(AttendanceRecord)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .where(AttendanceSession.section_id == bindparam("section_id"))
        .group_by(AttendanceSession.date)
        .order_by(AttendanceSession.date)
    )
    return _date_range(stmt, has_from, has_to)


async def section_by_date(
    db: Database, section_id: int, date_from: dt.date | None, date_to: dt.date | None
) -> list[Row]:
    """(date, present, absent, late, excused) per session date, oldest first."""
    return await _section_rows(db, _section_by_date, section_id, date_from, date_to)


# --- a student's missed days -------------------------------------------------------------------


class MissedDay(NamedTuple):
    """A record other than present, with its section's course."""

    id: int
    date: Any
    status: str
    note: str
    section_id: int
    section_name: str
    course_code: str
    course_title: str


@compiled
def _missed(kind: ScopeKind, has_before: bool) -> Select[Any]:
    stmt = (
        select(
            AttendanceRecord.id,
            AttendanceSession.date,
            AttendanceRecord.status,
            AttendanceRecord.note,
            Section.id,
            Section.name,
            Course.code,
            Course.title,
        )
        .select_from(AttendanceRecord)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .join(Section, Section.id == AttendanceSession.section_id)
        .join(Course, Course.id == Section.course_id)
        .where(*_record_scope(kind))
        .where(AttendanceRecord.student_id == bindparam("student_id"))
        .where(AttendanceRecord.status != "present")
        .order_by(AttendanceSession.date.desc(), AttendanceRecord.id.desc())
        .limit(bindparam("limit"))
    )
    if has_before:
        day = bindparam("before_date", type_=Date)
        stmt = stmt.where(
            or_(
                AttendanceSession.date < day,
                and_(AttendanceSession.date == day, AttendanceRecord.id < bindparam("before_id")),
            )
        )
    return stmt


async def missed(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    student_id: int,
    before: tuple[dt.date, int] | None,
    limit: int,
) -> list[MissedDay]:
    """One statement: up to `limit` of the student's records that are not present, in the
    caller's scope (as the attendance list), the latest first; after the position `before`
    (date, record id) when given (keyset)."""
    params: dict[str, Any] = {**scope, "student_id": student_id, "limit": limit}
    if before is not None:
        params |= {"before_date": before[0], "before_id": before[1]}
    rows = await db.reader.all(_missed(db, kind, before is not None), params)
    return [MissedDay._make(row) for row in rows]


# --- a section's day ----------------------------------------------------------------------------


@compiled
def _day_sheet(kind: ScopeKind) -> Select[Any]:
    enrolled = and_(Enrollment.section_id == Section.id, Enrollment.status != "dropped")
    recorded = and_(
        AttendanceRecord.session_id == AttendanceSession.id,
        AttendanceRecord.student_id == Enrollment.student_id,
    )
    return (
        select(
            Section.id,
            Section.name,
            Section.teacher_id,
            Course.code,
            Course.title,
            Student.id.label("student_id"),
            Student.student_number,
            Student.first_name,
            Student.last_name,
            AttendanceRecord.status,
            AttendanceRecord.note,
        )
        .select_from(Section)
        .join(Course, Course.id == Section.course_id)
        .outerjoin(Enrollment, enrolled)
        .outerjoin(Student, Student.id == Enrollment.student_id)
        .outerjoin(AttendanceSession, _session_of_section())
        .outerjoin(AttendanceRecord, recorded)
        .where(Section.id == bindparam("section_id"), *_section_scope(kind))
        .order_by(Student.last_name, Student.first_name, Student.id)
    )


class DaySheetRow(NamedTuple):
    """The section, and one student enrolled (not dropped) with their record of the day
    (status and note None when none; the student's columns None when nobody is enrolled)."""

    section_id: int
    section_name: str
    teacher_id: int | None
    course_code: str
    course_title: str
    student_id: int | None
    student_number: str | None
    first_name: str | None
    last_name: str | None
    status: str | None
    note: str | None


async def day_sheet(
    db: Database, kind: ScopeKind, scope: dict[str, Any], section_id: int, day: dt.date
) -> list[DaySheetRow]:
    """One statement: the section's students with their records of `day`, by name; no rows
    when the section is out of the caller's scope."""
    params = {**scope, "section_id": section_id, "day": day}
    return list(map(DaySheetRow._make, await db.reader.all(_day_sheet(db, kind), params)))
