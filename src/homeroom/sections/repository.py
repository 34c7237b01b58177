"""Every section query. Reads compile once per shape and run on the raw read path.

A section row carries its course's code and title, its teacher's name and its enrolled count,
joined and counted in the same statement so a page of any size is one query.
"""

from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import Database, Row, compiled
from homeroom.kit.pagination import (
    PagePlan,
    PageShape,
    Sorting,
    SortKey,
    count_statement,
    page_statement,
)
from homeroom.kit.records import Listing, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter, student_filter
from homeroom.models import (
    AnalyticsSection,
    Course,
    Enrollment,
    Section,
    Student,
    Teacher,
    Term,
)
from homeroom.sections.schemas import RosterFilters, SectionFilters, SectionRead

# The representation's fields that are not the section's own columns: joined or kept by
# triggers, in the same statement.
_JOINED: dict[str, Any] = {
    "term_id": Course.term_id,
    "course_code": Course.code.label("course_code"),
    "course_title": Course.title.label("course_title"),
    "teacher_name": (Teacher.first_name + " " + Teacher.last_name).label("teacher_name"),
    # Kept by the analytics triggers (migration 0004) in the same transaction as every
    # enrollment write: one row by key instead of counting the section's enrollments.
    "enrolled_count": AnalyticsSection.enrolled.label("enrolled_count"),
}
# In SectionRead's order (the order GET encodes them).
COLUMNS: tuple[Any, ...] = tuple(
    _JOINED[name] if name in _JOINED else getattr(Section, name)
    for name in SectionRead.model_fields
)
_POS = {column.key: i for i, column in enumerate(COLUMNS)}

# The course code is a joined column, ordered by its own expression (not its label).
SORTING = Sorting(
    keys={
        "course_code": SortKey(Course.code, _POS["course_code"]),
        "name": SortKey(Section.name, _POS["name"]),
        "id": SortKey(Section.id, _POS["id"]),
    },
    default="course_code",
    id_column=Section.id,
)


def _scoped(kind: ScopeKind) -> Select[Any]:
    return (
        select(*COLUMNS)
        .select_from(Section)
        .join(Course, Course.id == Section.course_id)
        .join(AnalyticsSection, AnalyticsSection.section_id == Section.id)
        .outerjoin(Teacher, Teacher.id == Section.teacher_id)
        .where(school_filter(kind, Section.school_id))
        .where(section_filter(kind, Section.id))
    )


# A write can change a joined field (a new teacher, a new name): the row is read again.
RESOURCE = resource("section", Section, _scoped, COLUMNS, returning=())
LISTING = Listing(
    "sections",
    RESOURCE,
    _scoped,
    SORTING,
    SectionFilters,
    filters={
        "course_id": equals(Section.course_id),
        "teacher_id": equals(Section.teacher_id),
        "term_id": equals(Course.term_id),
    },
)


@compiled
def _visible(kind: ScopeKind) -> Select[Any]:
    """The id of one section in the caller's scope, by the parameter `id`."""
    return (
        select(Section.id)
        .where(Section.id == bindparam("id"))
        .where(school_filter(kind, Section.school_id))
        .where(section_filter(kind, Section.id))
    )


async def is_visible(db: Database, kind: ScopeKind, scope: dict[str, Any], section_id: int) -> bool:
    return await db.reader.first(_visible(db, kind), {**scope, "id": section_id}) is not None


# --- roster -------------------------------------------------------------------------------------

ROSTER_COLUMNS: tuple[Any, ...] = (
    Student.id,
    Student.student_number,
    Student.first_name,
    Student.last_name,
    Student.email,
    Student.grade_level,
    Enrollment.id.label("enrollment_id"),
    Enrollment.status,
)
ROSTER_FIELDS = tuple(column.key for column in ROSTER_COLUMNS)
ROSTER_SORTING = Sorting.of(ROSTER_COLUMNS, "last_name", "student_number", "id")


def roster_item(row: Row) -> dict[str, Any]:
    return dict(zip(ROSTER_FIELDS, row, strict=True))


def _roster(has_status: bool) -> Select[Any]:
    stmt = (
        select(*ROSTER_COLUMNS)
        .select_from(Enrollment)
        .join(Student, Student.id == Enrollment.student_id)
        .where(Enrollment.section_id == bindparam("section_id"))
    )
    if has_status:
        stmt = stmt.where(Enrollment.status == bindparam("status"))
    return stmt


@compiled
def _roster_page(has_status: bool, shape: PageShape) -> Select[Any]:
    """A page of a section's roster (the parameter `section_id`), sorted and positioned."""
    return page_statement(_roster(has_status), ROSTER_SORTING, shape)


@compiled
def _roster_count(has_status: bool) -> Select[Any]:
    return count_statement(_roster(has_status))


async def roster_page(
    db: Database, section_id: int, filters: RosterFilters, plan: PagePlan
) -> tuple[list[Row], int]:
    has_status = filters.status is not None
    params: dict[str, Any] = {"section_id": section_id, "status": filters.status}
    rows = await db.reader.all(
        _roster_page(db, has_status, plan.shape), {**params, **plan.params()}
    )
    total = plan.known_total(rows)
    if total is not None:
        return rows, total
    return rows, int(await db.reader.scalar(_roster_count(db, has_status), params))


# --- a student's sections -----------------------------------------------------------------------


class StudentSection(NamedTuple):
    """One of a student's sections (not dropped); every field None on the one row of a
    student with none."""

    section_id: int | None
    section_name: str | None
    course_code: str | None
    course_title: str | None
    credits: float | None
    term_id: int | None
    term_name: str | None
    term_start: Any
    term_end: Any
    teacher_name: str | None
    room: str | None
    meeting_pattern: str | None
    status: str | None


@compiled
def _student_sections(kind: ScopeKind) -> Select[Any]:
    """The student (the parameter `student_id`) in the caller's scope, with each section they
    are enrolled in (outer joins: a visible student without sections is one row of NULLs); a
    teacher's, only the sections they teach (as the student's grades)."""
    section = Section.id == Enrollment.section_id
    if kind == "teacher":
        section = and_(section, Section.teacher_id == bindparam("scope_profile"))
    return (
        select(
            Section.id,
            Section.name,
            Course.code,
            Course.title,
            Course.credits,
            Term.id,
            Term.name,
            Term.start_date,
            Term.end_date,
            (Teacher.first_name + " " + Teacher.last_name).label("teacher_name"),
            Section.room,
            Section.meeting_pattern,
            Enrollment.status,
        )
        .select_from(Student)
        .outerjoin(
            Enrollment,
            and_(Enrollment.student_id == Student.id, Enrollment.status != "dropped"),
        )
        .outerjoin(Section, section)
        .outerjoin(Course, Course.id == Section.course_id)
        .outerjoin(Term, Term.id == Course.term_id)
        .outerjoin(Teacher, Teacher.id == Section.teacher_id)
        .where(Student.id == bindparam("student_id"))
        .where(school_filter(kind, Student.school_id))
        .where(student_filter(kind, Student.id))
        .order_by(Term.start_date.desc(), Term.id.desc(), Course.code, Section.id)
    )


async def student_sections(
    db: Database, kind: ScopeKind, scope: dict[str, Any], student_id: int
) -> list[StudentSection] | None:
    """One statement: the student's sections, latest term first, by course code; None when
    the student is not in the caller's scope."""
    rows = await db.reader.all(_student_sections(db, kind), {**scope, "student_id": student_id})
    if not rows:
        return None
    return [StudentSection._make(row) for row in rows if row[0] is not None]


# --- writes -------------------------------------------------------------------------------------


async def course_school(
    session: AsyncSession, kind: ScopeKind, scope: dict[str, Any], course_id: int
) -> int | None:
    """The school of a course the caller may add sections to, or None."""
    stmt = select(Course.school_id).where(
        Course.id == course_id, school_filter(kind, Course.school_id)
    )
    return (await session.execute(stmt, scope)).scalar()


async def teacher_school(session: AsyncSession, teacher_id: int) -> int | None:
    return (
        await session.execute(select(Teacher.school_id).where(Teacher.id == teacher_id))
    ).scalar()


async def name_taken(
    session: AsyncSession, course_id: int, name: str, exclude_id: int | None = None
) -> bool:
    stmt = select(Section.id).where(Section.course_id == course_id, Section.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Section.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def enrolled_count(session: AsyncSession, section_id: int) -> int:
    stmt = select(func.count()).where(
        Enrollment.section_id == section_id, Enrollment.status == "enrolled"
    )
    return int(await session.scalar(stmt) or 0)


async def has_enrollments(session: AsyncSession, section_id: int) -> bool:
    return bool(await session.scalar(select(exists().where(Enrollment.section_id == section_id))))
