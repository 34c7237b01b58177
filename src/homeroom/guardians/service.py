"""Business rules for guardians and their links to students. Never commits."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.guardians import repository
from homeroom.guardians.schemas import GuardianCreate, GuardianLink, GuardianUpdate
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal, school_of
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database
from homeroom.kit.errors import Conflict, NotFound, ValidationFailed, field_error
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.writes import Target


async def _ensure_unique_email(
    session: AsyncSession, email: str, exclude_id: int | None = None
) -> None:
    if await repository.email_taken(session, email, exclude_id):
        raise Conflict(
            "a guardian with this email already exists",
            errors=[field_error(["body", "email"], "already taken", "conflict")],
        )


async def create_guardian(
    db: Database, session: AsyncSession, principal: Principal, data: GuardianCreate
) -> dict[str, Any]:
    """Create a guardian record."""
    school_id = school_of(principal, data.school_id)
    values = data.model_dump(exclude={"school_id"})
    values["email"] = values["email"].lower()
    await _ensure_unique_email(session, values["email"])
    guardian = await writes.insert(
        db,
        session,
        principal,
        repository.RESOURCE,
        {"school_id": school_id, **values},
        derived={"student_ids": []},
    )
    audit.record(session, principal, "create", "guardian", guardian["id"], school_id, values)
    return guardian


async def update_guardian(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    target: Target,
    data: GuardianUpdate,
) -> dict[str, Any]:
    """Change a guardian's fields; send If-Match with the ETag you read to avoid lost updates."""
    guardian = await writes.load(db, session, principal, repository.RESOURCE, target)
    changes = data.changes()
    if "email" in changes:
        changes["email"] = changes["email"].lower()
        await _ensure_unique_email(session, changes["email"], exclude_id=guardian.id)
    updated = await writes.update(db, session, principal, repository.RESOURCE, guardian, changes)
    school_id = guardian.item["school_id"]
    audit.record(session, principal, "update", "guardian", guardian.id, school_id, changes)
    return updated


async def delete_guardian(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete a guardian and their links to students."""
    guardian = await writes.load(db, session, principal, repository.RESOURCE, target)
    audit.record(
        session,
        principal,
        "delete",
        "guardian",
        guardian.id,
        guardian.item["school_id"],
        {"email": guardian.item["email"]},
    )
    await writes.delete(session, repository.RESOURCE, guardian.id)  # its links cascade
    await cache.invalidate(session, tag.guardian(guardian.id))


async def link_student(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    guardian_id: int,
    data: GuardianLink,
) -> dict[str, Any]:
    guardian = await writes.load(db, session, principal, repository.RESOURCE, guardian_id)
    school_id = guardian.item["school_id"]
    found = await repository.student_for_link(
        session, scope_kind(principal), scope_params(principal), data.student_id, guardian_id
    )
    student_school, already_linked = found if found is not None else (None, False)
    if student_school != school_id:
        raise ValidationFailed(
            "the student does not exist in the guardian's school",
            errors=[field_error(["body", "student_id"], "unknown student for this school")],
        )
    if already_linked:
        raise Conflict("the student is already linked to this guardian")
    repository.add_link(session, guardian_id, data.student_id, data.relationship)
    # What a guardian may see is their children: the guardian tag is in their cache keys.
    await cache.invalidate(session, tag.guardian(guardian_id))
    audit.record(
        session,
        principal,
        "link",
        "guardian",
        guardian_id,
        school_id,
        {"student_id": data.student_id, "relationship": data.relationship},
    )
    return await writes.reread(db, session, principal, repository.RESOURCE, guardian_id)


async def unlink_student(
    db: Database, session: AsyncSession, principal: Principal, guardian_id: int, student_id: int
) -> None:
    guardian = await writes.load(db, session, principal, repository.RESOURCE, guardian_id)
    if not await repository.remove_link(session, guardian_id, student_id):
        raise NotFound("the student is not linked to this guardian")
    await cache.invalidate(session, tag.guardian(guardian_id))
    audit.record(
        session,
        principal,
        "unlink",
        "guardian",
        guardian_id,
        guardian.item["school_id"],
        {"student_id": student_id},
    )


STUDENT_GUARDIAN_FIELDS = ("id", "first_name", "last_name", "email", "phone", "relationship")


async def student_guardians(
    db: Database, principal: Principal, student_id: int
) -> list[dict[str, Any]]:
    """A student's guardians the caller may see (GET /guardians' scope: a guardian sees
    themself), each with their relationship to the student. One statement; none for a
    student out of scope."""
    rows = await repository.of_student(
        db, scope_kind(principal), scope_params(principal), student_id
    )
    return [dict(zip(STUDENT_GUARDIAN_FIELDS, row, strict=True)) for row in rows]


WRITES = Writes(create_guardian, update_guardian, delete_guardian)
