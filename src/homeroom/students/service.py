"""Business rules for student records. Never commits: the request's unit of work does."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit import cache
from homeroom.kit.auth import Principal, school_of
from homeroom.kit.db import Database, SessionReader
from homeroom.kit.errors import Conflict, NotFound
from homeroom.kit.pagination import PagePlan
from homeroom.kit.responses import ensure_match
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.models import Student, utcnow
from homeroom.students import repository
from homeroom.students.schemas import StudentCreate, StudentFilters, StudentUpdate


async def list_students(
    db: Database, principal: Principal, filters: StudentFilters, plan: PagePlan
) -> tuple[list[tuple[Any, ...]], int]:
    return await repository.list_page(
        db, scope_kind(principal), scope_params(principal), filters, plan
    )


async def get_student(db: Database, principal: Principal, student_id: int) -> dict[str, Any]:
    row = await repository.get(
        db, db.reader, scope_kind(principal), scope_params(principal), student_id
    )
    if row is None:
        raise NotFound("student not found")
    return repository.to_item(row)


async def _reread(
    db: Database, session: AsyncSession, principal: Principal, student_id: int
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get(
        db, SessionReader(session), scope_kind(principal), scope_params(principal), student_id
    )
    assert row is not None
    return repository.to_item(row)


async def _visible(
    db: Database, session: AsyncSession, principal: Principal, student_id: int
) -> Student:
    """The student for a write, loaded in the session; 404 when outside the caller's scope."""
    row = await repository.get(
        db, SessionReader(session), scope_kind(principal), scope_params(principal), student_id
    )
    student = await repository.load(session, student_id) if row is not None else None
    if student is None:
        raise NotFound("student not found")
    return student


async def _ensure_unique(
    session: AsyncSession,
    school_id: int,
    number: str | None,
    email: str | None,
    exclude_id: int | None = None,
) -> None:
    taken = await repository.find_conflict(session, school_id, number, email, exclude_id)
    if taken == "email":
        raise Conflict("a student with this email already exists")
    if taken == "student_number":
        raise Conflict("a student with this student number already exists in the school")


async def _changed(session: AsyncSession, student: Student) -> None:
    """The student's own pages, and their name on the school's section attendance ("people")."""
    await cache.invalidate(
        session, f"student:{student.id}", *cache.school_tags(student.school_id, "people")
    )


async def create_student(
    db: Database, session: AsyncSession, principal: Principal, data: StudentCreate
) -> dict[str, Any]:
    school_id = school_of(principal, data.school_id)
    values = data.model_dump(exclude={"school_id"})
    values["email"] = values["email"].lower()
    await _ensure_unique(session, school_id, values["student_number"], values["email"])
    student = Student(school_id=school_id, **values)
    session.add(student)
    await session.flush()
    audit.record(session, principal, "create", "student", student.id, school_id, values)
    await _changed(session, student)
    return await _reread(db, session, principal, student.id)


async def update_student(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    student_id: int,
    data: StudentUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    student = await _visible(db, session, principal, student_id)
    if if_match is not None:
        ensure_match(if_match, await get_student(db, principal, student_id))
    changes = data.changes()
    if "email" in changes:
        changes["email"] = changes["email"].lower()
    await _ensure_unique(
        session,
        student.school_id,
        changes.get("student_number"),
        changes.get("email"),
        exclude_id=student.id,
    )
    for name, value in changes.items():
        setattr(student, name, value)
    audit.record(session, principal, "update", "student", student.id, student.school_id, changes)
    await _changed(session, student)
    return await _reread(db, session, principal, student_id)


async def archive_student(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    student_id: int,
    if_match: str | None = None,
) -> None:
    student = await _visible(db, session, principal, student_id)
    if if_match is not None:
        ensure_match(if_match, await get_student(db, principal, student_id))
    if student.archived_at is None:
        student.archived_at = utcnow()
        audit.record(session, principal, "archive", "student", student.id, student.school_id)
        await _changed(session, student)


async def restore_student(
    db: Database, session: AsyncSession, principal: Principal, student_id: int
) -> dict[str, Any]:
    student = await _visible(db, session, principal, student_id)
    if student.archived_at is not None:
        student.archived_at = None
        audit.record(session, principal, "restore", "student", student.id, student.school_id)
        await _changed(session, student)
    return await _reread(db, session, principal, student_id)
