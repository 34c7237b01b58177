"""Business rules for sections and their rosters. Never commits: the request's unit of work does."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database, Row
from homeroom.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from homeroom.kit.pagination import PagePlan, PageRequest, encode_cursor, plan_page
from homeroom.kit.records import read
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.writes import Target
from homeroom.sections import repository
from homeroom.sections.schemas import (
    RosterFilters,
    SectionCreate,
    SectionFilters,
    SectionUpdate,
)

# Who may list a roster: the school's office, and a teacher (whose scope is their own sections).
_ROSTER_KINDS = ("all", "school", "teacher")
# The most students a page of a whole section shows (its attendance, its gradebook): a
# section's bulk writes take up to 1000 rows.
MAX_ROSTER = 1000


async def get_section_cached(
    db: Database, pages: cache.ResponseCache, principal: Principal, section_id: int
) -> cache.Entry:
    """GET /sections/{id} as cached bytes. The row shows its course's code and title and its
    teacher's name (school "catalog" tag), its enrolled count (enrollments bump the section),
    and who sees it depends on enrollments, the teacher, a guardian's links (scope tags)."""

    async def build() -> bytes:
        return orjson.dumps(await read(db, principal, repository.RESOURCE, section_id))

    tags = (
        tag.section(section_id),
        tag.school(principal.school_id, "catalog"),
        *tag.scope(principal),
    )
    key = (section_id, *cache.scope_key(principal))
    return await pages.cached("section", key, tags, build)


async def _changed(
    session: AsyncSession, section: dict[str, Any], *teacher_ids: int | None
) -> None:
    """Bumps the section, its school's catalog (grade and attendance summaries show sections)
    and the teachers who gain or lose it (what a teacher may see)."""
    teachers = {tag.teacher(t) for t in (section["teacher_id"], *teacher_ids) if t is not None}
    await cache.invalidate(
        session,
        tag.section(section["id"]),
        *tag.school_writes(section["school_id"], "catalog"),
        *teachers,
    )


async def get_section(db: Database, principal: Principal, section_id: int) -> dict[str, Any]:
    """The section as GET /sections/{id} answers it (course, teacher, enrolled count); 404
    when it is out of the caller's scope."""
    return await read(db, principal, repository.RESOURCE, section_id)


def sections_plan(limit: int, cursor: str | None) -> PagePlan:
    """The plan of a page of sections in their listing's default order (course code),
    after `cursor` (a `SectionsPage.next_cursor`); a cursor of another list: 422."""
    return plan_page(PageRequest(limit, 0, cursor, None), repository.SORTING)


@dataclass(frozen=True, slots=True)
class SectionsPage:
    items: list[dict[str, Any]]  # as GET /sections/{id} answers each
    total: int
    next_cursor: str | None  # where the next page starts; None on the last one


async def list_sections(
    db: Database, principal: Principal, filters: SectionFilters | None, plan: PagePlan
) -> SectionsPage:
    """A page of the sections the caller sees (a teacher their own, the office their
    school's), as GET /sections lists them: keyset-paged, one statement (two when the
    total needs a count)."""
    rows, total = await repository.LISTING.page(db, principal, filters, plan)
    items = [repository.LISTING.item(row) for row in rows[: plan.limit]]
    cursor = None
    if len(rows) > plan.limit and items:
        last = items[-1]
        cursor = encode_cursor(plan.sort, plan.desc, last[plan.sort], last["id"], total)
    return SectionsPage(items, total, cursor)


async def roster(db: Database, principal: Principal, section_id: int) -> list[dict[str, Any]]:
    """A section's students who are not dropped, by last name (at most MAX_ROSTER: no
    section holds more), each as GET /sections/{id}/roster lists them."""
    plan = plan_page(PageRequest(MAX_ROSTER, 0, None, None), repository.ROSTER_SORTING)
    rows, _ = await list_roster(db, principal, section_id, RosterFilters(), plan)
    items = (repository.roster_item(row) for row in rows[:MAX_ROSTER])
    return [item for item in items if item["status"] != "dropped"]


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
    """Create a section of a course of your school."""
    school_id = await _course_school(session, principal, data.course_id)
    await _check_teacher(session, school_id, data.teacher_id)
    await _ensure_unique(session, data.course_id, data.name)
    values = data.model_dump()
    section = await writes.insert(
        db, session, principal, repository.RESOURCE, {"school_id": school_id, **values}
    )
    audit.record(session, principal, "create", "section", section["id"], school_id, values)
    await _changed(session, section)
    return section


async def update_section(
    db: Database, session: AsyncSession, principal: Principal, target: Target, data: SectionUpdate
) -> dict[str, Any]:
    """Change a section (teacher, name, room, meeting pattern, capacity)."""
    section = await writes.load(db, session, principal, repository.RESOURCE, target)
    current = section.item
    changes = data.changes()
    if changes.get("teacher_id") not in (None, current["teacher_id"]):
        await _check_teacher(session, current["school_id"], changes["teacher_id"])
    if "name" in changes and changes["name"] != current["name"]:
        await _ensure_unique(session, current["course_id"], changes["name"], exclude_id=section.id)
    if "capacity" in changes and changes["capacity"] < current["capacity"]:
        # Counted now, with the section locked (enrollments lock it too): on PostgreSQL the
        # locked read's count is as of its start, before any wait for the lock.
        enrolled = await repository.enrolled_count(session, section.id)
        if changes["capacity"] < enrolled:
            raise Conflict(
                f"capacity {changes['capacity']} is below the {enrolled} students enrolled"
            )
    updated = await writes.update(db, session, principal, repository.RESOURCE, section, changes)
    audit.record(session, principal, "update", "section", section.id, current["school_id"], changes)
    await _changed(session, updated, current["teacher_id"])
    return updated


async def delete_section(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete a section that has no enrollments."""
    section = await writes.load(db, session, principal, repository.RESOURCE, target)
    current = section.item
    if await repository.has_enrollments(session, section.id):
        raise Conflict("the section still has enrollments; remove them first")
    audit.record(
        session,
        principal,
        "delete",
        "section",
        section.id,
        current["school_id"],
        {"course_id": current["course_id"], "name": current["name"]},
    )
    await writes.delete(session, repository.RESOURCE, section.id)
    await _changed(session, current)


def _day(value: Any) -> dt.date | None:
    """A DATE column's value: a date (PostgreSQL) or its ISO text (SQLite's raw path)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


async def student_sections(
    db: Database, principal: Principal, student_id: int
) -> list[dict[str, Any]]:
    """The sections a student is enrolled in (not dropped), the latest term first and by
    course code: course, section, teacher, room, meeting pattern and term. One statement;
    404 when the student is out of the caller's scope (the students' rule: a student
    themself, a guardian their children, a teacher their sections' students, the school)."""
    kind, scope = scope_kind(principal), scope_params(principal)
    rows = await repository.student_sections(db, kind, scope, student_id)
    if rows is None:
        raise NotFound("student not found")
    return [
        {
            **row._asdict(),
            "credits": None if row.credits is None else float(row.credits),
            "term_start": _day(row.term_start),
            "term_end": _day(row.term_end),
        }
        for row in rows
    ]


WRITES = Writes(create_section, update_section, delete_section)
