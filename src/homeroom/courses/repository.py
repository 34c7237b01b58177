"""Every course query. Reads compile once per shape and run on the raw read path."""

from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.courses.schemas import CourseFilters, CourseRead
from homeroom.kit.pagination import Sorting
from homeroom.kit.records import Listing, columns_of, contains, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter
from homeroom.models import Course, Section, Term

COLUMNS = columns_of(Course, CourseRead)
SORTING = Sorting.of(COLUMNS, "code", "title", "id")


def _scoped(kind: ScopeKind) -> Select[Any]:
    stmt = select(*COLUMNS).where(school_filter(kind, Course.school_id))
    if kind in ("student", "guardian"):
        stmt = stmt.where(Course.published.is_(True))  # drafts are for the school's staff
    return stmt


RESOURCE = resource("course", Course, _scoped, COLUMNS)
LISTING = Listing(
    "courses",
    RESOURCE,
    _scoped,
    SORTING,
    CourseFilters,
    filters={
        "term_id": equals(Course.term_id),
        "category": equals(Course.category),
        "published": equals(Course.published),
        "q": contains(Course.code, Course.title),
    },
)


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
