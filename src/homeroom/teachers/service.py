"""Business rules for teacher records. Never commits: the request's unit of work does."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal, school_of
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database
from homeroom.kit.errors import Conflict, field_error
from homeroom.kit.writes import Target
from homeroom.teachers import repository
from homeroom.teachers.schemas import TeacherCreate, TeacherUpdate


async def _ensure_unique_email(
    session: AsyncSession, email: str, exclude_id: int | None = None
) -> None:
    if await repository.email_taken(session, email, exclude_id):
        raise Conflict(
            "a teacher with this email already exists",
            errors=[field_error(["body", "email"], "already taken", "conflict")],
        )


async def _changed(session: AsyncSession, teacher_id: int, school_id: int) -> None:
    """A teacher's name shows on the school's section pages ("catalog"); the teacher tag
    covers what the teacher may see."""
    await cache.invalidate(
        session, tag.teacher(teacher_id), *tag.school_writes(school_id, "catalog")
    )


async def create_teacher(
    db: Database, session: AsyncSession, principal: Principal, data: TeacherCreate
) -> dict[str, Any]:
    """Create a teacher record."""
    school_id = school_of(principal, data.school_id)
    values = data.model_dump(exclude={"school_id"})
    values["email"] = values["email"].lower()
    await _ensure_unique_email(session, values["email"])
    teacher = await writes.insert(
        db, session, principal, repository.RESOURCE, {"school_id": school_id, **values}
    )
    audit.record(session, principal, "create", "teacher", teacher["id"], school_id, values)
    await _changed(session, teacher["id"], school_id)
    return teacher


async def update_teacher(
    db: Database, session: AsyncSession, principal: Principal, target: Target, data: TeacherUpdate
) -> dict[str, Any]:
    """Change a teacher's fields; send If-Match with the ETag you read to avoid lost updates."""
    teacher = await writes.load(db, session, principal, repository.RESOURCE, target)
    changes = data.changes()
    if "email" in changes:
        changes["email"] = changes["email"].lower()
        await _ensure_unique_email(session, changes["email"], exclude_id=teacher.id)
    updated = await writes.update(db, session, principal, repository.RESOURCE, teacher, changes)
    school_id = teacher.item["school_id"]
    audit.record(session, principal, "update", "teacher", teacher.id, school_id, changes)
    await _changed(session, teacher.id, school_id)
    return updated


async def delete_teacher(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete a teacher who no longer teaches any section (409 otherwise)."""
    teacher = await writes.load(db, session, principal, repository.RESOURCE, target)
    if await repository.has_sections(session, teacher.id):
        raise Conflict("the teacher still teaches sections; reassign or delete them first")
    school_id = teacher.item["school_id"]
    audit.record(
        session,
        principal,
        "delete",
        "teacher",
        teacher.id,
        school_id,
        {"email": teacher.item["email"]},
    )
    await writes.delete(session, repository.RESOURCE, teacher.id)
    await _changed(session, teacher.id, school_id)


WRITES = Writes(create_teacher, update_teacher, delete_teacher)
