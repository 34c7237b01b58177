"""Every term query. Reads compile once per shape and run on the raw read path."""

from typing import Any

from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import CompiledQuery, Database, Reader, Row
from homeroom.kit.pagination import PagePlan, Sorting, SortKey, count_statement, page_statement
from homeroom.kit.scopes import ScopeKind, school_filter
from homeroom.kit.writes import Resource
from homeroom.models import Course, Term

COLUMNS = (
    Term.id,
    Term.school_id,
    Term.name,
    Term.start_date,
    Term.end_date,
    Term.created_at,
    Term.updated_at,
)
FIELDS = tuple(c.key for c in COLUMNS)
_POS = {name: i for i, name in enumerate(FIELDS)}

SORTING = Sorting(
    keys={name: SortKey(getattr(Term, name), _POS[name]) for name in ("start_date", "name", "id")},
    default="start_date",
    id_column=Term.id,
)


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row, strict=True))


def _scoped(kind: ScopeKind) -> Select[Any]:
    return select(*COLUMNS).where(school_filter(kind, Term.school_id))


async def list_page(
    db: Database, kind: ScopeKind, scope: dict[str, Any], plan: PagePlan
) -> tuple[list[Row], int]:
    page_q = db.query(
        ("terms.page", kind, plan.shape), lambda: page_statement(_scoped(kind), SORTING, plan)
    )
    rows = await db.reader.all(page_q, {**scope, **plan.params()})
    total = plan.known_total(rows)
    if total is not None:
        return rows, total
    count_q = db.query(("terms.count", kind), lambda: count_statement(_scoped(kind)))
    return rows, int(await db.reader.scalar(count_q, scope))


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One term in the caller's scope, by the parameter `id` (GET /terms/{id})."""
    return db.query(("terms.get", kind), lambda: _scoped(kind).where(Term.id == bindparam("id")))


RESOURCE = Resource("term", Term, get_query, FIELDS, to_item, returning=COLUMNS)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], term_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": term_id})


async def name_taken(
    session: AsyncSession, school_id: int, name: str, exclude_id: int | None = None
) -> bool:
    stmt = select(Term.id).where(Term.school_id == school_id, Term.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Term.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def has_courses(session: AsyncSession, term_id: int) -> bool:
    return bool(await session.scalar(select(exists().where(Course.term_id == term_id))))
