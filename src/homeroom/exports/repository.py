"""Export queries: one statement per export, streamed from the raw read path in batches.

The student list is the students repository's own filtered statement (the same scope, filters
and sort as GET /students). Grades, attendance and enrollments are read here with the names a
spreadsheet needs beside the ids (student, course, section), under the same row scopes as
their own lists: staff and admins their school, a teacher their own sections, a student or
guardian their own (their children's) records.
"""

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Boolean, Date, Float, Integer, Select, select

from homeroom.exports.schemas import StudentsExport
from homeroom.exports.writers import Column, Kind
from homeroom.kit.db import CompiledQuery, Database, Row, compiled
from homeroom.kit.pagination import SqlColumn, count_statement
from homeroom.kit.records import Filter, at_least, at_most, equals
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
    # Compiled once per counted statement: the key is this builder and the counted SQL (an
    # export's query is itself compiled once per shape), and a count of a scan is a scan.
    counter = db.query((_count_of, query.sql), lambda: _count_of(query), scan=query.scan)
    return int(await db.reader.scalar(counter, params))


def _count_of(query: CompiledQuery) -> Select[Any]:
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


# --- grades, attendance, enrollments: one statement builder ------------------------------------
# Each is a kind of record of a student in a section, read with the names a spreadsheet needs
# (student, course, section) under the same row scope as its own list (GET /grades,
# /attendance, /enrollments): a teacher the records of the sections they teach; a student
# their own, a guardian their children's; staff and admins their school's.


@dataclass(frozen=True, eq=False)
class Rows:
    """The rows of one kind of export (hashed by identity: its statements are compiled once
    per caller's scope kind and filters present, under the `Rows` itself)."""

    columns: tuple[SqlColumn, ...]  # what the spreadsheet shows
    record: Any  # the records' table (its `id` orders them, its `school_id` scopes them)
    joins: tuple[tuple[Any, Any], ...]  # (table, on) from the record to its section
    section_id: SqlColumn  # the record's section
    student_id: SqlColumn  # the record's student
    # The filters a request may carry, by field name, in the order they apply.
    filters: Mapping[str, Filter]

    def scoped(self, kind: ScopeKind) -> Select[Any]:
        """Every record the caller may see, with its student's and section's names."""
        stmt = select(*self.columns).select_from(self.record)
        for table, on in self.joins:
            stmt = stmt.join(table, on)
        stmt = (
            stmt.join(Section, Section.id == self.section_id)
            .join(Course, Course.id == Section.course_id)
            .join(Term, Term.id == Course.term_id)
            .join(Student, Student.id == self.student_id)
            .where(school_filter(kind, self.record.school_id))
        )
        if kind == "teacher":
            stmt = stmt.where(section_filter(kind, self.section_id))
        elif kind in ("student", "guardian"):
            stmt = stmt.where(student_filter(kind, self.student_id))
        return stmt


@compiled
def _rows(rows: Rows, kind: ScopeKind, present: tuple[str, ...]) -> Select[Any]:
    stmt = rows.scoped(kind)
    for name in present:
        stmt = stmt.where(rows.filters[name].condition(name))
    return stmt.order_by(rows.record.id)


def rows_query(
    db: Database, rows: Rows, kind: ScopeKind, request: BaseModel
) -> tuple[CompiledQuery, dict[str, Any]]:
    """The export's query for the caller's scope kind and the request's filters, and the
    filters' parameters (add the scope's)."""
    values = request.model_dump(include=set(rows.filters))
    params = {name: values[name] for name in rows.filters if values[name] is not None}
    return _rows(db, rows, kind, tuple(params)), params


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

GRADES = Rows(
    (
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
    ),
    Grade,
    (
        (Assessment, Assessment.id == Grade.assessment_id),
        (AssessmentCategory, AssessmentCategory.id == Assessment.category_id),
    ),
    Assessment.section_id,
    Grade.student_id,
    {
        "term_id": equals(Course.term_id),
        "section_id": equals(Assessment.section_id),
        "student_id": equals(Grade.student_id),
        "assessment_id": equals(Grade.assessment_id),
    },
)

ATTENDANCE = Rows(
    (
        AttendanceRecord.id,
        AttendanceSession.date,
        AttendanceRecord.student_id,
        *_STUDENT,
        *_SECTION,
        AttendanceRecord.status,
        AttendanceRecord.note,
        AttendanceRecord.recorded_at,
    ),
    AttendanceRecord,
    ((AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id),),
    AttendanceSession.section_id,
    AttendanceRecord.student_id,
    {
        "term_id": equals(Course.term_id),
        "section_id": equals(AttendanceSession.section_id),
        "student_id": equals(AttendanceRecord.student_id),
        "date_from": at_least(AttendanceSession.date),
        "date_to": at_most(AttendanceSession.date),
        "status": equals(AttendanceRecord.status),
    },
)

ENROLLMENTS = Rows(
    (
        Enrollment.id,
        Enrollment.student_id,
        *_STUDENT,
        *_SECTION,
        Enrollment.status,
        Enrollment.enrolled_at,
    ),
    Enrollment,
    (),
    Enrollment.section_id,
    Enrollment.student_id,
    {
        "term_id": equals(Course.term_id),
        "section_id": equals(Enrollment.section_id),
        "student_id": equals(Enrollment.student_id),
        "status": equals(Enrollment.status),
    },
)

# The export kinds read by `rows_query` (students: the students repository's own list).
ROWS = {"grades": GRADES, "attendance": ATTENDANCE, "enrollments": ENROLLMENTS}
