"""Business rules for sections and their rosters. Never commits: the request's unit of work does."""

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit import cache
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database, Row, SessionReader
from homeroom.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from homeroom.kit.pagination import PagePlan
from homeroom.kit.responses import ensure_match
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.models import Section
from homeroom.sections import repository
from homeroom.sections.schemas import RosterFilters, SectionCreate, SectionFilters, SectionUpdate

# Who may list a roster: the school's office, and a teacher (whose scope is their own sections).
_ROSTER_KINDS = ("all", "school", "teacher")


async def list_sections(
    db: Database, principal: Principal, filters: SectionFilters, plan: PagePlan
) -> tuple[list[Row], int]:
    return await repository.list_page(
        db, scope_kind(principal), scope_params(principal), filters, plan
    )


async def get_section(db: Database, principal: Principal, section_id: int) -> dict[str, Any]:
    row = await repository.get(
        db, db.reader, scope_kind(principal), scope_params(principal), section_id
    )
    if row is None:
        raise NotFound("section not found")
    return repository.to_item(row)


async def get_section_cached(db: Database, principal: Principal, section_id: int) -> cache.Entry:
    """GET /sections/{id} as cached bytes. The row shows its course's code and title and its
    teacher's name (school "catalog" tag), its enrolled count (enrollments bump the section),
    and who sees it depends on enrollments, the teacher, a guardian's links (scope tags)."""

    async def build() -> bytes:
        return orjson.dumps(await get_section(db, principal, section_id))

    tags = (
        f"section:{section_id}",
        cache.school_tag(principal.school_id, "catalog"),
        *cache.scope_tags(principal),
    )
    key = (section_id, *cache.scope_key(principal))
    return await cache.cached(db, "section", key, tags, build)


async def _changed(session: AsyncSession, section: Section, *teacher_ids: int | None) -> None:
    """Bumps the section, its school's catalog (grade and attendance summaries show sections)
    and the teachers who gain or lose it (what a teacher may see)."""
    teachers = {f"teacher:{t}" for t in (section.teacher_id, *teacher_ids) if t is not None}
    await cache.invalidate(
        session,
        f"section:{section.id}",
        *cache.school_tags(section.school_id, "catalog"),
        *teachers,
    )


async def list_roster(
    db: Database,
    principal: Principal,
    section_id: int,
    filters: RosterFilters,
    plan: PagePlan,
) -> tuple[list[Row], int]:
    kind = scope_kind(principal)
    if not await repository.is_visible(db, kind, scope_params(principal), section_id):
        raise NotFound("section not found")
    if kind not in _ROSTER_KINDS:
        raise Forbidden("only the section's teacher and the school office may list its roster")
    return await repository.roster_page(db, section_id, filters, plan)


async def _reread(
    db: Database, session: AsyncSession, principal: Principal, section_id: int
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get(
        db, SessionReader(session), scope_kind(principal), scope_params(principal), section_id
    )
    assert row is not None
    return repository.to_item(row)


async def _visible(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    section_id: int,
    if_match: str | None,
) -> Section:
    """The section for a write; 404 outside the caller's school, 412 on a stale If-Match."""
    kind, scope = scope_kind(principal), scope_params(principal)
    section = await repository.load_visible(session, kind, scope, section_id)
    if section is None:
        raise NotFound("section not found")
    if if_match is not None:
        # Compared with the record exactly as GET encodes it (the raw read path's values).
        ensure_match(if_match, await get_section(db, principal, section_id))
    return section


async def _course_school(session: AsyncSession, principal: Principal, course_id: int) -> int:
    school_id = await repository.course_school(
        session, scope_kind(principal), scope_params(principal), course_id
    )
    if school_id is None:
        raise ValidationFailed(
            "the course does not exist in your school",
            errors=[field_error(["body", "course_id"], f"unknown course {course_id}")],
        )
    return school_id


async def _check_teacher(session: AsyncSession, school_id: int, teacher_id: int | None) -> None:
    if teacher_id is None:
        return
    if await repository.teacher_school(session, teacher_id) != school_id:
        raise ValidationFailed(
            "the teacher does not teach at the section's school",
            errors=[field_error(["body", "teacher_id"], f"unknown teacher {teacher_id}")],
        )


async def _ensure_unique(
    session: AsyncSession, course_id: int, name: str, exclude_id: int | None = None
) -> None:
    if await repository.name_taken(session, course_id, name, exclude_id):
        raise Conflict(f"the course already has a section named {name!r}")


async def create_section(
    db: Database, session: AsyncSession, principal: Principal, data: SectionCreate
) -> dict[str, Any]:
    school_id = await _course_school(session, principal, data.course_id)
    await _check_teacher(session, school_id, data.teacher_id)
    await _ensure_unique(session, data.course_id, data.name)
    values = data.model_dump()
    section = Section(school_id=school_id, **values)
    session.add(section)
    await session.flush()
    audit.record(session, principal, "create", "section", section.id, school_id, values)
    await _changed(session, section)
    return await _reread(db, session, principal, section.id)


async def update_section(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    section_id: int,
    data: SectionUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    section = await _visible(db, session, principal, section_id, if_match)
    changes = data.changes()
    if changes.get("teacher_id") not in (None, section.teacher_id):
        await _check_teacher(session, section.school_id, changes["teacher_id"])
    if "name" in changes and changes["name"] != section.name:
        await _ensure_unique(session, section.course_id, changes["name"], exclude_id=section.id)
    if "capacity" in changes and changes["capacity"] < section.capacity:
        enrolled = await repository.enrolled_count(session, section.id)
        if changes["capacity"] < enrolled:
            raise Conflict(
                f"capacity {changes['capacity']} is below the {enrolled} students enrolled"
            )
    old_teacher = section.teacher_id
    for name, value in changes.items():
        setattr(section, name, value)
    audit.record(session, principal, "update", "section", section.id, section.school_id, changes)
    await _changed(session, section, old_teacher)
    return await _reread(db, session, principal, section_id)


async def delete_section(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    section_id: int,
    if_match: str | None = None,
) -> None:
    section = await _visible(db, session, principal, section_id, if_match)
    if await repository.has_enrollments(session, section.id):
        raise Conflict("the section still has enrollments; remove them first")
    audit.record(
        session,
        principal,
        "delete",
        "section",
        section.id,
        section.school_id,
        {"course_id": section.course_id, "name": section.name},
    )
    await _changed(session, section)
    await session.delete(section)
