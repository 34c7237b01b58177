"""Every user (login) query. The password hash is never selected for a response."""

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.auth.repository import PROFILE_TABLES
from homeroom.kit.db import Database, Row, compiled
from homeroom.kit.pagination import PagePlan, PageShape, Sorting, count_statement, page_statement
from homeroom.kit.records import Listing, columns_of, contains, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter
from homeroom.models import Guardian, School, Student, Teacher, User
from homeroom.users.schemas import UserFilters, UserRead

Profile = Student | Teacher | Guardian

COLUMNS = columns_of(User, UserRead)
SORTING = Sorting.of(COLUMNS, "email", "full_name", "created_at", "id")


def _profile_id() -> Any:
    """The id of the student, teacher or guardian row the login belongs to (unique user_id)."""
    subqueries = [
        select(table.id).where(table.user_id == User.id).correlate(User).scalar_subquery()
        for table in (Student, Teacher, Guardian)
    ]
    return func.coalesce(*subqueries).label("profile_id")


def _scoped(kind: ScopeKind) -> Select[Any]:
    return select(*COLUMNS, _profile_id()).where(school_filter(kind, User.school_id))


# A write of the users table never changes the profile a login belongs to (a profile row
# points at its login; the role of a login with a profile cannot change).
RESOURCE = resource("user", User, _scoped, COLUMNS, computed=("profile_id",))
LISTING = Listing(
    "users",
    RESOURCE,
    _scoped,
    SORTING,
    UserFilters,
    filters={
        "role": equals(User.role),
        "is_active": equals(User.is_active),
        "q": contains(User.email, User.full_name),
    },
)


@compiled
def _page(kind: ScopeKind, present: tuple[str, ...], shape: PageShape) -> Select[Any]:
    return page_statement(LISTING.statement(kind, present), SORTING, shape)


@compiled
def _count(kind: ScopeKind, present: tuple[str, ...]) -> Select[Any]:
    # The id alone: the same filters without the profile subqueries, which a count does not
    # need.
    return count_statement(LISTING.statement(kind, present).with_only_columns(User.id))


async def page(
    db: Database, kind: ScopeKind, scope: dict[str, Any], filters: UserFilters, plan: PagePlan
) -> list[Row]:
    """The listing's page (the total is the service's: from the response cache)."""
    present, params = LISTING.bound(filters)
    query = _page(db, kind, present, plan.shape)
    return await db.reader.all(query, {**scope, **params, **plan.params()})


async def count(db: Database, kind: ScopeKind, scope: dict[str, Any], filters: UserFilters) -> int:
    """The listing's total: a COUNT over every matching login (a scan of the school's)."""
    present, params = LISTING.bound(filters)
    return int(await db.reader.scalar(_count(db, kind, present), {**scope, **params}))


async def email_taken(session: AsyncSession, email: str) -> bool:
    stmt = select(User.id).where(User.email == email).limit(1)
    return (await session.execute(stmt)).first() is not None


def add(session: AsyncSession, user: User) -> None:
    """A new login, inserted at the session's next flush."""
    session.add(user)


async def school_exists(session: AsyncSession, school_id: int) -> bool:
    stmt = select(School.id).where(School.id == school_id)
    return (await session.execute(stmt)).first() is not None


async def load_profile(
    session: AsyncSession, role: str, profile_id: int, school_id: int | None
) -> Profile | None:
    """The student/teacher/guardian row for a role, when it exists in the school."""
    table = PROFILE_TABLES[role]
    stmt = select(table).where(table.id == profile_id, table.school_id == school_id)
    found: Any = (await session.execute(stmt)).scalar_one_or_none()
    profile: Profile | None = found
    return profile
