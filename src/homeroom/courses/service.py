"""Business rules for courses. Never commits: the request's unit of work does."""

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.courses import repository
from homeroom.courses.schemas import CourseCreate, CourseUpdate
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database
from homeroom.kit.errors import Conflict, ValidationFailed, field_error
from homeroom.kit.records import read
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.writes import Target


async def get_course_cached(
    db: Database, pages: cache.ResponseCache, principal: Principal, course_id: int
) -> cache.Entry:
    """GET /courses/{id} as cached bytes: the course row is all it shows."""

    async def build() -> bytes:
        return orjson.dumps(await read(db, principal, repository.RESOURCE, course_id))

    key = (course_id, *cache.scope_key(principal))
    return await pages.cached("course", key, (tag.course(course_id),), build)


async def _changed(session: AsyncSession, course_id: int, school_id: int) -> None:
    """Bumps what shows this course: its page, and the school's section pages and grade and
    attendance summaries (they show its code and title)."""
    await cache.invalidate(session, tag.course(course_id), *tag.school_writes(school_id, "catalog"))


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
    """Create a course in a term of your school."""
    school_id = await _term_school(session, principal, data.term_id)
    values = data.model_dump()
    await _ensure_unique(session, data.term_id, data.code)
    course = await writes.insert(
        db, session, principal, repository.RESOURCE, {"school_id": school_id, **values}
    )
    audit.record(session, principal, "create", "course", course["id"], school_id, values)
    await _changed(session, course["id"], school_id)
    return course


async def update_course(
    db: Database, session: AsyncSession, principal: Principal, target: Target, data: CourseUpdate
) -> dict[str, Any]:
    """Change a course; send If-Match with the ETag you read."""
    course = await writes.load(db, session, principal, repository.RESOURCE, target)
    current = course.item
    school_id = current["school_id"]
    changes = data.changes()
    term_id = changes.get("term_id", current["term_id"])
    code = changes.get("code", current["code"])
    if term_id != current["term_id"] and (
        await _term_school(session, principal, term_id) != school_id
    ):
        raise ValidationFailed(
            "a course may only move to a term of its own school",
            errors=[field_error(["body", "term_id"], "term of another school")],
        )
    if (term_id, code) != (current["term_id"], current["code"]):
        await _ensure_unique(session, term_id, code, exclude_id=course.id)
    updated = await writes.update(db, session, principal, repository.RESOURCE, course, changes)
    audit.record(session, principal, "update", "course", course.id, school_id, changes)
    await _changed(session, course.id, school_id)
    return updated


async def delete_course(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete a course that has no sections."""
    course = await writes.load(db, session, principal, repository.RESOURCE, target)
    if await repository.has_sections(session, course.id):
        raise Conflict("the course still has sections; delete them first")
    school_id = course.item["school_id"]
    audit.record(
        session, principal, "delete", "course", course.id, school_id, {"code": course.item["code"]}
    )
    await writes.delete(session, repository.RESOURCE, course.id)
    await _changed(session, course.id, school_id)


WRITES = Writes(create_course, update_course, delete_course)
