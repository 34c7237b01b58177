"""Export queries: one statement per export, streamed from the raw read path in batches.

The student list is the students repository's own filtered statement (the same scope, filters
and sort as GET /students). Grades, attendance and enrollments are read here with the names a
spreadsheet needs beside the ids (student, course, section), under the same row scopes as
their own lists: staff and admins their school, a teacher their own sections, a student or
guardian their own (their children's) records.
"""

from collections.abc import AsyncGenerator
from typing import Any

from sqlalchemy import Boolean, Date, Float, Integer, Select, bindparam, select
from sqlalchemy.sql.elements import ColumnElement

from homeroom.exports.schemas import (
    AttendanceExport,
    EnrollmentsExport,
    GradesExport,
    StudentsExport,
)
from homeroom.exports.writers import Column, Kind
from homeroom.kit.db import CompiledQuery, Database, Row
from homeroom.kit.pagination import count_statement
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter, student_filter
from homeroom.models import (
    Assessment,
    AssessmentCategory,
    AttendanceRecord,
    AttendanceSession,
    Course,
    Enrollment,
    Grade,
    Section,
    Student,
    Term,
)
from homeroom.models.base import UTCDateTime
from homeroom.students import repository as student_repository
from homeroom.students.schemas import StudentFilters

BATCH_SIZE = 1000


def columns_of(query: CompiledQuery) -> tuple[Column, ...]:
    """The export columns of a query: its column names, typed from its SQL types."""
    statement: Any = query.statement
    return tuple(Column(c.key or c.name, _kind(c.type)) for c in statement.selected_columns)


def _kind(sql_type: Any) -> Kind:
    if isinstance(sql_type, Boolean):
        return "bool"
    if isinstance(sql_type, Integer):
        return "int"
    if isinstance(sql_type, Float):
        return "float"
    if isinstance(sql_type, UTCDateTime):
        return "datetime"
    if isinstance(sql_type, Date):
        return "date"
    return "text"


async def batches(
    db: Database, query: CompiledQuery, params: dict[str, Any], size: int = BATCH_SIZE
) -> AsyncGenerator[list[Row]]:
    """The query's rows in lists of up to `size`, read as they are needed (one statement;
    SQLite: its own connection in a worker thread, PostgreSQL: a server-side cursor on the
    heavy pool). Closing the iterator early (a client that went away) closes the cursor."""
    rows = db.reader.batches(query, params, size)
    try:
        async for batch in rows:
            yield batch
    finally:
        await rows.aclose()  # type: ignore[attr-defined]


async def count(db: Database, query: CompiledQuery, params: dict[str, Any]) -> int:
    """How many rows `query` gives (for a job's progress)."""
    counter = db.query(("exports.count", query.sql), lambda: _count_of(query), scan=query.scan)
    return int(await db.reader.scalar(counter, params))


def _count_of(query: CompiledQuery) -> Any:
    statement: Any = query.statement
    return count_statement(statement)


# --- students ---------------------------------------------------------------------------------


def students(
    db: Database, kind: ScopeKind, filters: StudentFilters, sort: str, desc: bool
) -> tuple[CompiledQuery, dict[str, Any]]:
    return student_repository.export_query(db, kind, filters, sort, desc)


def students_filters(request: StudentsExport) -> StudentFilters:
    return StudentFilters.model_validate(
        request.model_dump(include=set(StudentFilters.model_fields))
    )


# --- grades -----------------------------------------------------------------------------------

_STUDENT = (
    Student.student_number,
    Student.last_name,
    Student.first_name,
)
_SECTION = (
    Term.name.label("term"),
    Course.code.label("course_code"),
    Course.title.label("course_title"),
    Section.id.label("section_id"),
    Section.name.label("section"),
)

GRADE_COLUMNS = (
    Grade.id,
    Grade.student_id,
    *_STUDENT,
    *_SECTION,
    Grade.assessment_id,
    Assessment.title.label("assessment"),
    AssessmentCategory.name.label("category"),
    Assessment.due_date,
    Assessment.max_points,
    Grade.score,
    Grade.comment,
    Grade.graded_at,
)


def _grade_scope(kind: ScopeKind) -> list[ColumnElement[bool]]:
    """As GET /grades: a teacher the grades of the sections they teach; a student their own,
    a guardian their children's; staff and admins their school's."""
    conditions = [school_filter(kind, Grade.school_id)]
    if kind == "teacher":
        conditions.append(section_filter(kind, Assessment.section_id))
    elif kind in ("student", "guardian"):
        conditions.append(student_filter(kind, Grade.student_id))
    return conditions


def _grades(kind: ScopeKind, shape: tuple[bool, ...]) -> Select[Any]:
    has_term, has_section, has_student, has_assessment = shape
    stmt = (
        select(*GRADE_COLUMNS)
        .select_from(Grade)
        .join(Assessment, Assessment.id == Grade.assessment_id)
        .join(AssessmentCategory, AssessmentCategory.id == Assessment.category_id)
        .join(Section, Section.id == Assessment.section_id)
        .join(Course, Course.id == Section.course_id)
        .join(Term, Term.id == Course.term_id)
        .join(Student, Student.id == Grade.student_id)
        .where(*_grade_scope(kind))
    )
    if has_term:
        stmt = stmt.where(Course.term_id == bindparam("term_id"))
    if has_section:
        stmt = stmt.where(Assessment.section_id == bindparam("section_id"))
    if has_student:
        stmt = stmt.where(Grade.student_id == bindparam("student_id"))
    if has_assessment:
        stmt = stmt.where(Grade.assessment_id == bindparam("assessment_id"))
    return stmt.order_by(Grade.id)


def grades(
    db: Database, kind: ScopeKind, request: GradesExport
) -> tuple[CompiledQuery, dict[str, Any]]:
    params = request.model_dump(include={"term_id", "section_id", "student_id", "assessment_id"})
    names = ("term_id", "section_id", "student_id", "assessment_id")
    shape = tuple(params[n] is not None for n in names)
    query = db.query(("exports.grades", kind, shape), lambda: _grades(kind, shape))
    return query, {k: v for k, v in params.items() if v is not None}


# --- attendance -------------------------------------------------------------------------------

ATTENDANCE_COLUMNS = (
    AttendanceRecord.id,
    AttendanceSession.date,
    AttendanceRecord.student_id,
    *_STUDENT,
    *_SECTION,
    AttendanceRecord.status,
    AttendanceRecord.note,
    AttendanceRecord.recorded_at,
)


def _attendance_scope(kind: ScopeKind) -> list[ColumnElement[bool]]:
    """As GET /attendance: students their own records, guardians their children's, teachers
    their own sections' records, staff and admins their school's."""
    conditions = [school_filter(kind, AttendanceRecord.school_id)]
    if kind in ("student", "guardian"):
        conditions.append(student_filter(kind, AttendanceRecord.student_id))
    elif kind == "teacher":
        conditions.append(section_filter(kind, AttendanceSession.section_id))
    return conditions


_ATTENDANCE_FILTERS = ("term_id", "section_id", "student_id", "date_from", "date_to", "status")


def _attendance(kind: ScopeKind, shape: tuple[bool, ...]) -> Select[Any]:
    present = dict(zip(_ATTENDANCE_FILTERS, shape, strict=True))
    stmt = (
        select(*ATTENDANCE_COLUMNS)
        .select_from(AttendanceRecord)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .join(Section, Section.id == AttendanceSession.section_id)
        .join(Course, Course.id == Section.course_id)
        .join(Term, Term.id == Course.term_id)
        .join(Student, Student.id == AttendanceRecord.student_id)
        .where(*_attendance_scope(kind))
    )
    if present["term_id"]:
        stmt = stmt.where(Course.term_id == bindparam("term_id"))
    if present["section_id"]:
        stmt = stmt.where(AttendanceSession.section_id == bindparam("section_id"))
    if present["student_id"]:
        stmt = stmt.where(AttendanceRecord.student_id == bindparam("student_id"))
    if present["date_from"]:
        stmt = stmt.where(AttendanceSession.date >= bindparam("date_from", type_=Date))
    if present["date_to"]:
        stmt = stmt.where(AttendanceSession.date <= bindparam("date_to", type_=Date))
    if present["status"]:
        stmt = stmt.where(AttendanceRecord.status == bindparam("status"))
    return stmt.order_by(AttendanceRecord.id)


def attendance(
    db: Database, kind: ScopeKind, request: AttendanceExport
) -> tuple[CompiledQuery, dict[str, Any]]:
    params = request.model_dump(include=set(_ATTENDANCE_FILTERS))
    shape = tuple(params[n] is not None for n in _ATTENDANCE_FILTERS)
    query = db.query(("exports.attendance", kind, shape), lambda: _attendance(kind, shape))
    return query, {k: v for k, v in params.items() if v is not None}


# --- enrollments ------------------------------------------------------------------------------

ENROLLMENT_COLUMNS = (
    Enrollment.id,
    Enrollment.student_id,
    *_STUDENT,
    *_SECTION,
    Enrollment.status,
    Enrollment.enrolled_at,
)


def _enrollment_scope(kind: ScopeKind) -> list[ColumnElement[bool]]:
    """As GET /enrollments: a teacher the enrollments of their own sections; students and
    guardians their own (their children's); staff and admins every one of their school."""
    conditions = [school_filter(kind, Enrollment.school_id)]
    if kind == "teacher":
        conditions.append(section_filter(kind, Enrollment.section_id))
    elif kind in ("student", "guardian"):
        conditions.append(student_filter(kind, Enrollment.student_id))
    return conditions


_ENROLLMENT_FILTERS = ("term_id", "section_id", "student_id", "status")


def _enrollments(kind: ScopeKind, shape: tuple[bool, ...]) -> Select[Any]:
    present = dict(zip(_ENROLLMENT_FILTERS, shape, strict=True))
    stmt = (
        select(*ENROLLMENT_COLUMNS)
        .select_from(Enrollment)
        .join(Section, Section.id == Enrollment.section_id)
        .join(Course, Course.id == Section.course_id)
        .join(Term, Term.id == Course.term_id)
        .join(Student, Student.id == Enrollment.student_id)
        .where(*_enrollment_scope(kind))
    )
    if present["term_id"]:
        stmt = stmt.where(Course.term_id == bindparam("term_id"))
    if present["section_id"]:
        stmt = stmt.where(Enrollment.section_id == bindparam("section_id"))
    if present["student_id"]:
        stmt = stmt.where(Enrollment.student_id == bindparam("student_id"))
    if present["status"]:
        stmt = stmt.where(Enrollment.status == bindparam("status"))
    return stmt.order_by(Enrollment.id)


def enrollments(
    db: Database, kind: ScopeKind, request: EnrollmentsExport
) -> tuple[CompiledQuery, dict[str, Any]]:
    params = request.model_dump(include=set(_ENROLLMENT_FILTERS))
    shape = tuple(params[n] is not None for n in _ENROLLMENT_FILTERS)
    query = db.query(("exports.enrollments", kind, shape), lambda: _enrollments(kind, shape))
    return query, {k: v for k, v in params.items() if v is not None}
