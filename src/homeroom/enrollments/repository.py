"""Every enrollment query. Reads compile once per shape and run on the raw read path.

Writes validate a whole batch with one query per referenced table (students, sections with
their seat counts, existing pairs) and insert it with one multi-row INSERT ... RETURNING.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.enrollments.schemas import EnrollmentFilters
from homeroom.kit.db import CompiledQuery, Database, Reader, Row
from homeroom.kit.pagination import PagePlan, Sorting, SortKey, count_statement, page_statement
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter, student_filter
from homeroom.kit.writes import Resource
from homeroom.models import Enrollment, Section, Student

COLUMNS = (
    Enrollment.id,
    Enrollment.school_id,
    Enrollment.student_id,
    Enrollment.section_id,
    Enrollment.status,
    Enrollment.enrolled_at,
)
FIELDS = tuple(c.key for c in COLUMNS)
_POS = {name: i for i, name in enumerate(FIELDS)}

SORTING = Sorting(
    keys={name: SortKey(getattr(Enrollment, name), _POS[name]) for name in ("id", "enrolled_at")},
    default="id",
    id_column=Enrollment.id,
)


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row, strict=True))


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


def _filtered(kind: ScopeKind, shape: tuple[bool, bool, bool]) -> Select[Any]:
    has_student, has_section, has_status = shape
    stmt = _scoped(kind)
    if has_student:
        stmt = stmt.where(Enrollment.student_id == bindparam("student_id"))
    if has_section:
        stmt = stmt.where(Enrollment.section_id == bindparam("section_id"))
    if has_status:
        stmt = stmt.where(Enrollment.status == bindparam("status"))
    return stmt


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: EnrollmentFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    shape = (
        filters.student_id is not None,
        filters.section_id is not None,
        filters.status is not None,
    )
    page_q = db.query(
        ("enrollments.page", kind, shape, plan.shape),
        lambda: page_statement(_filtered(kind, shape), SORTING, plan),
    )
    params = {**scope, **filters.model_dump(exclude_none=True)}
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is not None:
        return rows, total
    count_q = db.query(
        ("enrollments.count", kind, shape), lambda: count_statement(_filtered(kind, shape))
    )
    return rows, int(await db.reader.scalar(count_q, params))


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One enrollment in the caller's scope, by the parameter `id` (GET /enrollments/{id})."""
    return db.query(
        ("enrollments.get", kind),
        lambda: _scoped(kind).where(Enrollment.id == bindparam("id")),
    )


RESOURCE = Resource("enrollment", Enrollment, get_query, FIELDS, to_item, returning=COLUMNS)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], enrollment_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": enrollment_id})


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
    by_pair = {(r[_POS["student_id"]], r[_POS["section_id"]]): tuple(r) for r in result.all()}
    return [by_pair[(row["student_id"], row["section_id"])] for row in rows]
