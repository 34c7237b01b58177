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

from homeroom.assessments.schemas import AssessmentFilters, AssessmentRead
from homeroom.kit import writes
from homeroom.kit.db import Database, Reader, Row, SessionReader, compiled
from homeroom.kit.pagination import Sorting, SortKey
from homeroom.kit.records import Listing, at_least, at_most, columns_of, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter
from homeroom.models import Assessment, AssessmentCategory, Grade, Section

# --- categories --------------------------------------------------------------------------------

CATEGORY_FIELDS = ("id", "section_id", "name", "weight")


@compiled
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
    query = _section_categories(db, kind, with_usage)
    rows = await reader.all(query, {**scope, "section_id": section_id})
    return [SectionCategoryRow(*row) for row in rows]


async def section_categories_for_write(
    db: Database, session: AsyncSession, kind: ScopeKind, scope: dict[str, Any], section_id: int
) -> list[SectionCategoryRow]:
    """`section_categories` with usage, read in the write transaction with the section locked
    (a writer of its categories waits for the one before it)."""
    locked = writes.for_update(db, _section_categories(db, kind, True), Section)
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

COLUMNS = columns_of(Assessment, AssessmentRead)
FIELDS = tuple(c.key for c in COLUMNS)

# Undated assessments sort after every dated one, and the keyset cursor never holds a NULL.
# Not 9999-12-31: asyncpg sends date.max as 'infinity', which no stored date equals.
_DUE_KEY = func.coalesce(Assessment.due_date, literal_column("'9999-01-01'")).label("due_key")
_DUE_KEY_POS = len(COLUMNS)

SORTING = Sorting(
    keys={"due_date": SortKey(_DUE_KEY, _DUE_KEY_POS), **Sorting.of(COLUMNS, "title", "id").keys},
    default="due_date",
    id_column=Assessment.id,
)


def to_item(row: Row) -> dict[str, Any]:
    """The representation of a row that carries the due-date sort key after it."""
    return dict(zip(FIELDS, row[:_DUE_KEY_POS], strict=True))


def _scoped(kind: ScopeKind) -> Select[Any]:
    return (
        select(*COLUMNS, _DUE_KEY)
        .where(school_filter(kind, Assessment.school_id))
        .where(section_filter(kind, Assessment.section_id))
    )


RESOURCE = resource("assessment", Assessment, _scoped, COLUMNS, item=to_item)
LISTING = Listing(
    "assessments",
    RESOURCE,
    _scoped,
    SORTING,
    AssessmentFilters,
    filters={
        "section_id": equals(Assessment.section_id),
        "category_id": equals(Assessment.category_id),
        "due_before": at_most(Assessment.due_date),
        "due_after": at_least(Assessment.due_date),
    },
)


@compiled
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
    query = _section_target(db, kind)
    return await reader.first(
        query, {**scope, "section_id": section_id, "category_id": category_id}
    )


class TargetExtra(NamedTuple):
    """What target_query reads after the assessment's columns."""

    teacher_id: int | None
    max_score: float | None
    new_category: int | None = None  # read only `with_category`


@compiled
def target_query(kind: ScopeKind, with_category: bool) -> Select[Any]:
    """The assessment's columns by the parameter `id`, then its section's teacher_id, its
    highest grade score and (`with_category`) the id of the category named by the parameter
    `category_id` if it belongs to the same section."""
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


async def delete_grades(session: AsyncSession, assessment_id: int) -> int:
    """Deletes an assessment's grades; returns how many there were."""
    result: Any = await session.execute(delete(Grade).where(Grade.assessment_id == assessment_id))
    return int(result.rowcount or 0)
