"""Every course query. Reads compile once per shape and run on the raw read path."""

from typing import Any

from sqlalchemy import Select, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.courses.schemas import CourseFilters
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
from homeroom.models import Course, Section, Term

COLUMNS = (
    Course.id,
    Course.school_id,
    Course.term_id,
    Course.code,
    Course.title,
    Course.category,
    Course.credits,
    Course.published,
    Course.description,
    Course.created_at,
    Course.updated_at,
)
FIELDS = tuple(c.key for c in COLUMNS)
_POS = {name: i for i, name in enumerate(FIELDS)}

SORTING = Sorting(
    keys={name: SortKey(getattr(Course, name), _POS[name]) for name in ("code", "title", "id")},
    default="code",
    id_column=Course.id,
)


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row, strict=True))


def _scoped(kind: ScopeKind) -> Select[Any]:
    stmt = select(*COLUMNS).where(school_filter(kind, Course.school_id))
    if kind in ("student", "guardian"):
        stmt = stmt.where(Course.published.is_(True))  # drafts are for the school's staff
    return stmt


def _filtered(kind: ScopeKind, shape: tuple[bool, bool, bool, bool]) -> Select[Any]:
    has_term, has_category, has_published, has_q = shape
    stmt = _scoped(kind)
    if has_term:
        stmt = stmt.where(Course.term_id == bindparam("term_id"))
    if has_category:
        stmt = stmt.where(Course.category == bindparam("category"))
    if has_published:
        stmt = stmt.where(Course.published == bindparam("published"))
    if has_q:
        pattern: Any = bindparam("q")
        stmt = stmt.where(
            or_(
                Course.code.ilike(pattern, escape=LIKE_ESCAPE),
                Course.title.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    return stmt


def _filter_shape(filters: CourseFilters) -> tuple[bool, bool, bool, bool]:
    return (
        filters.term_id is not None,
        filters.category is not None,
        filters.published is not None,
        filters.q is not None,
    )


def _filter_params(filters: CourseFilters) -> dict[str, Any]:
    params: dict[str, Any] = {
        "term_id": filters.term_id,
        "category": filters.category,
        "published": filters.published,
    }
    if filters.q is not None:
        params["q"] = like_pattern(filters.q)
    return {k: v for k, v in params.items() if v is not None}


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: CourseFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    shape = _filter_shape(filters)
    page_q = db.query(
        ("courses.page", kind, shape, plan.shape),
        lambda: page_statement(_filtered(kind, shape), SORTING, plan),
    )
    params = {**scope, **_filter_params(filters)}
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is not None:
        return rows, total
    count_q = db.query(
        ("courses.count", kind, shape), lambda: count_statement(_filtered(kind, shape))
    )
    return rows, int(await db.reader.scalar(count_q, params))


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One course in the caller's scope, by the parameter `id` (GET /courses/{id})."""
    return db.query(
        ("courses.get", kind), lambda: _scoped(kind).where(Course.id == bindparam("id"))
    )


RESOURCE = Resource("course", Course, get_query, FIELDS, to_item, returning=COLUMNS)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], course_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": course_id})


async def term_school(
    session: AsyncSession, kind: ScopeKind, scope: dict[str, Any], term_id: int
) -> int | None:
    """The school of a term the caller may attach courses to, or None."""
    stmt = select(Term.school_id).where(Term.id == term_id, school_filter(kind, Term.school_id))
    return (await session.execute(stmt, scope)).scalar()


async def code_taken(
    session: AsyncSession, term_id: int, code: str, exclude_id: int | None = None
) -> bool:
    stmt = select(Course.id).where(Course.term_id == term_id, Course.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Course.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def has_sections(session: AsyncSession, course_id: int) -> bool:
    return bool(await session.scalar(select(exists().where(Section.course_id == course_id))))
