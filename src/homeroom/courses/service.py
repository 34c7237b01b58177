"""Business rules for courses. Never commits: the request's unit of work does."""

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.courses import repository
from homeroom.courses.schemas import CourseCreate, CourseFilters, CourseUpdate
from homeroom.kit import cache
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database, Row, SessionReader
from homeroom.kit.errors import Conflict, NotFound, ValidationFailed, field_error
from homeroom.kit.pagination import PagePlan
from homeroom.kit.responses import ensure_match
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.models import Course


async def list_courses(
    db: Database, principal: Principal, filters: CourseFilters, plan: PagePlan
) -> tuple[list[Row], int]:
    return await repository.list_page(
        db, scope_kind(principal), scope_params(principal), filters, plan
    )


async def get_course(db: Database, principal: Principal, course_id: int) -> dict[str, Any]:
    row = await repository.get(
        db, db.reader, scope_kind(principal), scope_params(principal), course_id
    )
    if row is None:
        raise NotFound("course not found")
    return repository.to_item(row)


async def get_course_cached(db: Database, principal: Principal, course_id: int) -> cache.Entry:
    """GET /courses/{id} as cached bytes: the course row is all it shows."""

    async def build() -> bytes:
        return orjson.dumps(await get_course(db, principal, course_id))

    key = (course_id, *cache.scope_key(principal))
    return await cache.cached(db, "course", key, (f"course:{course_id}",), build)


async def _changed(session: AsyncSession, course: Course) -> None:
    """Bumps what shows this course: its page, and the school's section pages and grade and
    attendance summaries (they show its code and title)."""
    await cache.invalidate(
        session, f"course:{course.id}", *cache.school_tags(course.school_id, "catalog")
    )


async def _reread(
    db: Database, session: AsyncSession, principal: Principal, course_id: int
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get(
        db, SessionReader(session), scope_kind(principal), scope_params(principal), course_id
    )
    assert row is not None
    return repository.to_item(row)


async def _visible(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    course_id: int,
    if_match: str | None,
) -> Course:
    """The course for a write; 404 outside the caller's school, 412 on a stale If-Match."""
    kind, scope = scope_kind(principal), scope_params(principal)
    course = await repository.load_visible(session, kind, scope, course_id)
    if course is None:
        raise NotFound("course not found")
    if if_match is not None:
        # Compared with the record exactly as GET encodes it (the raw read path's values).
        ensure_match(if_match, await get_course(db, principal, course_id))
    return course


async def _term_school(session: AsyncSession, principal: Principal, term_id: int) -> int:
    school_id = await repository.term_school(
        session, scope_kind(principal), scope_params(principal), term_id
    )
    if school_id is None:
        raise ValidationFailed(
            "the term does not exist in your school",
            errors=[field_error(["body", "term_id"], f"unknown term {term_id}")],
        )
    return school_id


async def _ensure_unique(
    session: AsyncSession, term_id: int, code: str, exclude_id: int | None = None
) -> None:
    if await repository.code_taken(session, term_id, code, exclude_id):
        raise Conflict(f"code {code!r} is already used by another course in the term")


async def create_course(
    db: Database, session: AsyncSession, principal: Principal, data: CourseCreate
) -> dict[str, Any]:
    school_id = await _term_school(session, principal, data.term_id)
    values = data.model_dump()
    await _ensure_unique(session, data.term_id, data.code)
    course = Course(school_id=school_id, **values)
    session.add(course)
    await session.flush()
    audit.record(session, principal, "create", "course", course.id, school_id, values)
    await _changed(session, course)
    return await _reread(db, session, principal, course.id)


async def update_course(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    course_id: int,
    data: CourseUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    course = await _visible(db, session, principal, course_id, if_match)
    changes = data.changes()
    term_id = changes.get("term_id", course.term_id)
    code = changes.get("code", course.code)
    if term_id != course.term_id and (
        await _term_school(session, principal, term_id) != course.school_id
    ):
        raise ValidationFailed(
            "a course may only move to a term of its own school",
            errors=[field_error(["body", "term_id"], "term of another school")],
        )
    if (term_id, code) != (course.term_id, course.code):
        await _ensure_unique(session, term_id, code, exclude_id=course.id)
    for name, value in changes.items():
        setattr(course, name, value)
    audit.record(session, principal, "update", "course", course.id, course.school_id, changes)
    await _changed(session, course)
    return await _reread(db, session, principal, course_id)


async def delete_course(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    course_id: int,
    if_match: str | None = None,
) -> None:
    course = await _visible(db, session, principal, course_id, if_match)
    if await repository.has_sections(session, course.id):
        raise Conflict("the course still has sections; delete them first")
    audit.record(
        session, principal, "delete", "course", course.id, course.school_id, {"code": course.code}
    )
    await _changed(session, course)
    await session.delete(course)
