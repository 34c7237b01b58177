"""Every teacher query. Reads compile once per shape and run on the raw read path."""

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.pagination import Sorting
from homeroom.kit.records import Listing, columns_of, contains, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter
from homeroom.models import Section, Teacher
from homeroom.teachers.schemas import TeacherFilters, TeacherRead

COLUMNS = columns_of(Teacher, TeacherRead)
SORTING = Sorting.of(COLUMNS, "last_name", "id")


def _scoped(kind: ScopeKind) -> Select[Any]:
    # Every role of a school may read its teachers (the catalogue shows who teaches what).
    return select(*COLUMNS).where(school_filter(kind, Teacher.school_id))


RESOURCE = resource("teacher", Teacher, _scoped, COLUMNS)
LISTING = Listing(
    "teachers",
    RESOURCE,
    _scoped,
    SORTING,
    TeacherFilters,
    filters={
        "department": equals(Teacher.department),
        "q": contains(Teacher.first_name, Teacher.last_name, Teacher.email),
    },
)


async def email_taken(session: AsyncSession, email: str, exclude_id: int | None = None) -> bool:
    stmt = select(Teacher.id).where(Teacher.email == email)
    if exclude_id is not None:
        stmt = stmt.where(Teacher.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def has_sections(session: AsyncSession, teacher_id: int) -> bool:
    stmt = select(Section.id).where(Section.teacher_id == teacher_id).limit(1)
    return (await session.execute(stmt)).first() is not None
