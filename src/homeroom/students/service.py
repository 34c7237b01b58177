"""Business rules for student records. Never commits: the request's unit of work does."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.kit import cache, records, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal, school_of
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database
from homeroom.kit.errors import Conflict
from homeroom.kit.pagination import PagePlan
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.writes import Target
from homeroom.models import utcnow
from homeroom.students import repository
from homeroom.students.schemas import StudentCreate, StudentFilters, StudentUpdate


async def get_student(db: Database, principal: Principal, student_id: int) -> dict[str, Any]:
    """The student as GET /students/{id} answers it (404 when out of the caller's scope):
    what another domain reads to check that a student is the caller's to see."""
    return await records.read(db, principal, repository.RESOURCE, student_id)


async def list_students(
    db: Database, principal: Principal, filters: StudentFilters, plan: PagePlan
) -> tuple[list[dict[str, Any]], int]:
    """A page of the students the caller may see, as GET /students answers it: `plan`'s
    limit + 1 rows (the last tells that more follow) and the list's total."""
    rows, total = await repository.LISTING.page(db, principal, filters, plan)
    return [repository.LISTING.item(row) for row in rows], total


SORTING = repository.SORTING  # the list's sort keys, for planning a page of it


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


async def _changed(session: AsyncSession, student_id: int, school_id: int) -> None:
    """The student's own pages, and their name on the school's section attendance ("people")."""
    await cache.invalidate(
        session, tag.student(student_id), *tag.school_writes(school_id, "people")
    )


async def create_student(
    db: Database, session: AsyncSession, principal: Principal, data: StudentCreate
) -> dict[str, Any]:
    """Create a student record."""
    school_id = school_of(principal, data.school_id)
    values = data.model_dump(exclude={"school_id"})
    values["email"] = values["email"].lower()
    await _ensure_unique(session, school_id, values["student_number"], values["email"])
    student = await writes.insert(
        db, session, principal, repository.RESOURCE, {"school_id": school_id, **values}
    )
    audit.record(session, principal, "create", "student", student["id"], school_id, values)
    await _changed(session, student["id"], school_id)
    return student


async def update_student(
    db: Database, session: AsyncSession, principal: Principal, target: Target, data: StudentUpdate
) -> dict[str, Any]:
    """Change a student's fields; send If-Match with the ETag you read to avoid lost updates."""
    student = await writes.load(db, session, principal, repository.RESOURCE, target)
    school_id = student.item["school_id"]
    changes = data.changes()
    if "email" in changes:
        changes["email"] = changes["email"].lower()
    await _ensure_unique(
        session,
        school_id,
        changes.get("student_number"),
        changes.get("email"),
        exclude_id=student.id,
    )
    updated = await writes.update(db, session, principal, repository.RESOURCE, student, changes)
    audit.record(session, principal, "update", "student", student.id, school_id, changes)
    await _changed(session, student.id, school_id)
    return updated


async def archive_student(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Archive a student (soft delete); restore undoes it."""
    student = await writes.load(db, session, principal, repository.RESOURCE, target)
    if student.item["archived_at"] is None:
        school_id = student.item["school_id"]
        await writes.update(
            db, session, principal, repository.RESOURCE, student, {"archived_at": utcnow()}
        )
        audit.record(session, principal, "archive", "student", student.id, school_id)
        await _changed(session, student.id, school_id)


async def restore_student(
    db: Database, session: AsyncSession, principal: Principal, student_id: int
) -> dict[str, Any]:
    student = await writes.load(db, session, principal, repository.RESOURCE, student_id)
    if student.item["archived_at"] is None:
        return student.item
    school_id = student.item["school_id"]
    restored = await writes.update(
        db, session, principal, repository.RESOURCE, student, {"archived_at": None}
    )
    audit.record(session, principal, "restore", "student", student_id, school_id)
    await _changed(session, student_id, school_id)
    return restored


async def own_students(db: Database, principal: Principal) -> list[dict[str, Any]]:
    """The students whose own pages the caller sees: a student themself, a guardian their
    children (by first name); anyone else none (an administrator's scope is not "their own").
    The same scope as get_student: each of them opens there."""
    if principal.role not in ("student", "guardian"):
        return []
    rows = await repository.own_students(db, scope_kind(principal), scope_params(principal))
    fields = [column.key for column in repository.OWN_COLUMNS]
    return [dict(zip(fields, row, strict=True)) for row in rows]


WRITES = Writes(create_student, update_student, archive_student)
