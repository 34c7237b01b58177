"""Every student query. Reads compile once per shape and run on the raw read path."""

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
from homeroom.kit.scopes import ScopeKind, school_filter, student_filter
from homeroom.kit.writes import Resource
from homeroom.models import Student
from homeroom.students.schemas import StudentFilters

COLUMNS = (
    Student.id,
    Student.school_id,
    Student.user_id,
    Student.student_number,
    Student.first_name,
    Student.last_name,
    Student.email,
    Student.date_of_birth,
    Student.grade_level,
    Student.status,
    Student.archived_at,
    Student.created_at,
    Student.updated_at,
)
FIELDS = tuple(c.key for c in COLUMNS)
_POS = {name: i for i, name in enumerate(FIELDS)}

SORTING = Sorting(
    keys={
        name: SortKey(getattr(Student, name), _POS[name])
        for name in ("last_name", "student_number", "grade_level", "created_at", "id")
    },
    default="last_name",
    id_column=Student.id,
)


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row, strict=True))


def _scoped(kind: ScopeKind) -> Select[Any]:
    return (
        select(*COLUMNS)
        .where(school_filter(kind, Student.school_id))
        .where(student_filter(kind, Student.id))
    )


def _filtered(
    kind: ScopeKind, has_q: bool, has_status: bool, has_grade: bool, archived: str
) -> Select[Any]:
    stmt = _scoped(kind)
    if archived == "exclude":
        stmt = stmt.where(Student.archived_at.is_(None))
    elif archived == "only":
        stmt = stmt.where(Student.archived_at.is_not(None))
    if has_status:
        stmt = stmt.where(Student.status == bindparam("status"))
    if has_grade:
        stmt = stmt.where(Student.grade_level == bindparam("grade_level"))
    if has_q:
        pattern: Any = bindparam("q")
        stmt = stmt.where(
            or_(
                Student.first_name.ilike(pattern, escape=LIKE_ESCAPE),
                Student.last_name.ilike(pattern, escape=LIKE_ESCAPE),
                Student.email.ilike(pattern, escape=LIKE_ESCAPE),
                Student.student_number.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    return stmt


def _filter_shape(filters: StudentFilters) -> tuple[bool, bool, bool, str]:
    return (
        filters.q is not None,
        filters.status is not None,
        filters.grade_level is not None,
        filters.archived,
    )


def _filter_params(filters: StudentFilters) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if filters.q is not None:
        params["q"] = like_pattern(filters.q)
    if filters.status is not None:
        params["status"] = filters.status
    if filters.grade_level is not None:
        params["grade_level"] = filters.grade_level
    return params


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: StudentFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    shape = _filter_shape(filters)
    searching = filters.q is not None  # a substring search scans the school's students
    page_q = db.query(
        ("students.page", kind, shape, plan.shape),
        lambda: page_statement(_filtered(kind, *shape), SORTING, plan),
        scan=searching,
    )
    count_q = db.query(
        ("students.count", kind, shape),
        lambda: count_statement(_filtered(kind, *shape)),
        scan=searching,
    )
    params = {**scope, **_filter_params(filters)}
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is None:
        total = int(await db.reader.scalar(count_q, params))
    return rows, total


def export_query(
    db: Database, kind: ScopeKind, filters: StudentFilters, sort: str, desc: bool
) -> tuple[CompiledQuery, dict[str, Any]]:
    """The whole filtered list in `sort` order, unpaged (exports): list_page's scope and
    filters. Returns the query and its filter parameters (add the scope's)."""
    shape = _filter_shape(filters)
    column = SORTING.keys[sort].column
    order = (column.desc(), Student.id.desc()) if desc else (column.asc(), Student.id.asc())
    query = db.query(
        ("students.export", kind, shape, sort, desc),
        lambda: _filtered(kind, *shape).order_by(*order),
    )
    return query, _filter_params(filters)


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One student in the caller's scope, by the parameter `id` (GET /students/{id})."""
    return db.query(
        ("students.get", kind), lambda: _scoped(kind).where(Student.id == bindparam("id"))
    )


RESOURCE = Resource("student", Student, get_query, FIELDS, to_item, returning=COLUMNS)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], student_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": student_id})


async def find_conflict(
    session: AsyncSession,
    school_id: int,
    student_number: str | None,
    email: str | None,
    exclude_id: int | None = None,
) -> str | None:
    """Which unique field (student_number within the school, or email) is already taken."""
    conditions: list[Any] = []
    if student_number is not None:
        conditions.append(
            (Student.school_id == school_id) & (Student.student_number == student_number)
        )
    if email is not None:
        conditions.append(Student.email == email)
    if not conditions:
        return None
    stmt = select(Student.student_number, Student.email, Student.school_id).where(or_(*conditions))
    if exclude_id is not None:
        stmt = stmt.where(Student.id != exclude_id)
    row = (await session.execute(stmt.limit(1))).first()
    if row is None:
        return None
    if email is not None and row.email == email:
        return "email"
    return "student_number"
