"""Business rules for assessment categories and assessments. Never commits."""

import math
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.assessments import repository
from homeroom.assessments.schemas import (
    WEIGHT_TOLERANCE,
    AssessmentCreate,
    AssessmentUpdate,
    CategoryIn,
)
from homeroom.audit import service as audit
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database, SessionReader
from homeroom.kit.errors import Conflict, NotFound, ValidationFailed, field_error
from homeroom.kit.responses import ensure_match
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.writes import Target
from homeroom.sections import rules as section_rules

# --- categories --------------------------------------------------------------------------------


def _category_items(rows: list[repository.SectionCategoryRow]) -> list[dict[str, Any]]:
    return [
        {"id": r.category_id, "section_id": r.section_id, "name": r.name, "weight": r.weight}
        for r in rows
        if r.category_id is not None
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
        first, *_ = errors
        raise ValidationFailed(str(first["msg"]), errors=errors)


async def replace_categories(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    section_id: int,
    items: list[CategoryIn],
    if_match: str | None = None,
) -> list[dict[str, Any]]:
    rows = await repository.section_categories_for_write(
        db, session, scope_kind(principal), scope_params(principal), section_id
    )
    if not rows:
        raise NotFound("section not found")
    first, *_ = rows
    school_id = first.school_id
    section_rules.ensure_may_write(principal, first.teacher_id)
    if if_match is not None:
        ensure_match(if_match, _category_items(rows))  # as GET /sections/{id}/categories
    existing = {
        r.category_id: (r.name, r.weight, bool(r.has_assessments))
        for r in rows
        if r.category_id is not None and r.name is not None and r.weight is not None
    }
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
    result: list[dict[str, Any]] = sorted(
        (
            {"id": cid, "section_id": section_id, "name": item.name, "weight": item.weight}
            for cid, item in zip(final_ids, items, strict=True)
        ),
        key=lambda category: int(category["id"]),
    )
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
    await cache.invalidate(session, *tag.school_writes(school_id, "grading"))


# --- assessments -------------------------------------------------------------------------------


async def create_assessment(
    db: Database, session: AsyncSession, principal: Principal, data: AssessmentCreate
) -> dict[str, Any]:
    """Create an assessment in one of the caller's sections."""
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
    section_rules.ensure_may_write(principal, teacher_id)
    if category_id is None:
        raise ValidationFailed(
            "the category does not belong to the section",
            errors=[field_error(["body", "category_id"], "not a category of this section")],
        )
    values = {**data.model_dump(), "school_id": school_id}
    assessment = await writes.insert(db, session, principal, repository.RESOURCE, values)
    await _changed(session, school_id)
    audit.record(
        session,
        principal,
        "create",
        "assessment",
        assessment["id"],
        school_id,
        data.model_dump(mode="json"),
    )
    return assessment


async def _target(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    target: Target,
    category_id: int | None = None,
) -> writes.Loaded:
    """The assessment for a write, locked; its `extra` columns are its section's teacher_id,
    its highest grade score and, given `category_id`, that category's id if it belongs to the
    assessment's section (else None)."""
    with_category = category_id is not None
    return await writes.load(
        db,
        session,
        principal,
        repository.RESOURCE,
        target,
        query=repository.target_query(db, scope_kind(principal), with_category),
        params={"category_id": category_id} if with_category else None,
        authorize=lambda loaded: section_rules.ensure_may_write(
            principal, repository.TargetExtra(*loaded.extra).teacher_id
        ),
    )


async def update_assessment(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    target: Target,
    data: AssessmentUpdate,
) -> dict[str, Any]:
    """Change an assessment; max_points may not drop below a recorded score."""
    changes = data.changes()
    assessment = await _target(db, session, principal, target, changes.get("category_id"))
    extra = repository.TargetExtra(*assessment.extra)
    if "category_id" in changes and extra.new_category is None:
        raise ValidationFailed(
            "the category does not belong to the assessment's section",
            errors=[field_error(["body", "category_id"], "not a category of this section")],
        )
    highest = extra.max_score
    if "max_points" in changes and highest is not None and changes["max_points"] < highest:
        raise Conflict(
            f"max_points may not drop below an existing grade's score (highest is {highest:g})"
        )
    updated = await writes.update(db, session, principal, repository.RESOURCE, assessment, changes)
    if changes:
        school_id = assessment.item["school_id"]
        audit.record(session, principal, "update", "assessment", target.id, school_id, changes)
        await _changed(session, school_id)
    return updated


async def delete_assessment(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete an assessment and every grade recorded for it."""
    item = (await _target(db, session, principal, target)).item
    grades = await repository.delete_grades(session, target.id)
    await writes.delete(session, repository.RESOURCE, target.id)
    await _changed(session, item["school_id"])
    audit.record(
        session,
        principal,
        "delete",
        "assessment",
        target.id,
        item["school_id"],
        {"title": item["title"], "section_id": item["section_id"], "grades_deleted": grades},
    )


WRITES = Writes(create_assessment, update_assessment, delete_assessment)
