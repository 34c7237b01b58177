"""Every guardian query. Reads compile once per shape and run on the raw read path."""

from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, bindparam, delete, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from homeroom.guardians.schemas import GuardianFilters, GuardianRead
from homeroom.kit.db import Database, Row, compiled
from homeroom.kit.pagination import Sorting
from homeroom.kit.records import Listing, columns_of, contains, resource
from homeroom.kit.scopes import ScopeKind, school_filter, student_filter
from homeroom.models import Guardian, Student, StudentGuardian

COLUMNS = columns_of(Guardian, GuardianRead)
SORTING = Sorting.of(COLUMNS, "last_name", "email", "created_at", "id")


class IdList(FunctionElement[Any]):
    """The ids of a group as one value: an array on PostgreSQL (`array_agg`), a JSON array
    on SQLite (`json_group_array`; `_student_ids` reads both). Written per dialect when the
    statement is compiled, so the statement that holds it is the same on both."""

    name = "id_list"
    inherit_cache = True


@compiles(IdList)
def _array_agg(element: IdList, compiler: SQLCompiler, **kw: Any) -> str:
    return f"array_agg({compiler.process(element.clauses, **kw)})"


@compiles(IdList, "sqlite")
def _json_group_array(element: IdList, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


def _student_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return sorted(int(v) for v in value if v is not None)


def to_item(row: Row) -> dict[str, Any]:
    item = dict(zip(RESOURCE.fields, row, strict=True))
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


def _children(kind: ScopeKind) -> Any:
    """The guardian's children the caller may see, aggregated in one correlated subquery."""
    link = aliased(StudentGuardian)
    return (
        select(IdList(link.student_id))
        .where(link.guardian_id == Guardian.id)
        .where(student_filter(kind, link.student_id))
        .correlate(Guardian)
        .scalar_subquery()
        .label("student_ids")
    )


def _scoped(kind: ScopeKind) -> Select[Any]:
    return (
        select(*COLUMNS, _children(kind))
        .where(school_filter(kind, Guardian.school_id))
        .where(guardian_filter(kind, Guardian.id))
    )


# A write of the guardians table never changes their children (links are rows of their own).
RESOURCE = resource("guardian", Guardian, _scoped, COLUMNS, computed=("student_ids",), item=to_item)
# The total counts the guardians alone (Listing's count selects the id, not the children).
LISTING = Listing(
    "guardians",
    RESOURCE,
    _scoped,
    SORTING,
    GuardianFilters,
    filters={"q": contains(Guardian.first_name, Guardian.last_name, Guardian.email)},
)


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


@compiled
def _of_student(kind: ScopeKind) -> Select[Any]:
    """The guardians of one student the caller may see (the list's scope, and the student's:
    no row for a student out of it), with how each is related, by name."""
    return (
        select(
            Guardian.id,
            Guardian.first_name,
            Guardian.last_name,
            Guardian.email,
            Guardian.phone,
            StudentGuardian.relationship,
        )
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .where(StudentGuardian.student_id == bindparam("student_id"))
        .where(student_filter(kind, StudentGuardian.student_id))
        .where(school_filter(kind, Guardian.school_id))
        .where(guardian_filter(kind, Guardian.id))
        .order_by(Guardian.last_name, Guardian.first_name, Guardian.id)
    )


async def of_student(
    db: Database, kind: ScopeKind, scope: dict[str, Any], student_id: int
) -> list[Row]:
    return await db.reader.all(_of_student(db, kind), {**scope, "student_id": student_id})
