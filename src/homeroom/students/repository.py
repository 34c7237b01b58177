"""Every student query. Reads compile once per shape and run on the raw read path."""

from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from homeroom.kit.auth import Principal
from homeroom.kit.db import CompiledQuery, Database, Row, compiled
from homeroom.kit.pagination import (
    LIKE_ESCAPE,
    PagePlan,
    PageShape,
    Sorting,
    count_statement,
    like_pattern,
    page_statement,
    search_page_statement,
)
from homeroom.kit.records import Listing, columns_of, resource
from homeroom.kit.scopes import ScopeKind, school_filter, scope_kind, scope_params, student_filter
from homeroom.models import Student
from homeroom.models.search import students_fts
from homeroom.students.schemas import StudentFilters, StudentRead

COLUMNS = columns_of(Student, StudentRead)
SORTING = Sorting.of(COLUMNS, "last_name", "student_number", "grade_level", "created_at", "id")


def _scoped(kind: ScopeKind) -> Select[Any]:
    return (
        select(*COLUMNS)
        .where(school_filter(kind, Student.school_id))
        .where(student_filter(kind, Student.id))
    )


# --- search --------------------------------------------------------------------------------------
#
# `q` matches a student when first name, last name, email or student number contains it, case
# folded (`like_pattern`): `lower(column) LIKE '%q%'` (SQLite folds ASCII letters; PostgreSQL
# folds every letter its locale knows). That test is the answer; an index only narrows the rows
# it runs on. A term of 3 characters or more goes through the search index (models/search.py),
# which finds the rows holding every 3-character slice of it: on SQLite the FTS5 table, on
# PostgreSQL the planner's trigram indexes under ILIKE. A shorter term has no 3-character slice
# for an index to look up and is tested on every student of the caller's scope ("scan").

Search = Literal["none", "scan", "index"]
SEARCHED = (Student.first_name, Student.last_name, Student.email, Student.student_number)
INDEXED_LENGTH = 3


def _search_text(q: str) -> str:
    return q.strip().lower()


def search_kind(q: str | None) -> Search:
    if q is None:
        return "none"
    return "index" if len(_search_text(q)) >= INDEXED_LENGTH else "scan"


def fts_phrase(q: str) -> str:
    """`q` as one FTS5 string (double quotes, inner ones doubled): inside it every character
    is text, so quotes, `*`, `OR`, `NEAR(` or `:` in a search mean nothing to FTS5."""
    return '"' + _search_text(q).replace('"', '""') + '"'


def _matches(search: Search, sqlite: bool) -> ColumnElement[bool]:
    pattern: Any = bindparam("q")
    if search == "scan":
        # lower() LIKE lower() is what ILIKE does on PostgreSQL (and what SQLAlchemy's ilike
        # is on SQLite), written so that no trigram index matches it: a 1-2 character pattern
        # has no trigram, and a plan sharing the index path with long terms read the whole
        # index then every row (PostgreSQL's generic plan: 200 ms instead of 110).
        return or_(*(func.lower(c).like(func.lower(pattern), escape=LIKE_ESCAPE) for c in SEARCHED))
    exact = or_(*(c.ilike(pattern, escape=LIKE_ESCAPE) for c in SEARCHED))
    if not sqlite:
        return exact
    # Joined to the index's rows (one per student) rather than `id IN (...)`: SQLite then
    # reads students in the index's rowid order, without first collecting the ids (a term
    # every student matches: 63 ms instead of 108).
    indexed = students_fts.c.students_fts.match(bindparam("q_phrase"))
    return and_(Student.id == students_fts.c.rowid, indexed, exact)


def _filtered(
    kind: ScopeKind,
    search: Search,
    has_status: bool,
    has_grade: bool,
    archived: str,
    sqlite: bool,
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
    if search != "none":
        stmt = stmt.where(_matches(search, sqlite))
    return stmt


FilterShape = tuple[Search, bool, bool, str]


def _filter_shape(filters: StudentFilters) -> FilterShape:
    return (
        search_kind(filters.q),
        filters.status is not None,
        filters.grade_level is not None,
        filters.archived,
    )


def _filter_params(filters: StudentFilters) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if filters.q is not None:
        params["q"] = like_pattern(filters.q)
        params["q_phrase"] = fts_phrase(filters.q)
    if filters.status is not None:
        params["status"] = filters.status
    if filters.grade_level is not None:
        params["grade_level"] = filters.grade_level
    return params


@compiled
def _page(kind: ScopeKind, shape: FilterShape, sqlite: bool, page: PageShape) -> Select[Any]:
    return page_statement(_filtered(kind, *shape, sqlite), SORTING, page)


@compiled
def _count(kind: ScopeKind, shape: FilterShape, sqlite: bool) -> Select[Any]:
    return count_statement(_filtered(kind, *shape, sqlite))


@compiled(scan=True)
def _search_count(kind: ScopeKind, shape: FilterShape, sqlite: bool) -> Executable:
    """`_count` of a search: it may read the whole school (SQLite: in a worker thread)."""
    return _count.build(kind, shape, sqlite)


@compiled(scan=True)
def _search_page(kind: ScopeKind, shape: FilterShape, sqlite: bool, page: PageShape) -> Select[Any]:
    """A search's page, its total in a last column unless a cursor positions it (the cursor
    carries the total)."""
    filtered = _filtered(kind, *shape, sqlite)
    return search_page_statement(filtered, SORTING, page, total=not page.after)


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: StudentFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    shape = _filter_shape(filters)
    sqlite = db.is_sqlite
    params = {**scope, **_filter_params(filters)}
    if shape[0] != "none":
        return await _search(db, kind, shape, plan, params)
    rows = await db.reader.all(
        _page(db, kind, shape, sqlite, plan.shape), {**params, **plan.params()}
    )
    total = plan.known_total(rows)
    if total is None:
        total = int(await db.reader.scalar(_count(db, kind, shape, sqlite), params))
    return rows, total


async def _search(
    db: Database, kind: ScopeKind, shape: FilterShape, plan: PagePlan, params: dict[str, Any]
) -> tuple[list[Row], int]:
    """A search's page and total from one statement (the total in a last column), or the page
    alone after a cursor, which carries the total. On SQLite it runs in a worker thread: the
    index makes a search cheap, but a term every student matches (a part of every email)
    still reads the whole school, and inline that would hold the event loop."""
    query = _search_page(db, kind, shape, db.is_sqlite, plan.shape)
    rows = await db.reader.all(query, {**params, **plan.params()})
    if plan.keyset is not None:
        return rows, plan.keyset.total
    if rows:
        total = next(iter(rows))[-1]  # the total rides in the last column of every row
        return [row[:-1] for row in rows], int(total)
    if plan.offset == 0:
        return [], 0
    # An offset past the last match: no row came back to carry the total.
    count = _search_count(db, kind, shape, db.is_sqlite)
    return [], int(await db.reader.scalar(count, params))


class StudentListing(Listing):
    """The students list: its filters change the statement by their values (a search's
    kind and whether the index serves it, which archived students), so its page is its own
    (`list_page`), each statement still compiled once per shape."""

    async def page(
        self, db: Database, principal: Principal, filters: BaseModel | None, plan: PagePlan
    ) -> tuple[list[Row], int]:
        assert isinstance(filters, StudentFilters)
        kind, scope = scope_kind(principal), scope_params(principal)
        return await list_page(db, kind, scope, filters, plan)


@compiled
def _export(
    kind: ScopeKind, shape: FilterShape, sqlite: bool, sort: str, desc: bool
) -> Select[Any]:
    column = SORTING.keys[sort].column
    order = (column.desc(), Student.id.desc()) if desc else (column.asc(), Student.id.asc())
    return _filtered(kind, *shape, sqlite).order_by(*order)


@compiled(scan=True)
def _search_export(
    kind: ScopeKind, shape: FilterShape, sqlite: bool, sort: str, desc: bool
) -> Executable:
    """`_export` of a search: SQLite reads its batches in a worker thread."""
    return _export.build(kind, shape, sqlite, sort, desc)


def export_query(
    db: Database, kind: ScopeKind, filters: StudentFilters, sort: str, desc: bool
) -> tuple[CompiledQuery, dict[str, Any]]:
    """The whole filtered list in `sort` order, unpaged (exports): list_page's scope and
    filters. Returns the query and its filter parameters (add the scope's). A search is a
    `scan` query: SQLite reads its batches in a worker thread."""
    shape = _filter_shape(filters)
    export = _export if shape[0] == "none" else _search_export
    return export(db, kind, shape, db.is_sqlite, sort, desc), _filter_params(filters)


RESOURCE = resource("student", Student, _scoped, COLUMNS)
LISTING = StudentListing("students", RESOURCE, _scoped, SORTING, StudentFilters)


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


# --- a student's or a guardian's own ----------------------------------------------------------

# More children than any family has: the list stays bounded whatever the links say.
MAX_OWN = 100
OWN_COLUMNS = (
    Student.id,
    Student.student_number,
    Student.first_name,
    Student.last_name,
    Student.grade_level,
)


@compiled
def _own(kind: ScopeKind) -> Select[Any]:
    return (
        select(*OWN_COLUMNS)
        .where(school_filter(kind, Student.school_id))
        .where(student_filter(kind, Student.id))
        .order_by(Student.first_name, Student.last_name, Student.id)
        .limit(MAX_OWN)
    )


async def own_students(db: Database, kind: ScopeKind, scope: dict[str, Any]) -> list[Row]:
    """One statement: (id, student_number, first_name, last_name, grade_level) of the
    students the caller may see under the scope `kind` (called for students and guardians:
    themself, or their children), by first name."""
    return await db.reader.all(_own(db, kind), scope)
