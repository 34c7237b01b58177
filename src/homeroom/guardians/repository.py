"""Every guardian query. Reads compile once per shape and run on the raw read path."""

from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, bindparam, delete, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from homeroom.guardians.schemas import GuardianFilters
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
from homeroom.kit.scopes import ScopeKind, school_filter, student_filter
from homeroom.kit.writes import Resource
from homeroom.models import Guardian, Student, StudentGuardian

COLUMNS = (
    Guardian.id,
    Guardian.school_id,
    Guardian.user_id,
    Guardian.first_name,
    Guardian.last_name,
    Guardian.email,
    Guardian.phone,
    Guardian.created_at,
    Guardian.updated_at,
)
FIELDS = (*(c.key for c in COLUMNS), "student_ids")
_POS = {name: i for i, name in enumerate(FIELDS)}

SORTING = Sorting(
    keys={
        name: SortKey(getattr(Guardian, name), _POS[name])
        for name in ("last_name", "email", "created_at", "id")
    },
    default="last_name",
    id_column=Guardian.id,
)


def _student_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return sorted(int(v) for v in value if v is not None)


def to_item(row: Row) -> dict[str, Any]:
    item = dict(zip(FIELDS, row, strict=True))
    item["student_ids"] = _student_ids(item["student_ids"])
    return item


def guardian_filter(kind: ScopeKind, guardian_col: Any) -> ColumnElement[bool]:
    """Guardians the caller may see: staff and admins their school's (with `school_filter`),
    a teacher those of their sections' students, a student their own, a guardian themself."""
    if kind == "guardian":
        result: ColumnElement[bool] = guardian_col == bindparam("scope_profile")
        return result
    if kind in ("teacher", "student"):
        linked = select(StudentGuardian.guardian_id).where(
            student_filter(kind, StudentGuardian.student_id)
        )
        return guardian_col.in_(linked)  # type: ignore[no-any-return]
    return true()


def _children(kind: ScopeKind, is_sqlite: bool) -> Any:
    """The guardian's children the caller may see, aggregated in one correlated subquery."""
    link = aliased(StudentGuardian)
    agg = func.json_group_array(link.student_id) if is_sqlite else func.array_agg(link.student_id)
    return (
        select(agg)
        .where(link.guardian_id == Guardian.id)
        .where(student_filter(kind, link.student_id))
        .correlate(Guardian)
        .scalar_subquery()
        .label("student_ids")
    )


def _scoped(kind: ScopeKind, is_sqlite: bool) -> Select[Any]:
    return (
        select(*COLUMNS, _children(kind, is_sqlite))
        .where(school_filter(kind, Guardian.school_id))
        .where(guardian_filter(kind, Guardian.id))
    )


def _search() -> ColumnElement[bool]:
    pattern: Any = bindparam("q")
    escape = LIKE_ESCAPE
    return or_(
        Guardian.first_name.ilike(pattern, escape=escape),
        Guardian.last_name.ilike(pattern, escape=escape),
        Guardian.email.ilike(pattern, escape=escape),
    )


def _filtered(kind: ScopeKind, is_sqlite: bool, has_q: bool) -> Select[Any]:
    stmt = _scoped(kind, is_sqlite)
    if has_q:
        stmt = stmt.where(_search())
    return stmt


def _count_base(kind: ScopeKind, has_q: bool) -> Select[Any]:
    stmt = (
        select(Guardian.id)
        .where(school_filter(kind, Guardian.school_id))
        .where(guardian_filter(kind, Guardian.id))
    )
    if has_q:
        stmt = stmt.where(_search())
    return stmt


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: GuardianFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    has_q = filters.q is not None
    sqlite = db.is_sqlite
    page_q = db.query(
        ("guardians.page", kind, has_q, plan.shape),
        lambda: page_statement(_filtered(kind, sqlite, has_q), SORTING, plan),
    )
    count_q = db.query(
        ("guardians.count", kind, has_q), lambda: count_statement(_count_base(kind, has_q))
    )
    params = dict(scope)
    if filters.q is not None:
        params["q"] = like_pattern(filters.q)
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is None:
        total = int(await db.reader.scalar(count_q, params))
    return rows, total


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One guardian in the caller's scope, by the parameter `id` (GET /guardians/{id})."""
    sqlite = db.is_sqlite
    return db.query(
        ("guardians.get", kind),
        lambda: _scoped(kind, sqlite).where(Guardian.id == bindparam("id")),
    )


# A write of the guardians table never changes their children (links are rows of their own).
RESOURCE = Resource("guardian", Guardian, get_query, FIELDS, to_item, returning=COLUMNS)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], guardian_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": guardian_id})


async def email_taken(session: AsyncSession, email: str, exclude_id: int | None = None) -> bool:
    stmt = select(Guardian.id).where(Guardian.email == email)
    if exclude_id is not None:
        stmt = stmt.where(Guardian.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def student_for_link(
    session: AsyncSession,
    kind: ScopeKind,
    scope: dict[str, Any],
    student_id: int,
    guardian_id: int,
) -> tuple[int, bool] | None:
    """(school_id, already linked) of a student the caller may see, else None."""
    linked = (
        select(StudentGuardian.student_id)
        .where(StudentGuardian.student_id == Student.id)
        .where(StudentGuardian.guardian_id == guardian_id)
        .exists()
    )
    stmt = (
        select(Student.school_id, linked)
        .where(Student.id == student_id)
        .where(school_filter(kind, Student.school_id))
        .where(student_filter(kind, Student.id))
    )
    row = (await session.execute(stmt, scope)).first()
    if row is None:
        return None
    school_id, already_linked = row
    return int(school_id), bool(already_linked)


def add_link(session: AsyncSession, guardian_id: int, student_id: int, relationship: str) -> None:
    session.add(
        StudentGuardian(student_id=student_id, guardian_id=guardian_id, relationship=relationship)
    )


async def remove_link(session: AsyncSession, guardian_id: int, student_id: int) -> bool:
    result: Any = await session.execute(
        delete(StudentGuardian).where(
            StudentGuardian.guardian_id == guardian_id, StudentGuardian.student_id == student_id
        )
    )
    return bool(result.rowcount)
