"""Every import query. Whatever the number of rows, each lookup is one statement and each write
one statement.

Lookups take their keys, and writes their rows, as ONE parameter - a JSON array read with
json_each on SQLite, arrays (= ANY, unnest) on PostgreSQL - so a 10,000-row file neither hits
the drivers' 32,767-parameter limit nor makes a statement of its own shape. They are compiled once
(@compiled) and run on any Reader: the raw read path for a dry run (no transaction, no write
lock), the write session for a real import (the checks and the writes see the same data).

Each lookup returns its rows as the NamedTuple defined beside it (the raw driver's tuples
wrapped with `_make`: ~0.2 us a row, 2 ms for 10,000), so the checks read columns by name.
Dates and timestamps come back as the stored text on SQLite's raw read path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from homeroom.kit.db import Database, Reader, compiled
from homeroom.kit.scopes import student_filter
from homeroom.models import (
    Assessment,
    AttendanceRecord,
    AttendanceSession,
    Course,
    Enrollment,
    Grade,
    Guardian,
    JobFile,
    School,
    Section,
    Student,
    StudentGuardian,
    Term,
)

# --- key lists as one parameter ----------------------------------------------------------------


def _in(sqlite: bool, column: Any, name: str, item: TypeEngine[Any]) -> ColumnElement[bool]:
    """`column` is one of the key list parameter `name` (of `item`s), on SQLite or not."""
    result: ColumnElement[bool]
    if sqlite:
        values: Any = select(literal_column("value")).select_from(func.json_each(bindparam(name)))
        result = column.in_(values)
    else:
        result = column == any_(bindparam(name, type_=ARRAY(item)))
    return result


def keys(db: Database, values: Collection[Any]) -> Any:
    """The value of a key-list parameter (see _in)."""
    items = sorted(set(values), key=str)
    if db.is_sqlite:
        return orjson.dumps(
            [v.isoformat() if isinstance(v, dt.date) else v for v in items]
        ).decode()
    return items


# --- schools -----------------------------------------------------------------------------------


@compiled
def _school() -> Select[Any]:
    return select(School.id).where(School.id == bindparam("school"))


async def school_exists(db: Database, reader: Reader, school_id: int) -> bool:
    return await reader.scalar(_school(db), {"school": school_id}) is not None


# --- students ----------------------------------------------------------------------------------

STUDENT_COLUMNS = (
    Student.id,
    Student.school_id,
    Student.student_number,
    Student.first_name,
    Student.last_name,
    Student.email,
    Student.date_of_birth,
    Student.grade_level,
    Student.status,
    Student.archived_at,
)


class StudentRow(NamedTuple):
    """STUDENT_COLUMNS, in their order."""

    id: int
    school_id: int
    student_number: str
    first_name: str
    last_name: str
    email: str
    date_of_birth: dt.date | str
    grade_level: int
    status: str
    archived_at: dt.datetime | str | None


@compiled
def _students_for_upsert(sqlite: bool) -> Select[Any]:
    return select(*STUDENT_COLUMNS).where(
        or_(
            and_(
                Student.school_id == bindparam("school"),
                _in(sqlite, Student.student_number, "numbers", String()),
            ),
            _in(sqlite, Student.email, "emails", String()),
        )
    )


async def students_for_upsert(
    db: Database, reader: Reader, school_id: int, numbers: Collection[str], emails: Collection[str]
) -> list[StudentRow]:
    """The school's students with these numbers, and any student (any school) with these
    emails."""
    query = _students_for_upsert(db, db.is_sqlite)
    params = {"school": school_id, "numbers": keys(db, numbers), "emails": keys(db, emails)}
    return list(map(StudentRow._make, await reader.all(query, params)))


class StudentRef(NamedTuple):
    id: int
    student_number: str
    archived_at: dt.datetime | str | None


@compiled
def _students_by_number(sqlite: bool, teacher: bool) -> Select[Any]:
    stmt = select(Student.id, Student.student_number, Student.archived_at).where(
        Student.school_id == bindparam("school"),
        _in(sqlite, Student.student_number, "numbers", String()),
    )
    if teacher:
        stmt = stmt.where(student_filter("teacher", Student.id))
    return stmt


async def students_by_number(
    db: Database,
    reader: Reader,
    school_id: int,
    numbers: Collection[str],
    teacher_id: int | None = None,
) -> list[StudentRef]:
    """The school's students with these numbers; for a teacher, only those of their own
    sections (the others are not theirs to know of)."""
    query = _students_by_number(db, db.is_sqlite, teacher_id is not None)
    params = {"school": school_id, "numbers": keys(db, numbers), "scope_profile": teacher_id}
    return list(map(StudentRef._make, await reader.all(query, params)))


def _unnest(table: Any, names: Sequence[str], rows: Sequence[dict[str, Any]]) -> Any:
    """PostgreSQL: the rows as one SELECT of unnest()ed arrays, one array parameter a column."""
    return select(
        *(
            func.unnest(
                bindparam(f"u_{name}", [row[name] for row in rows], type_=ARRAY(table.c[name].type))
            ).label(name)
            for name in names
        )
    )


def _json_rows(
    db: Database, table: Any, names: Sequence[str], rows: Sequence[dict[str, Any]]
) -> Any:
    """SQLite: the rows as one SELECT over json_each of ONE parameter, a JSON array of rows
    whose values are already in the form their columns store (each type's bind processing)."""
    processors = [
        table.c[name].type.dialect_impl(db.dialect).bind_processor(db.dialect) for name in names
    ]
    data = [
        [
            value if process is None else process(value)
            for process, value in zip(processors, (row[n] for n in names), strict=True)
        ]
        for row in rows
    ]
    return select(
        *(
            func.json_extract(literal_column("value"), literal_column(f"'$[{i}]'")).label(name)
            for i, name in enumerate(names)
        )
    ).select_from(func.json_each(bindparam("rows", orjson.dumps(data).decode())))


def _rows_of(db: Database, table: Any, names: Sequence[str], rows: Sequence[dict[str, Any]]) -> Any:
    return _json_rows(db, table, names, rows) if db.is_sqlite else _unnest(table, names, rows)


def _column_names(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The keys every row of a write has (the first row's: they all have the same)."""
    return list(next(iter(rows)))


async def insert_rows(
    session: AsyncSession, db: Database, model: Any, rows: Sequence[dict[str, Any]]
) -> None:
    """One INSERT ... SELECT of every row (all with the same keys), from one JSON parameter on
    SQLite and unnest(arrays) on PostgreSQL. Not an executemany: asyncpg's sends a statement a
    row, and on SQLite every statement that writes the students search index (FTS5, by
    trigger) flushes it: 10,000 students took 2-3x longer."""
    table: Any = model.__table__
    names = _column_names(rows)
    await session.execute(insert(table).from_select(names, _rows_of(db, table, names, rows)))


async def update_by_id(
    session: AsyncSession, db: Database, model: Any, rows: Sequence[dict[str, Any]]
) -> None:
    """One UPDATE ... FROM the rows (as insert_rows reads them) by primary key; every row
    carries `id` and the same columns. (On PostgreSQL 2.4x faster than an executemany for
    10,000 students; on SQLite one statement flushes the search index once.)"""
    table: Any = model.__table__
    names = [name for name in _column_names(rows) if name != "id"]
    source = _rows_of(db, table, ["id", *names], rows).subquery("v")
    await session.execute(
        update(table)
        .where(table.c.id == source.c.id)
        .values({name: source.c[name] for name in names})
    )


# --- guardians ---------------------------------------------------------------------------------


class GuardianRow(NamedTuple):
    id: int
    school_id: int
    email: str
    first_name: str
    last_name: str
    phone: str | None


@compiled
def _guardians_by_email(sqlite: bool) -> Select[Any]:
    return select(
        Guardian.id,
        Guardian.school_id,
        Guardian.email,
        Guardian.first_name,
        Guardian.last_name,
        Guardian.phone,
    ).where(_in(sqlite, Guardian.email, "emails", String()))


async def guardians_by_email(
    db: Database, reader: Reader, emails: Collection[str]
) -> list[GuardianRow]:
    """The guardians with these emails, of any school."""
    query = _guardians_by_email(db, db.is_sqlite)
    return list(map(GuardianRow._make, await reader.all(query, {"emails": keys(db, emails)})))


class LinkRow(NamedTuple):
    guardian_id: int
    student_id: int
    relationship: str


@compiled
def _links_of(sqlite: bool) -> Select[Any]:
    return (
        select(
            StudentGuardian.guardian_id,
            StudentGuardian.student_id,
            StudentGuardian.relationship,
        )
        .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
        .where(_in(sqlite, Guardian.email, "emails", String()))
    )


async def links_of(db: Database, reader: Reader, emails: Collection[str]) -> list[LinkRow]:
    """The links of the guardians with these emails to their students."""
    query = _links_of(db, db.is_sqlite)
    return list(map(LinkRow._make, await reader.all(query, {"emails": keys(db, emails)})))


async def guardian_ids(
    session: AsyncSession, db: Database, emails: Collection[str]
) -> dict[str, int]:
    """email -> id, read in the write transaction (after inserting new guardians)."""
    stmt = select(Guardian.email, Guardian.id).where(
        _in(db.is_sqlite, Guardian.email, "emails", String())
    )
    result = await session.execute(stmt, {"emails": keys(db, emails)})
    return {email: gid for email, gid in result.all()}


async def insert_links(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await session.execute(insert(StudentGuardian.__table__), list(rows))  # type: ignore[arg-type]


async def update_links(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    table: Any = StudentGuardian.__table__
    stmt = (
        update(table)
        .where(table.c.student_id == bindparam("b_student"))
        .where(table.c.guardian_id == bindparam("b_guardian"))
        .values(relationship=bindparam("b_relationship"))
    )
    await session.execute(stmt, list(rows))


# --- sections ----------------------------------------------------------------------------------


class SectionRow(NamedTuple):
    id: int
    name: str
    course_code: str
    term_name: str
    teacher_id: int | None
    capacity: int


@compiled
def _sections_of_school() -> Select[Any]:
    return (
        select(
            Section.id,
            Section.name,
            Course.code,
            Term.name,
            Section.teacher_id,
            Section.capacity,
        )
        .join(Course, Course.id == Section.course_id)
        .join(Term, Term.id == Course.term_id)
        .where(Section.school_id == bindparam("school"))
    )


async def sections_of_school(db: Database, reader: Reader, school_id: int) -> list[SectionRow]:
    """Every section of the school: a school has hundreds, and a file names them by code,
    name and term."""
    query = _sections_of_school(db)
    return list(map(SectionRow._make, await reader.all(query, {"school": school_id})))


# --- enrollments -------------------------------------------------------------------------------


class EnrollmentRow(NamedTuple):
    id: int
    student_id: int
    section_id: int
    status: str


@compiled
def _enrollments_of(sqlite: bool) -> Select[Any]:
    return select(
        Enrollment.id, Enrollment.student_id, Enrollment.section_id, Enrollment.status
    ).where(
        _in(sqlite, Enrollment.section_id, "sections", Integer()),
        _in(sqlite, Enrollment.student_id, "students", Integer()),
    )


async def enrollments_of(
    db: Database,
    reader: Reader,
    section_ids: Collection[int],
    student_ids: Collection[int],
) -> list[EnrollmentRow]:
    """The enrollments of these students in these sections."""
    query = _enrollments_of(db, db.is_sqlite)
    params = {"sections": keys(db, section_ids), "students": keys(db, student_ids)}
    return list(map(EnrollmentRow._make, await reader.all(query, params)))


@compiled
def _seats_taken(sqlite: bool, lock: bool) -> Select[Any]:
    enrolled = (
        select(func.count())
        .where(Enrollment.section_id == Section.id, Enrollment.status == "enrolled")
        .correlate(Section)
        .scalar_subquery()
    )
    stmt = select(Section.id, enrolled.label("enrolled")).where(
        _in(sqlite, Section.id, "sections", Integer())
    )
    return stmt.with_for_update(of=Section) if lock else stmt


async def seats_taken(
    db: Database, reader: Reader, section_ids: Collection[int], lock: bool
) -> dict[int, int]:
    """section_id -> the students enrolled in it. With `lock` (a real import on PostgreSQL)
    the sections stay locked until commit, so a concurrent enrollment cannot take the same
    last seat (SQLite's writer lock, taken at BEGIN IMMEDIATE, already serializes writers)."""
    query = _seats_taken(db, db.is_sqlite, lock and not db.is_sqlite)
    rows = await reader.all(query, {"sections": keys(db, section_ids)})
    return {section_id: enrolled for section_id, enrolled in rows}


# --- grades ------------------------------------------------------------------------------------


class AssessmentRow(NamedTuple):
    id: int
    section_id: int
    title: str
    max_points: float


@compiled
def _assessments_for(sqlite: bool) -> Select[Any]:
    return select(
        Assessment.id, Assessment.section_id, Assessment.title, Assessment.max_points
    ).where(
        Assessment.school_id == bindparam("school"),
        or_(
            _in(sqlite, Assessment.section_id, "sections", Integer()),
            _in(sqlite, Assessment.id, "ids", Integer()),
        ),
    )


async def assessments_for(
    db: Database,
    reader: Reader,
    school_id: int,
    section_ids: Collection[int],
    assessment_ids: Collection[int],
) -> list[AssessmentRow]:
    """The school's assessments in these sections or with these ids."""
    query = _assessments_for(db, db.is_sqlite)
    params = {
        "school": school_id,
        "sections": keys(db, section_ids),
        "ids": keys(db, assessment_ids),
    }
    return list(map(AssessmentRow._make, await reader.all(query, params)))


class GradebookRow(NamedTuple):
    enrollment_id: int
    student_id: int
    section_id: int
    status: str
    grade_id: int | None
    assessment_id: int | None
    score: float | None
    comment: str | None


@compiled
def _gradebook_of(sqlite: bool) -> Select[Any]:
    return (
        select(
            Enrollment.id,
            Enrollment.student_id,
            Enrollment.section_id,
            Enrollment.status,
            Grade.id,
            Grade.assessment_id,
            Grade.score,
            Grade.comment,
        )
        .outerjoin(
            Grade,
            and_(
                Grade.enrollment_id == Enrollment.id,
                _in(sqlite, Grade.assessment_id, "assessments", Integer()),
            ),
        )
        .where(
            _in(sqlite, Enrollment.section_id, "sections", Integer()),
            _in(sqlite, Enrollment.student_id, "students", Integer()),
        )
    )


async def gradebook_of(
    db: Database,
    reader: Reader,
    section_ids: Collection[int],
    student_ids: Collection[int],
    assessment_ids: Collection[int],
) -> list[GradebookRow]:
    """These students' enrollments in these sections, each with its grades for these
    assessments (a row an enrollment and grade; the grade's columns None when it has none)."""
    query = _gradebook_of(db, db.is_sqlite)
    params = {
        "sections": keys(db, section_ids),
        "students": keys(db, student_ids),
        "assessments": keys(db, assessment_ids),
    }
    return list(map(GradebookRow._make, await reader.all(query, params)))


# --- attendance --------------------------------------------------------------------------------


class AttendanceRow(NamedTuple):
    section_id: int
    date: dt.date | str
    session_id: int
    student_id: int | None
    record_id: int | None
    status: str | None
    note: str | None


@compiled
def _attendance_of(sqlite: bool) -> Select[Any]:
    return (
        select(
            AttendanceSession.section_id,
            AttendanceSession.date,
            AttendanceSession.id,
            AttendanceRecord.student_id,
            AttendanceRecord.id,
            AttendanceRecord.status,
            AttendanceRecord.note,
        )
        .outerjoin(
            AttendanceRecord,
            and_(
                AttendanceRecord.session_id == AttendanceSession.id,
                _in(sqlite, AttendanceRecord.student_id, "students", Integer()),
            ),
        )
        .where(
            _in(sqlite, AttendanceSession.section_id, "sections", Integer()),
            _in(sqlite, AttendanceSession.date, "dates", Date()),
        )
    )


async def attendance_of(
    db: Database,
    reader: Reader,
    section_ids: Collection[int],
    dates: Collection[dt.date],
    student_ids: Collection[int],
) -> list[AttendanceRow]:
    """The sessions of these sections on these dates, each with these students' records in
    it (a row a session and record; the record's columns None when it has none)."""
    query = _attendance_of(db, db.is_sqlite)
    params = {
        "sections": keys(db, section_ids),
        "dates": keys(db, dates),
        "students": keys(db, student_ids),
    }
    return list(map(AttendanceRow._make, await reader.all(query, params)))


async def add_sessions(
    session: AsyncSession, db: Database, rows: Sequence[dict[str, Any]]
) -> dict[tuple[int, dt.date], int]:
    """Creates the missing sessions (one executemany, a concurrent writer's kept) and returns
    (section_id, date) -> session id for all of them (one SELECT)."""
    table: Any = AttendanceSession.__table__
    stmt = (sqlite.insert if db.is_sqlite else postgresql.insert)(table).on_conflict_do_nothing(
        index_elements=[table.c.section_id, table.c.date]
    )
    await session.execute(stmt, list(rows))
    found = await session.execute(
        select(table.c.section_id, table.c.date, table.c.id).where(
            _in(db.is_sqlite, table.c.section_id, "sections", Integer()),
            _in(db.is_sqlite, table.c.date, "dates", Date()),
        ),
        {
            "sections": keys(db, {r["section_id"] for r in rows}),
            "dates": keys(db, {r["date"] for r in rows}),
        },
    )
    return {(section_id, day): sid for section_id, day, sid in found.all()}


# --- uploads kept for a background import --------------------------------------------------------
# A large import's validated rows (JSON) wait for its job in job_files, under negative sequence
# numbers (a job's own result file uses 0, 1, ...), so a worker on any machine can read them.

CHUNK = 1024 * 1024


async def store_upload(session: AsyncSession, job_id: int, data: bytes) -> None:
    rows = [
        {"job_id": job_id, "seq": -1 - i, "data": data[offset : offset + CHUNK]}
        for i, offset in enumerate(range(0, len(data), CHUNK))
    ]
    await session.execute(insert(JobFile.__table__), rows)  # type: ignore[arg-type]


@compiled
def _upload() -> Select[Any]:
    return (
        select(JobFile.data)
        .where(JobFile.job_id == bindparam("job"), JobFile.seq < 0)
        .order_by(JobFile.seq.desc())
    )


async def load_upload(db: Database, job_id: int) -> bytes | None:
    chunks = await db.reader.all(_upload(db), {"job": job_id})
    if not chunks:
        return None
    return b"".join(bytes(chunk) for (chunk,) in chunks)


async def drop_upload(session: AsyncSession, job_id: int) -> None:
    await session.execute(delete(JobFile).where(JobFile.job_id == job_id, JobFile.seq < 0))
