"""Every query on assessment categories and assessments.

Reads compile once per shape and run on the raw read path; writes run through the session.
"""

from typing import Any, NamedTuple

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.assessments.schemas import AssessmentFilters
from homeroom.kit import writes
from homeroom.kit.db import CompiledQuery, Database, Reader, Row, SessionReader
from homeroom.kit.pagination import PagePlan, Sorting, SortKey, count_statement, page_statement
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter
from homeroom.models import Assessment, AssessmentCategory, Grade, Section

# --- categories --------------------------------------------------------------------------------

CATEGORY_FIELDS = ("id", "section_id", "name", "weight")


def _section_categories(kind: ScopeKind, with_usage: bool) -> Select[Any]:
    """The section (when visible) left-joined to its categories: one row per category, or one
    row of NULL category columns when it has none."""
    columns: list[Any] = [
        Section.id,
        Section.school_id,
        Section.teacher_id,
        AssessmentCategory.id.label("category_id"),
        AssessmentCategory.name,
        AssessmentCategory.weight,
    ]
    if with_usage:
        columns.append(
            exists().where(Assessment.category_id == AssessmentCategory.id).label("has_assessments")
        )
    return (
        select(*columns)
        .outerjoin(AssessmentCategory, AssessmentCategory.section_id == Section.id)
        .where(Section.id == bindparam("section_id"))
        .where(school_filter(kind, Section.school_id))
        .where(section_filter(kind, Section.id))
        .order_by(AssessmentCategory.id)
    )


class SectionCategoryRow(NamedTuple):
    """A section and one of its categories (the category's columns None when it has none);
    has_assessments is read only with usage."""

    section_id: int
    school_id: int
    teacher_id: int | None
    category_id: int | None
    name: str | None
    weight: float | None
    has_assessments: bool | None = None


async def section_categories(
    db: Database,
    reader: Reader,
    kind: ScopeKind,
    scope: dict[str, Any],
    section_id: int,
    with_usage: bool = False,
) -> list[SectionCategoryRow]:
    """The section's categories; empty when the section is out of the caller's scope."""
    query = db.query(
        ("categories.of_section", kind, with_usage),
        lambda: _section_categories(kind, with_usage),
    )
    rows = await reader.all(query, {**scope, "section_id": section_id})
    return [SectionCategoryRow(*row) for row in rows]


async def section_categories_for_write(
    db: Database, session: AsyncSession, kind: ScopeKind, scope: dict[str, Any], section_id: int
) -> list[SectionCategoryRow]:
    """`section_categories` with usage, read in the write transaction with the section locked
    (a writer of its categories waits for the one before it)."""
    query = db.query(("categories.of_section", kind, True), lambda: _section_categories(kind, True))
    locked = writes.for_update(db, query, Section)
    rows = await SessionReader(session).all(locked, {**scope, "section_id": section_id})
    return list(map(SectionCategoryRow._make, rows))


async def delete_categories(session: AsyncSession, ids: list[int]) -> None:
    await session.execute(delete(AssessmentCategory).where(AssessmentCategory.id.in_(ids)))


async def update_categories(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE by primary key; each row has id and the columns to set."""
    await session.execute(update(AssessmentCategory), rows)


async def insert_categories(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Inserts the rows in one statement; returns each new category's id by name."""
    result = await session.execute(
        insert(AssessmentCategory).returning(AssessmentCategory.id, AssessmentCategory.name),
        rows,
    )
    return {name: id_ for id_, name in result.all()}


# --- assessments -------------------------------------------------------------------------------

COLUMNS = (
    Assessment.id,
    Assessment.school_id,
    Assessment.section_id,
    Assessment.category_id,
    Assessment.title,
    Assessment.max_points,
    Assessment.due_date,
    Assessment.created_at,
    Assessment.updated_at,
)
FIELDS = tuple(c.key for c in COLUMNS)
_POS = {name: i for i, name in enumerate(FIELDS)}

# Undated assessments sort after every dated one, and the keyset cursor never holds a NULL.
# Not 9999-12-31: asyncpg sends date.max as 'infinity', which no stored date equals.
_DUE_KEY = func.coalesce(Assessment.due_date, literal_column("'9999-01-01'")).label("due_key")
_DUE_KEY_POS = len(COLUMNS)

SORTING = Sorting(
    keys={
        "due_date": SortKey(_DUE_KEY, _DUE_KEY_POS),
        "title": SortKey(Assessment.title, _POS["title"]),
        "id": SortKey(Assessment.id, _POS["id"]),
    },
    default="due_date",
    id_column=Assessment.id,
)


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row[:_DUE_KEY_POS], strict=True))


def _scoped(kind: ScopeKind) -> Select[Any]:
    return (
        select(*COLUMNS, _DUE_KEY)
        .where(school_filter(kind, Assessment.school_id))
        .where(section_filter(kind, Assessment.section_id))
    )


FilterShape = tuple[bool, bool, bool, bool]


def _filter_shape(filters: AssessmentFilters) -> FilterShape:
    return (
        filters.section_id is not None,
        filters.category_id is not None,
        filters.due_before is not None,
        filters.due_after is not None,
    )


def _filtered(kind: ScopeKind, shape: FilterShape) -> Select[Any]:
    has_section, has_category, has_before, has_after = shape
    stmt = _scoped(kind)
    if has_section:
        stmt = stmt.where(Assessment.section_id == bindparam("section_id"))
    if has_category:
        stmt = stmt.where(Assessment.category_id == bindparam("category_id"))
    if has_before:
        stmt = stmt.where(
            Assessment.due_date <= bindparam("due_before", type_=Assessment.due_date.type)
        )
    if has_after:
        stmt = stmt.where(
            Assessment.due_date >= bindparam("due_after", type_=Assessment.due_date.type)
        )
    return stmt


def _filter_params(filters: AssessmentFilters) -> dict[str, Any]:
    return filters.model_dump(exclude_none=True)


async def list_page(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    filters: AssessmentFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    shape = _filter_shape(filters)
    page_q = db.query(
        ("assessments.page", kind, shape, plan.shape),
        lambda: page_statement(_filtered(kind, shape), SORTING, plan),
    )
    count_q = db.query(
        ("assessments.count", kind, shape), lambda: count_statement(_filtered(kind, shape))
    )
    params = {**scope, **_filter_params(filters)}
    rows = await db.reader.all(page_q, {**params, **plan.params()})
    total = plan.known_total(rows)
    if total is None:
        total = int(await db.reader.scalar(count_q, params))
    return rows, total


def get_query(db: Database, kind: ScopeKind) -> CompiledQuery:
    """One assessment in the caller's scope, by the parameter `id` (GET /assessments/{id})."""
    return db.query(
        ("assessments.get", kind),
        lambda: _scoped(kind).where(Assessment.id == bindparam("id")),
    )


RESOURCE = writes.Resource("assessment", Assessment, get_query, FIELDS, to_item, COLUMNS)


async def get(
    db: Database, reader: Reader, kind: ScopeKind, scope: dict[str, Any], assessment_id: int
) -> Row | None:
    return await reader.first(get_query(db, kind), {**scope, "id": assessment_id})


def _section_target(kind: ScopeKind) -> Select[Any]:
    category = AssessmentCategory
    return (
        select(Section.id, Section.school_id, Section.teacher_id, category.id)
        .outerjoin(
            category,
            and_(category.id == bindparam("category_id"), category.section_id == Section.id),
        )
        .where(Section.id == bindparam("section_id"))
        .where(school_filter(kind, Section.school_id))
        .where(section_filter(kind, Section.id))
    )


async def section_target(
    db: Database,
    reader: Reader,
    kind: ScopeKind,
    scope: dict[str, Any],
    section_id: int,
    category_id: int,
) -> Row | None:
    """(section_id, school_id, teacher_id, category_id or NULL when the category is not the
    section's) for a visible section, else None."""
    query = db.query(("assessments.section_target", kind), lambda: _section_target(kind))
    return await reader.first(
        query, {**scope, "section_id": section_id, "category_id": category_id}
    )


def _assessment_target(kind: ScopeKind, with_category: bool) -> Select[Any]:
    max_score = (
        select(func.max(Grade.score)).where(Grade.assessment_id == Assessment.id).scalar_subquery()
    )
    columns: list[Any] = [*COLUMNS, Section.teacher_id, max_score.label("max_score")]
    stmt = select(*columns).join(Section, Section.id == Assessment.section_id)
    if with_category:
        category = AssessmentCategory
        stmt = stmt.add_columns(category.id.label("new_category")).outerjoin(
            category,
            and_(
                category.id == bindparam("category_id"),
                category.section_id == Assessment.section_id,
            ),
        )
    return (
        stmt.where(Assessment.id == bindparam("id"))
        .where(school_filter(kind, Assessment.school_id))
        .where(section_filter(kind, Assessment.section_id))
    )


class TargetExtra(NamedTuple):
    """What target_query reads after the assessment's columns."""

    teacher_id: int | None
    max_score: float | None
    new_category: int | None = None  # read only `with_category`


def target_query(db: Database, kind: ScopeKind, with_category: bool) -> CompiledQuery:
    """The assessment's columns by the parameter `id`, then its section's teacher_id, its
    highest grade score and (`with_category`) the id of the category named by the parameter
    `category_id` if it belongs to the same section."""
    return db.query(
        ("assessments.target", kind, with_category),
        lambda: _assessment_target(kind, with_category),
    )


async def delete_grades(session: AsyncSession, assessment_id: int) -> int:
    """Deletes an assessment's grades; returns how many there were."""
    result: Any = await session.execute(delete(Grade).where(Grade.assessment_id == assessment_id))
    return int(result.rowcount or 0)
