"""Every term query. Reads compile once per shape and run on the raw read path."""

from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.pagination import Sorting
from homeroom.kit.records import Listing, columns_of, resource
from homeroom.kit.scopes import ScopeKind, school_filter
from homeroom.models import Course, Term
from homeroom.terms.schemas import TermRead

COLUMNS = columns_of(Term, TermRead)
SORTING = Sorting.of(COLUMNS, "start_date", "name", "id")


def _scoped(kind: ScopeKind) -> Select[Any]:
    return select(*COLUMNS).where(school_filter(kind, Term.school_id))


RESOURCE = resource("term", Term, _scoped, COLUMNS)
LISTING = Listing("terms", RESOURCE, _scoped, SORTING)


async def name_taken(
    session: AsyncSession, school_id: int, name: str, exclude_id: int | None = None
) -> bool:
    stmt = select(Term.id).where(Term.school_id == school_id, Term.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Term.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def has_courses(session: AsyncSession, term_id: int) -> bool:
    return bool(await session.scalar(select(exists().where(Course.term_id == term_id))))
