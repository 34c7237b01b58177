"""Every teacher query. Reads compile once per shape and run on the raw read path."""

from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import CompiledQuery, Database, Reader, Row
from homeroom.kit.pagination import (
    LIKE_ESCAPE,
    PagePlan,
    Sorting,
    SortKey,
    count_statement,
    like_pattern,
    page_statement,
)
from homeroom.kit.scopes import ScopeKind, school_filter
from homeroom.kit.writes import Resource
from homeroom.models import Section, Teacher
from homeroom.teachers.schemas import TeacherFilters

COLUMNS = (
    Teacher.id,
    Teacher.school_id,
    Teacher.user_id,
    Teacher.first_name,
    Teacher.last_name,
    Teacher.email,
    Teacher.department,
    Teacher.created_at,
    Teacher.updated_at,
)
FIELDS = tuple(c.key for c in COLUMNS)
_POS = {name: i for i, name in enumerate(FIELDS)}

SORTING = Sorting(
    keys={name: SortKey(getattr(Teacher, name), _POS[name]) for name in ("last_name", "id")},
    default="last_name",
    id_column=Teacher.id,
)


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row, strict=True))


def _scoped(kind: ScopeKind) -> Select[Any]:
    # Every role of a school may read its teachers (the catalogue shows who teaches what).
    return select(*COLUMNS).where(school_filter(kind, Teacher.school_id))


def _filtered(kind: ScopeKind, has_q: bool, has_department: bool) -> Select[Any]:
    stmt = _scoped(kind)
    if has_department:
        stmt = stmt.where(Teacher.department == bindparam("department"))
    if has_q:
        pattern: Any = bindparam("q")
        stmt = stmt.where(
            or_(
                Teacher.first_name.ilike(pattern, escape=LIKE_ESCAPE),
                Teacher.last_name.ilike(pattern, escape=LIKE_ESCAPE),
                Teacher.email.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    return stmt


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: TeacherFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    shape = (filters.q is not None, filters.department is not None)
    page_q = db.query(
        ("teachers.page", kind, shape, plan.shape),
        lambda: page_statement(_filtered(kind, *shape), SORTING, plan),
    )
    count_q = db.query(
        ("teachers.count", kind, shape), lambda: count_statement(_filtered(kind, *shape))
    )
    params = dict(scope)
    if filters.q is not None:
        params["q"] = like_pattern(filters.q)
    if filters.department is not None:
        params["department"] = filters.department
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is None:
        total = int(await db.reader.scalar(count_q, params))
    return rows, total


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One teacher in the caller's scope, by the parameter `id` (GET /teachers/{id})."""
    return db.query(
        ("teachers.get", kind), lambda: _scoped(kind).where(Teacher.id == bindparam("id"))
    )


RESOURCE = Resource("teacher", Teacher, get_query, FIELDS, to_item, returning=COLUMNS)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], teacher_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": teacher_id})


async def email_taken(session: AsyncSession, email: str, exclude_id: int | None = None) -> bool:
    stmt = select(Teacher.id).where(Teacher.email == email)
    if exclude_id is not None:
        stmt = stmt.where(Teacher.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def has_sections(session: AsyncSession, teacher_id: int) -> bool:
    stmt = select(Section.id).where(Section.teacher_id == teacher_id).limit(1)
    return (await session.execute(stmt)).first() is not None
