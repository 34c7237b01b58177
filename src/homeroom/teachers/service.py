"""Business rules for teacher records. Never commits: the request's unit of work does."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal, school_of
from homeroom.kit.db import Database, Row
from homeroom.kit.errors import Conflict, NotFound, field_error
from homeroom.kit.pagination import PagePlan
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.teachers import repository
from homeroom.teachers.schemas import TeacherCreate, TeacherFilters, TeacherUpdate


async def list_teachers(
    db: Database, principal: Principal, filters: TeacherFilters, plan: PagePlan
) -> tuple[list[Row], int]:
    return await repository.list_page(
        db, scope_kind(principal), scope_params(principal), filters, plan
    )


async def get_teacher(db: Database, principal: Principal, teacher_id: int) -> dict[str, Any]:
    row = await repository.get(
        db, db.reader, scope_kind(principal), scope_params(principal), teacher_id
    )
    if row is None:
        raise NotFound("teacher not found")
    return repository.to_item(row)


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
    db: Database,
    session: AsyncSession,
    principal: Principal,
    teacher_id: int,
    data: TeacherUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    teacher = await writes.load(db, session, principal, repository.RESOURCE, teacher_id, if_match)
    changes = data.changes()
    if "email" in changes:
        changes["email"] = changes["email"].lower()
        await _ensure_unique_email(session, changes["email"], exclude_id=teacher_id)
    updated = await writes.update(db, session, principal, repository.RESOURCE, teacher, changes)
    school_id = teacher.item["school_id"]
    audit.record(session, principal, "update", "teacher", teacher_id, school_id, changes)
    await _changed(session, teacher_id, school_id)
    return updated


async def delete_teacher(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    teacher_id: int,
    if_match: str | None = None,
) -> None:
    teacher = await writes.load(db, session, principal, repository.RESOURCE, teacher_id, if_match)
    if await repository.has_sections(session, teacher_id):
        raise Conflict("the teacher still teaches sections; reassign or delete them first")
    school_id = teacher.item["school_id"]
    audit.record(
        session,
        principal,
        "delete",
        "teacher",
        teacher_id,
        school_id,
        {"email": teacher.item["email"]},
    )
    await writes.delete(session, repository.RESOURCE, teacher_id)
    await _changed(session, teacher_id, school_id)
