"""Business rules for teacher records. Never commits: the request's unit of work does."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit import cache
from homeroom.kit.auth import Principal, school_of
from homeroom.kit.db import Database, Row, SessionReader
from homeroom.kit.errors import Conflict, NotFound, field_error
from homeroom.kit.pagination import PagePlan
from homeroom.kit.responses import ensure_match
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.models import Teacher
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


async def _reread(
    db: Database, session: AsyncSession, principal: Principal, teacher_id: int
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get(
        db, SessionReader(session), scope_kind(principal), scope_params(principal), teacher_id
    )
    assert row is not None
    return repository.to_item(row)


async def _visible(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    teacher_id: int,
    if_match: str | None,
) -> Teacher:
    teacher = await repository.load_visible(
        session, scope_kind(principal), scope_params(principal), teacher_id
    )
    if teacher is None:
        raise NotFound("teacher not found")
    if if_match is not None:
        ensure_match(if_match, await get_teacher(db, principal, teacher_id))
    return teacher


async def _ensure_unique_email(
    session: AsyncSession, email: str, exclude_id: int | None = None
) -> None:
    if await repository.email_taken(session, email, exclude_id):
        raise Conflict(
            "a teacher with this email already exists",
            errors=[field_error(["body", "email"], "already taken", "conflict")],
        )


async def _changed(session: AsyncSession, teacher: Teacher) -> None:
    """A teacher's name shows on the school's section pages ("catalog"); the teacher tag
    covers what the teacher may see."""
    await cache.invalidate(
        session, f"teacher:{teacher.id}", *cache.school_tags(teacher.school_id, "catalog")
    )


async def create_teacher(
    db: Database, session: AsyncSession, principal: Principal, data: TeacherCreate
) -> dict[str, Any]:
    school_id = school_of(principal, data.school_id)
    values = data.model_dump(exclude={"school_id"})
    values["email"] = values["email"].lower()
    await _ensure_unique_email(session, values["email"])
    teacher = Teacher(school_id=school_id, **values)
    session.add(teacher)
    await session.flush()
    audit.record(session, principal, "create", "teacher", teacher.id, school_id, values)
    await _changed(session, teacher)
    return await _reread(db, session, principal, teacher.id)


async def update_teacher(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    teacher_id: int,
    data: TeacherUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    teacher = await _visible(db, session, principal, teacher_id, if_match)
    changes = data.changes()
    if "email" in changes:
        changes["email"] = changes["email"].lower()
        await _ensure_unique_email(session, changes["email"], exclude_id=teacher.id)
    for name, value in changes.items():
        setattr(teacher, name, value)
    audit.record(session, principal, "update", "teacher", teacher.id, teacher.school_id, changes)
    await _changed(session, teacher)
    return await _reread(db, session, principal, teacher_id)


async def delete_teacher(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    teacher_id: int,
    if_match: str | None = None,
) -> None:
    teacher = await _visible(db, session, principal, teacher_id, if_match)
    if await repository.has_sections(session, teacher.id):
        raise Conflict("the teacher still teaches sections; reassign or delete them first")
    audit.record(
        session,
        principal,
        "delete",
        "teacher",
        teacher.id,
        teacher.school_id,
        {"email": teacher.email},
    )
    await _changed(session, teacher)
    await repository.delete(session, teacher)
