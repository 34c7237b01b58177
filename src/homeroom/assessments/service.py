"""Business rules for assessment categories and assessments. Never commits."""

import math
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.assessments import repository
from homeroom.assessments.schemas import (
    WEIGHT_TOLERANCE,
    AssessmentCreate,
    AssessmentFilters,
    AssessmentUpdate,
    CategoryIn,
)
from homeroom.audit import service as audit
from homeroom.kit import cache
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database, Row, SessionReader
from homeroom.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from homeroom.kit.pagination import PagePlan
from homeroom.kit.responses import ensure_match
from homeroom.kit.scopes import scope_kind, scope_params

_N = len(repository.COLUMNS)


def ensure_teaches(principal: Principal, teacher_id: int | None) -> None:
    """Admins write any section they can see; a teacher only the sections they teach."""
    if principal.role == "teacher" and teacher_id != principal.profile_id:
        raise Forbidden("only the section's own teacher may change it")


# --- categories --------------------------------------------------------------------------------


def _category_items(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {"id": r[3], "section_id": r[0], "name": r[4], "weight": r[5]}
        for r in rows
        if r[3] is not None
    ]


async def list_categories(
    db: Database, principal: Principal, section_id: int
) -> list[dict[str, Any]]:
    rows = await repository.section_categories(
        db, db.reader, scope_kind(principal), scope_params(principal), section_id
    )
    if not rows:
        raise NotFound("section not found")
    return _category_items(rows)


def _check_category_set(
    items: list[CategoryIn], existing: dict[int, tuple[str, float, bool]]
) -> None:
    errors: list[dict[str, Any]] = []
    if not items:
        errors.append(field_error(["body"], "a section needs at least one category"))
    names: set[str] = set()
    ids: set[int] = set()
    for i, item in enumerate(items):
        if item.id is not None:
            if item.id not in existing:
                errors.append(field_error(["body", i, "id"], "not a category of this section"))
            elif item.id in ids:
                errors.append(field_error(["body", i, "id"], "category listed twice"))
            ids.add(item.id)
        key = item.name.casefold()
        if key in names:
            errors.append(field_error(["body", i, "name"], f"duplicate name {item.name!r}"))
        names.add(key)
    total = math.fsum(item.weight for item in items)
    if items and abs(total - 100.0) > WEIGHT_TOLERANCE:
        errors.append(
            field_error(["body"], f"the weights must add up to 100 (they add up to {total:g})")
        )
    if errors:
        raise ValidationFailed(str(errors[0]["msg"]), errors=errors)


async def replace_categories(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    section_id: int,
    items: list[CategoryIn],
) -> list[dict[str, Any]]:
    rows = await repository.section_categories(
        db,
        SessionReader(session),
        scope_kind(principal),
        scope_params(principal),
        section_id,
        with_usage=True,
    )
    if not rows:
        raise NotFound("section not found")
    _, school_id, teacher_id = rows[0][:3]
    ensure_teaches(principal, teacher_id)
    existing = {r[3]: (r[4], r[5], bool(r[6])) for r in rows if r[3] is not None}
    _check_category_set(items, existing)

    kept_ids = {item.id for item in items if item.id is not None}
    removed = [cid for cid in existing if cid not in kept_ids]
    in_use = sorted(existing[cid][0] for cid in removed if existing[cid][2])
    if in_use:
        raise Conflict(
            f"categories that still have assessments cannot be removed: {', '.join(in_use)}"
        )
    if removed:
        await repository.delete_categories(session, removed)

    changed = [
        item
        for item in items
        if item.id is not None and (item.name, item.weight) != existing[item.id][:2]
    ]
    # Renaming onto a name another kept category holds right now would trip the unique index
    # half-way through the UPDATE: park the renamed ones under temporary names first.
    current_names = {existing[cid][0] for cid in kept_ids}
    renamed = [item for item in changed if item.name != existing[item.id or 0][0]]
    if any(item.name in current_names for item in renamed):
        await repository.update_categories(
            session, [{"id": item.id, "name": f"~renaming~{item.id}"} for item in renamed]
        )
    if changed:
        await repository.update_categories(
            session, [{"id": item.id, "name": item.name, "weight": item.weight} for item in changed]
        )
    new_rows = [
        {"school_id": school_id, "section_id": section_id, "name": item.name, "weight": item.weight}
        for item in items
        if item.id is None
    ]
    new_ids = await repository.insert_categories(session, new_rows) if new_rows else {}

    final_ids = [item.id if item.id is not None else new_ids[item.name] for item in items]
    result: list[dict[str, Any]] = [
        {"id": cid, "section_id": section_id, "name": item.name, "weight": item.weight}
        for cid, item in sorted(zip(final_ids, items, strict=True), key=lambda pair: pair[0])
    ]
    audit.record(
        session,
        principal,
        "replace",
        "assessment_categories",
        section_id,
        school_id,
        {"categories": result, "removed": removed},
    )
    await _changed(session, school_id)
    return result


async def _changed(session: AsyncSession, school_id: int) -> None:
    """Assessments and categories show in every grade summary of the school."""
    await cache.invalidate(session, *cache.school_tags(school_id, "grading"))


# --- assessments -------------------------------------------------------------------------------


async def list_assessments(
    db: Database, principal: Principal, filters: AssessmentFilters, plan: PagePlan
) -> tuple[list[Row], int]:
    return await repository.list_page(
        db, scope_kind(principal), scope_params(principal), filters, plan
    )


async def get_assessment(db: Database, principal: Principal, assessment_id: int) -> dict[str, Any]:
    row = await repository.get(
        db, db.reader, scope_kind(principal), scope_params(principal), assessment_id
    )
    if row is None:
        raise NotFound("assessment not found")
    return repository.to_item(row)


async def _reread(
    db: Database, session: AsyncSession, principal: Principal, assessment_id: int
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get(
        db, SessionReader(session), scope_kind(principal), scope_params(principal), assessment_id
    )
    assert row is not None
    return repository.to_item(row)


async def create_assessment(
    db: Database, session: AsyncSession, principal: Principal, data: AssessmentCreate
) -> dict[str, Any]:
    target = await repository.section_target(
        db,
        SessionReader(session),
        scope_kind(principal),
        scope_params(principal),
        data.section_id,
        data.category_id,
    )
    if target is None:
        raise ValidationFailed(
            "section not found",
            errors=[field_error(["body", "section_id"], "no such section")],
        )
    _, school_id, teacher_id, category_id = target
    ensure_teaches(principal, teacher_id)
    if category_id is None:
        raise ValidationFailed(
            "the category does not belong to the section",
            errors=[field_error(["body", "category_id"], "not a category of this section")],
        )
    values = {**data.model_dump(), "school_id": school_id}
    assessment_id = await repository.insert_assessment(session, values)
    await _changed(session, school_id)
    audit.record(
        session,
        principal,
        "create",
        "assessment",
        assessment_id,
        school_id,
        data.model_dump(mode="json"),
    )
    return await _reread(db, session, principal, assessment_id)


async def _target(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    assessment_id: int,
    category_id: int | None = None,
) -> Row:
    row = await repository.assessment_target(
        db,
        SessionReader(session),
        scope_kind(principal),
        scope_params(principal),
        assessment_id,
        category_id,
    )
    if row is None:
        raise NotFound("assessment not found")
    ensure_teaches(principal, row[_N])
    return row


async def update_assessment(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    assessment_id: int,
    data: AssessmentUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    changes = data.changes()
    row = await _target(db, session, principal, assessment_id, changes.get("category_id"))
    if if_match is not None:
        ensure_match(if_match, await get_assessment(db, principal, assessment_id))
    if "category_id" in changes and row[_N + 2] is None:
        raise ValidationFailed(
            "the category does not belong to the assessment's section",
            errors=[field_error(["body", "category_id"], "not a category of this section")],
        )
    highest = row[_N + 1]
    if "max_points" in changes and highest is not None and changes["max_points"] < highest:
        raise Conflict(
            f"max_points may not drop below an existing grade's score (highest is {highest:g})"
        )
    if changes:
        await repository.update_assessment(session, assessment_id, changes)
        school_id = repository.to_item(row)["school_id"]
        audit.record(session, principal, "update", "assessment", assessment_id, school_id, changes)
        await _changed(session, school_id)
    return await _reread(db, session, principal, assessment_id)


async def delete_assessment(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    assessment_id: int,
    if_match: str | None = None,
) -> None:
    row = await _target(db, session, principal, assessment_id)
    if if_match is not None:
        ensure_match(if_match, await get_assessment(db, principal, assessment_id))
    item = repository.to_item(row)
    grades = await repository.delete_assessment(session, assessment_id)
    await _changed(session, item["school_id"])
    audit.record(
        session,
        principal,
        "delete",
        "assessment",
        assessment_id,
        item["school_id"],
        {"title": item["title"], "section_id": item["section_id"], "grades_deleted": grades},
    )
