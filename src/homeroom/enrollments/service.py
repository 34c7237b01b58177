"""Business rules for enrollments. Never commits: the request's unit of work does.

One validation serves the single and the bulk write: every referenced student and section is
fetched in one statement each, so checking 1,000 rows costs what checking one does.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.enrollments import repository, rules
from homeroom.enrollments.schemas import EnrollmentBulkCreate, EnrollmentCreate, EnrollmentUpdate
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database
from homeroom.kit.errors import Conflict, ValidationFailed, field_error
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.writes import Target

# --- validation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    index: int
    field: str
    message: str
    conflict: bool = False  # clashes with existing data (409 for a single write)


@dataclass(frozen=True, slots=True)
class Checked:
    problems: list[Problem]
    school_of_section: dict[int, int]


async def _check(
    session: AsyncSession, principal: Principal, rows: Sequence[EnrollmentCreate]
) -> Checked:
    kind, scope = scope_kind(principal), scope_params(principal)
    student_ids = {r.student_id for r in rows}
    section_ids = {r.section_id for r in rows}
    students = await repository.students_by_id(session, kind, scope, student_ids)
    sections = await repository.sections_by_id(session, kind, scope, section_ids)
    existing = await repository.existing_pairs(session, student_ids, section_ids)

    problems: list[Problem] = []
    taken = {sid: s.enrolled for sid, s in sections.items()}
    first_row: dict[tuple[int, int], int] = {}
    for i, row in enumerate(rows):
        student, section = students.get(row.student_id), sections.get(row.section_id)
        found: list[Problem] = []
        if student is None:
            found.append(Problem(i, "student_id", f"unknown student {row.student_id}"))
        elif student.archived:
            found.append(Problem(i, "student_id", f"student {row.student_id} is archived"))
        if section is None:
            found.append(Problem(i, "section_id", f"unknown section {row.section_id}"))
        if student is not None and section is not None and student.school_id != section.school_id:
            found.append(
                Problem(i, "section_id", "the section belongs to another school than the student")
            )
        pair = (row.student_id, row.section_id)
        if pair in first_row:
            found.append(Problem(i, "section_id", f"duplicates row {first_row[pair]}"))
        else:
            first_row[pair] = i
            if pair in existing:
                found.append(
                    Problem(
                        i, "section_id", "the student is already enrolled in this section", True
                    )
                )
        if not found and section is not None and row.status == "enrolled":
            if rules.has_seat(taken[row.section_id], section.capacity):
                taken[row.section_id] += 1
            else:
                message = rules.full_message(f"section {row.section_id}", section.capacity)
                found.append(Problem(i, "section_id", message, True))
        problems += found
    return Checked(problems, {sid: s.school_id for sid, s in sections.items()})


def _raise_single(problems: list[Problem]) -> None:
    invalid = [p for p in problems if not p.conflict]
    if invalid:
        first, *_ = invalid
        raise ValidationFailed(
            first.message,
            errors=[field_error(["body", p.field], p.message) for p in invalid],
        )
    if problems:
        first, *_ = problems
        raise Conflict(first.message)


# --- writes -----------------------------------------------------------------------------------


async def _changed(session: AsyncSession, *pairs: tuple[int, int]) -> None:
    """An enrollment changes its student's pages (sections, grades, who may see them) and its
    section's page (enrolled count, who may see it)."""
    await cache.invalidate(
        session, *(t for s, c in pairs for t in (tag.student(s), tag.section(c)))
    )


async def create_enrollment(
    db: Database, session: AsyncSession, principal: Principal, data: EnrollmentCreate
) -> dict[str, Any]:
    """Enroll a student in a section of their school (409 when the section is full)."""
    checked = await _check(session, principal, [data])
    _raise_single(checked.problems)
    school_id = checked.school_of_section[data.section_id]
    values = data.model_dump()
    enrollment = await writes.insert(
        db, session, principal, repository.RESOURCE, {"school_id": school_id, **values}
    )
    audit.record(session, principal, "create", "enrollment", enrollment["id"], school_id, values)
    await _changed(session, (data.student_id, data.section_id))
    return enrollment


async def create_bulk(
    session: AsyncSession, principal: Principal, data: EnrollmentBulkCreate
) -> dict[str, Any]:
    """All or nothing: any bad row fails the whole batch with an error naming each bad row."""
    rows = data.enrollments
    checked = await _check(session, principal, rows)
    if checked.problems:
        raise ValidationFailed(
            f"{len({p.index for p in checked.problems})} of {len(rows)} enrollments are invalid;"
            " nothing was saved",
            errors=[
                field_error(["body", "enrollments", p.index, p.field], p.message)
                for p in checked.problems
            ],
        )
    values = [
        {**row.model_dump(), "school_id": checked.school_of_section[row.section_id]} for row in rows
    ]
    created = await repository.insert_many(session, values)
    items = [repository.RESOURCE.item(r) for r in created]
    await _changed(session, *((row.student_id, row.section_id) for row in rows))
    schools = {v["school_id"] for v in values}
    audit.record(
        session,
        principal,
        "bulk_create",
        "enrollment",
        None,
        schools.pop() if len(schools) == 1 else principal.school_id,
        {"count": len(items), "ids": [item["id"] for item in items]},
    )
    return {"created": len(items), "items": items}


async def update_enrollment(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    target: Target,
    data: EnrollmentUpdate,
) -> dict[str, Any]:
    """Change an enrollment's status (enrolled, dropped, completed)."""
    enrollment = await writes.load(db, session, principal, repository.RESOURCE, target)
    current = enrollment.item
    section_id = current["section_id"]
    changes = data.changes()
    if changes.get("status") == "enrolled" and current["status"] != "enrolled":
        kind, scope = scope_kind(principal), scope_params(principal)
        section = (await repository.sections_by_id(session, kind, scope, [section_id]))[section_id]
        if not rules.has_seat(section.enrolled, section.capacity):
            raise Conflict(rules.full_message(f"section {section_id}", section.capacity))
    updated = await writes.update(db, session, principal, repository.RESOURCE, enrollment, changes)
    audit.record(
        session, principal, "update", "enrollment", target.id, current["school_id"], changes
    )
    await _changed(session, (current["student_id"], section_id))
    return updated


async def delete_enrollment(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete an enrollment (its grades go with it; PATCH status=dropped keeps them)."""
    enrollment = await writes.load(db, session, principal, repository.RESOURCE, target)
    current = enrollment.item
    audit.record(
        session,
        principal,
        "delete",
        "enrollment",
        target.id,
        current["school_id"],
        {"student_id": current["student_id"], "section_id": current["section_id"]},
    )
    await writes.delete(session, repository.RESOURCE, target.id)
    await _changed(session, (current["student_id"], current["section_id"]))


# --- reads ----------------------------------------------------------------------------------------

STUDENT_ENROLLMENT_FIELDS = (
    "id",
    "section_id",
    "status",
    "enrolled_at",
    "section_name",
    "course_code",
    "course_title",
    "term_name",
    "teacher_first_name",
    "teacher_last_name",
)


async def student_enrollments(
    db: Database, principal: Principal, student_id: int
) -> list[dict[str, Any]]:
    """A student's enrollments the caller may see, as GET /enrollments?student_id= scopes
    them (a teacher: those of their own sections), each with its section's course, term and
    teacher, newest term first. One statement; none for a student out of scope."""
    rows = await repository.student_enrollments(
        db, scope_kind(principal), scope_params(principal), student_id
    )
    return [dict(zip(STUDENT_ENROLLMENT_FIELDS, row, strict=True)) for row in rows]


WRITES = Writes(create_enrollment, update_enrollment, delete_enrollment)
