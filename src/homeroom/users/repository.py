"""Every user (login) query. The password hash is never selected for a response."""

from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.auth.repository import PROFILE_TABLES
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
from homeroom.models import Guardian, School, Student, Teacher, User
from homeroom.users.schemas import UserFilters

Profile = Student | Teacher | Guardian

COLUMNS = (
    User.id,
    User.school_id,
    User.email,
    User.full_name,
    User.role,
    User.is_active,
    User.last_login_at,
    User.created_at,
    User.updated_at,
)
FIELDS = (*(c.key for c in COLUMNS), "profile_id")
_POS = {name: i for i, name in enumerate(FIELDS)}

SORTING = Sorting(
    keys={
        name: SortKey(getattr(User, name), _POS[name])
        for name in ("email", "full_name", "created_at", "id")
    },
    default="email",
    id_column=User.id,
)


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row, strict=True))


def _profile_id() -> Any:
    """The id of the student, teacher or guardian row the login belongs to (unique user_id)."""
    subqueries = [
        select(table.id).where(table.user_id == User.id).correlate(User).scalar_subquery()
        for table in (Student, Teacher, Guardian)
    ]
    return func.coalesce(*subqueries).label("profile_id")


def _scoped(kind: ScopeKind) -> Select[Any]:
    return select(*COLUMNS, _profile_id()).where(school_filter(kind, User.school_id))


def _filtered(kind: ScopeKind, has_q: bool, has_role: bool, has_active: bool) -> Select[Any]:
    stmt = _scoped(kind)
    if has_role:
        stmt = stmt.where(User.role == bindparam("role"))
    if has_active:
        stmt = stmt.where(User.is_active == bindparam("is_active"))
    if has_q:
        pattern: Any = bindparam("q")
        stmt = stmt.where(
            or_(
                User.email.ilike(pattern, escape=LIKE_ESCAPE),
                User.full_name.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    return stmt


def _count_base(kind: ScopeKind, has_q: bool, has_role: bool, has_active: bool) -> Select[Any]:
    # The same filters without the profile subqueries, which a count does not need.
    return _filtered(kind, has_q, has_role, has_active).with_only_columns(User.id)


def _params(scope: dict[str, Any], filters: UserFilters) -> dict[str, Any]:
    params = dict(scope)
    if filters.q is not None:
        params["q"] = like_pattern(filters.q)
    if filters.role is not None:
        params["role"] = filters.role
    if filters.is_active is not None:
        params["is_active"] = filters.is_active
    return params


def _shape(filters: UserFilters) -> tuple[bool, bool, bool]:
    return (filters.q is not None, filters.role is not None, filters.is_active is not None)


async def page(
    db: Database, kind: ScopeKind, scope: dict[str, Any], filters: UserFilters, plan: PagePlan
) -> list[Row]:
    shape = _shape(filters)
    query = db.query(
        ("users.page", kind, shape, plan.shape),
        lambda: page_statement(_filtered(kind, *shape), SORTING, plan),
    )
    return await db.reader.all(query, {**_params(scope, filters), **plan.params()})


async def count(db: Database, kind: ScopeKind, scope: dict[str, Any], filters: UserFilters) -> int:
    """The listing's total: a COUNT over every matching login (a scan of the school's)."""
    shape = _shape(filters)
    query = db.query(
        ("users.count", kind, shape), lambda: count_statement(_count_base(kind, *shape))
    )
    return int(await db.reader.scalar(query, _params(scope, filters)))


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One login in the caller's scope, by the parameter `id` (GET /users/{id})."""
    return db.query(("users.get", kind), lambda: _scoped(kind).where(User.id == bindparam("id")))


# A write of the users table never changes the profile a login belongs to (a profile row
# points at its login; the role of a login with a profile cannot change).
RESOURCE = Resource("user", User, get_query, FIELDS, to_item, returning=COLUMNS)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], user_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": user_id})


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
