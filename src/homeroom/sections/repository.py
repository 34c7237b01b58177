"""Every section query. Reads compile once per shape and run on the raw read path.

A section row carries its course's code and title, its teacher's name and its enrolled count,
joined and counted in the same statement so a page of any size is one query.
"""

from typing import Any

from sqlalchemy import Select, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import CompiledQuery, Database, Reader, Row
from homeroom.kit.pagination import PagePlan, Sorting, SortKey, count_statement, page_statement
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter
from homeroom.kit.writes import Resource
from homeroom.models import AnalyticsSection, Course, Enrollment, Section, Student, Teacher
from homeroom.sections.schemas import RosterFilters, SectionFilters

COLUMNS: tuple[Any, ...] = (
    Section.id,
    Section.school_id,
    Section.course_id,
    Course.term_id,
    Section.teacher_id,
    Section.name,
    Section.room,
    Section.meeting_pattern,
    Section.capacity,
    Course.code.label("course_code"),
    Course.title.label("course_title"),
    (Teacher.first_name + " " + Teacher.last_name).label("teacher_name"),
    # Kept by the analytics triggers (migration 0004) in the same transaction as every
    # enrollment write: one row by key instead of counting the section's enrollments.
    AnalyticsSection.enrolled.label("enrolled_count"),
    Section.created_at,
    Section.updated_at,
)
FIELDS = (
    "id",
    "school_id",
    "course_id",
    "term_id",
    "teacher_id",
    "name",
    "room",
    "meeting_pattern",
    "capacity",
    "course_code",
    "course_title",
    "teacher_name",
    "enrolled_count",
    "created_at",
    "updated_at",
)
_POS = {name: i for i, name in enumerate(FIELDS)}

SORTING = Sorting(
    keys={
        "course_code": SortKey(Course.code, _POS["course_code"]),
        "name": SortKey(Section.name, _POS["name"]),
        "id": SortKey(Section.id, _POS["id"]),
    },
    default="course_code",
    id_column=Section.id,
)


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row, strict=True))


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


def _filtered(kind: ScopeKind, shape: tuple[bool, bool, bool]) -> Select[Any]:
    has_course, has_teacher, has_term = shape
    stmt = _scoped(kind)
    if has_course:
        stmt = stmt.where(Section.course_id == bindparam("course_id"))
    if has_teacher:
        stmt = stmt.where(Section.teacher_id == bindparam("teacher_id"))
    if has_term:
        stmt = stmt.where(Course.term_id == bindparam("term_id"))
    return stmt


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: SectionFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    values = filters.model_dump(exclude_none=True)
    shape = (
        filters.course_id is not None,
        filters.teacher_id is not None,
        filters.term_id is not None,
    )
    page_q = db.query(
        ("sections.page", kind, shape, plan.shape),
        lambda: page_statement(_filtered(kind, shape), SORTING, plan),
    )
    params = {**scope, **values}
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is not None:
        return rows, total
    count_q = db.query(
        ("sections.count", kind, shape), lambda: count_statement(_filtered(kind, shape))
    )
    return rows, int(await db.reader.scalar(count_q, params))


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One section in the caller's scope, by the parameter `id` (GET /sections/{id})."""
    return db.query(
        ("sections.get", kind), lambda: _scoped(kind).where(Section.id == bindparam("id"))
    )


# A write can change a joined field (a new teacher, a new name): the row is read again.
RESOURCE = Resource("section", Section, get_query, FIELDS, to_item)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], section_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": section_id})


async def is_visible(db: Database, kind: ScopeKind, scope: dict[str, Any], section_id: int) -> bool:
    def build() -> Select[Any]:
        return (
            select(Section.id)
            .where(Section.id == bindparam("id"))
            .where(school_filter(kind, Section.school_id))
            .where(section_filter(kind, Section.id))
        )

    query = db.query(("sections.visible", kind), build)
    return await db.reader.first(query, {**scope, "id": section_id}) is not None


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
ROSTER_FIELDS = (
    "id",
    "student_number",
    "first_name",
    "last_name",
    "email",
    "grade_level",
    "enrollment_id",
    "status",
)
_ROSTER_POS = {name: i for i, name in enumerate(ROSTER_FIELDS)}

ROSTER_SORTING = Sorting(
    keys={
        name: SortKey(getattr(Student, name), _ROSTER_POS[name])
        for name in ("last_name", "student_number", "id")
    },
    default="last_name",
    id_column=Student.id,
)


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


async def roster_page(
    db: Database, section_id: int, filters: RosterFilters, plan: PagePlan
) -> tuple[list[Row], int]:
    has_status = filters.status is not None
    page_q = db.query(
        ("sections.roster", has_status, plan.shape),
        lambda: page_statement(_roster(has_status), ROSTER_SORTING, plan),
    )
    params: dict[str, Any] = {"section_id": section_id, "status": filters.status}
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is not None:
        return rows, total
    count_q = db.query(
        ("sections.roster_count", has_status), lambda: count_statement(_roster(has_status))
    )
    return rows, int(await db.reader.scalar(count_q, params))


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
