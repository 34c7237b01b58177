"""Every enrollment query. Reads compile once per shape and run on the raw read path.

Writes validate a whole batch with one query per referenced table (students, sections with
their seat counts, existing pairs) and insert it with one multi-row INSERT ... RETURNING.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.enrollments.schemas import EnrollmentFilters, EnrollmentRead
from homeroom.kit.db import Database, Row, compiled
from homeroom.kit.pagination import Sorting
from homeroom.kit.records import Listing, columns_of, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter, student_filter
from homeroom.models import Course, Enrollment, Section, Student, Teacher, Term

COLUMNS = columns_of(Enrollment, EnrollmentRead)
SORTING = Sorting.of(COLUMNS, "id", "enrolled_at")


def _row_scope(kind: ScopeKind) -> ColumnElement[bool]:
    """A teacher sees the enrollments of their own sections; students and guardians their own
    (their children's); the office every enrollment of the school."""
    if kind == "teacher":
        return section_filter(kind, Enrollment.section_id)
    if kind in ("student", "guardian"):
        return student_filter(kind, Enrollment.student_id)
    return true()


def _scoped(kind: ScopeKind) -> Select[Any]:
    return select(*COLUMNS).where(school_filter(kind, Enrollment.school_id)).where(_row_scope(kind))


RESOURCE = resource("enrollment", Enrollment, _scoped, COLUMNS)
LISTING = Listing(
    "enrollments",
    RESOURCE,
    _scoped,
    SORTING,
    EnrollmentFilters,
    filters={
        "student_id": equals(Enrollment.student_id),
        "section_id": equals(Enrollment.section_id),
        "status": equals(Enrollment.status),
    },
)


# --- batch validation: one statement per referenced table, whatever the batch size ----------


@dataclass(frozen=True, slots=True)
class StudentRef:
    school_id: int
    archived: bool


@dataclass(frozen=True, slots=True)
class SectionRef:
    school_id: int
    capacity: int
    enrolled: int


async def students_by_id(
    session: AsyncSession, kind: ScopeKind, scope: dict[str, Any], ids: Collection[int]
) -> dict[int, StudentRef]:
    """The referenced students the caller may enroll (those of their school)."""
    stmt = select(Student.id, Student.school_id, Student.archived_at).where(
        Student.id.in_(ids), school_filter(kind, Student.school_id)
    )
    rows = (await session.execute(stmt, scope)).all()
    return {r.id: StudentRef(r.school_id, r.archived_at is not None) for r in rows}


async def sections_by_id(
    session: AsyncSession, kind: ScopeKind, scope: dict[str, Any], ids: Collection[int]
) -> dict[int, SectionRef]:
    """The referenced sections with their seats taken, locked until commit on PostgreSQL so
    two concurrent enrollments cannot both take the last seat (SQLite's writer lock, taken at
    BEGIN IMMEDIATE, already serializes them)."""
    enrolled = (
        select(func.count())
        .where(Enrollment.section_id == Section.id, Enrollment.status == "enrolled")
        .correlate(Section)
        .scalar_subquery()
    )
    stmt = (
        select(Section.id, Section.school_id, Section.capacity, enrolled.label("enrolled"))
        .where(Section.id.in_(ids), school_filter(kind, Section.school_id))
        .with_for_update(of=Section)
    )
    rows = (await session.execute(stmt, scope)).all()
    return {r.id: SectionRef(r.school_id, r.capacity, r.enrolled) for r in rows}


async def existing_pairs(
    session: AsyncSession, student_ids: Collection[int], section_ids: Collection[int]
) -> set[tuple[int, int]]:
    """(student_id, section_id) pairs already enrolled, among the given ids."""
    stmt = select(Enrollment.student_id, Enrollment.section_id).where(
        Enrollment.student_id.in_(student_ids), Enrollment.section_id.in_(section_ids)
    )
    return {(r.student_id, r.section_id) for r in (await session.execute(stmt)).all()}


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Row]:
    """One multi-row INSERT ... RETURNING for the whole batch, rows in the given order.

    Not `sort_by_parameter_order=True`: without a sentinel column SQLAlchemy would fall back to
    one INSERT per row on SQLite. The (student_id, section_id) pair is unique within a valid
    batch, so the returned rows are put back in the caller's order by it instead.
    """
    result = await session.execute(insert(Enrollment).returning(*COLUMNS), list(rows))
    by_pair = {(r.student_id, r.section_id): tuple(r) for r in result.all()}
    return [by_pair[(row["student_id"], row["section_id"])] for row in rows]


# --- one student's enrollments, with what a person reads of each section ------------------------


@compiled
def _student_enrollments(kind: ScopeKind) -> Select[Any]:
    """The student's enrollments the caller may see (the list's scope), each with its
    section's course, term and teacher: one statement, newest term first."""
    return (
        _scoped(kind)
        .with_only_columns(
            Enrollment.id,
            Enrollment.section_id,
            Enrollment.status,
            Enrollment.enrolled_at,
            Section.name.label("section_name"),
            Course.code.label("course_code"),
            Course.title.label("course_title"),
            Term.name.label("term_name"),
            Teacher.first_name.label("teacher_first_name"),
            Teacher.last_name.label("teacher_last_name"),
        )
        .join(Section, Section.id == Enrollment.section_id)
        .join(Course, Course.id == Section.course_id)
        .join(Term, Term.id == Course.term_id)
        .outerjoin(Teacher, Teacher.id == Section.teacher_id)
        .where(Enrollment.student_id == bindparam("student_id"))
        .order_by(Term.start_date.desc(), Course.code, Section.name, Enrollment.id)
    )


async def student_enrollments(
    db: Database, kind: ScopeKind, scope: dict[str, Any], student_id: int
) -> list[Row]:
    query = _student_enrollments(db, kind)
    return await db.reader.all(query, {**scope, "student_id": student_id})
