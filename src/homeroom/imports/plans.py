"""Each kind's checks against the database and its writes.

`check` reads what the file refers to (a constant number of statements), adds a row error for
every row the domain's rules refuse, and returns a Plan: the counts and, for a real import,
the set-based writes to make. The rules are those of the single and bulk writes, called from
the domains' `rules.py` (enrollment seats, a teacher's own sections, scores within max
points), and attendance and grades for enrolled students only; the messages say which row and
which value.

Counts are rows: every valid row either created something, changed something, or matched
what is stored already (unchanged). Empty optional cells leave stored values as they are.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.attendance import repository as attendance_repository
from homeroom.enrollments import rules as enrollment_rules
from homeroom.grades import repository as grades_repository
from homeroom.grades import rules as grade_rules
from homeroom.imports import repository
from homeroom.imports.repository import (
    AssessmentRow,
    AttendanceRow,
    EnrollmentRow,
    GradebookRow,
    SectionRow,
    StudentRef,
)
from homeroom.imports.rows import Prepared, Record
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database, Reader
from homeroom.kit.tags import Tag
from homeroom.models import Enrollment, Guardian, Student, utcnow
from homeroom.sections import rules as section_rules

Write = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class Context:
    db: Database
    reader: Reader
    principal: Principal
    school_id: int
    prepared: Prepared
    real: bool  # a real import: lock what must stay as checked until commit

    def fail(self, record: Record, column: str | None, message: str, value: Any = None) -> None:
        text = record.cells.get(column, "") if column and value is None else value
        self.prepared.add_error(record.row, column, None if text is None else str(text), message)

    @property
    def is_teacher(self) -> bool:
        return self.principal.role == "teacher"


@dataclass
class Plan:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    writes: list[Write] = field(default_factory=list)
    tags: set[Tag] = field(default_factory=set)
    details: dict[str, Any] = field(default_factory=dict)

    async def write(self, session: AsyncSession) -> None:
        for step in self.writes:
            await step(session)


def _plain(value: Any) -> Any:
    """A stored value as the import compares it (raw SQLite reads give dates as text)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _first_rows(
    ctx: Context, records: list[Record], key: Callable[[Record], Any], column: str, what: str
) -> list[Record]:
    """The records whose key appears for the first time; later ones are row errors."""
    first: dict[Any, int] = {}
    kept = []
    for record in records:
        k = key(record)
        if k in first:
            ctx.fail(record, column, f"{what} is already on row {first[k]}")
            continue
        first[k] = record.row
        kept.append(record)
    return kept


# --- students ----------------------------------------------------------------------------------

STUDENT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "date_of_birth",
    "grade_level",
    "status",
)


async def check_students(ctx: Context) -> Plan:
    records = ctx.prepared.records
    rows = await repository.students_for_upsert(
        ctx.db,
        ctx.reader,
        ctx.school_id,
        {r.values["student_number"] for r in records},
        {r.values["email"] for r in records},
    )
    by_number = {r.student_number: r for r in rows if r.school_id == ctx.school_id}
    by_email = {r.email: r for r in rows}
    records = _first_rows(
        ctx, records, lambda r: r.values["student_number"], "student_number", "this student number"
    )
    records = _first_rows(ctx, records, lambda r: r.values["email"], "email", "this email")
    in_file = set(ctx.prepared.headers) & set(STUDENT_FIELDS)
    plan = Plan()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    created_numbers: list[str] = []
    updated_numbers: list[str] = []
    now = utcnow()
    for record in records:
        values = record.values
        number = values["student_number"]
        existing = by_number.get(number)
        owner = by_email.get(values["email"])
        failed = False
        if owner is not None and (existing is None or owner.id != existing.id):
            where = (
                "of another school"
                if owner.school_id != ctx.school_id
                else f"number {owner.student_number}"
            )
            ctx.fail(record, "email", f"this email belongs to another student ({where})")
            failed = True
        if existing is not None and existing.archived_at is not None:
            ctx.fail(
                record,
                "student_number",
                "this student is archived; restore them (POST /api/v1/students/"
                f"{existing.id}/restore) before importing changes",
            )
            failed = True
        if failed:
            continue
        if existing is None:
            inserts.append(
                {
                    "school_id": ctx.school_id,
                    "student_number": number,
                    **{f: values.get(f) for f in STUDENT_FIELDS},
                    "status": values.get("status") or "active",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            created_numbers.append(number)
            continue
        stored = existing._asdict()
        new = {f: values.get(f, stored[f]) for f in in_file}
        if all(_plain(new[f]) == _plain(stored[f]) for f in in_file):
            plan.unchanged += 1
            continue
        updates.append({"id": existing.id, **new, "updated_at": now})
        updated_numbers.append(number)
        plan.tags.add(tag.student(existing.id))

    plan.created, plan.updated = len(inserts), len(updates)
    if inserts or updates:
        plan.tags.update(tag.school_writes(ctx.school_id, "people"))
    if inserts:
        plan.writes.append(lambda s: repository.insert_rows(s, ctx.db, Student, inserts))
    if updates:
        plan.writes.append(lambda s: repository.update_by_id(s, ctx.db, Student, updates))
    plan.details = {"created": created_numbers, "updated": updated_numbers}
    return plan


# --- guardians ---------------------------------------------------------------------------------

GUARDIAN_FIELDS = ("first_name", "last_name", "phone")


async def check_guardians(ctx: Context) -> Plan:
    records = ctx.prepared.records
    emails = {r.values["email"] for r in records}
    numbers = {r.values["student_number"] for r in records if r.values.get("student_number")}
    guardians = {
        r.email: r for r in await repository.guardians_by_email(ctx.db, ctx.reader, emails)
    }
    students = {
        r.student_number: r
        for r in await repository.students_by_number(ctx.db, ctx.reader, ctx.school_id, numbers)
    }
    links = {(g, s): rel for g, s, rel in await repository.links_of(ctx.db, ctx.reader, emails)}
    records = _first_rows(
        ctx,
        records,
        lambda r: (r.values["email"], r.values.get("student_number") or r.row),
        "student_number",
        "this guardian and student",
    )
    plan = Plan()
    # email -> the guardian's values as the first row of that email gives them
    first_of: dict[str, Record] = {}
    new_guardians: dict[str, dict[str, Any]] = {}
    guardian_updates: dict[str, dict[str, Any]] = {}
    new_links: list[tuple[str, int, str]] = []
    link_updates: list[dict[str, Any]] = []
    changed_guardians: set[int] = set()
    now = utcnow()
    for record in records:
        values = record.values
        email = values["email"]
        existing = guardians.get(email)
        failed = False
        if existing is not None and existing.school_id != ctx.school_id:
            ctx.fail(record, "email", "this email belongs to a guardian of another school")
            failed = True
        first = first_of.setdefault(email, record)
        for name in GUARDIAN_FIELDS:
            mine, theirs = values.get(name), first.values.get(name)
            if first is not record and mine is not None and theirs is not None and mine != theirs:
                ctx.fail(record, name, f"row {first.row} gives this guardian another {name}")
                failed = True
        number = values.get("student_number")
        student = students.get(number) if number else None
        if number and student is None:
            ctx.fail(record, "student_number", "no student with this number in the school")
            failed = True
        if failed:
            continue

        created = changed = False
        if existing is None:
            if email not in new_guardians:
                new_guardians[email] = {
                    "school_id": ctx.school_id,
                    "email": email,
                    "first_name": values["first_name"],
                    "last_name": values["last_name"],
                    "phone": values.get("phone"),
                    "created_at": now,
                    "updated_at": now,
                }
                created = True
            elif values.get("phone") and not new_guardians[email]["phone"]:
                new_guardians[email]["phone"] = values["phone"]
        elif email not in guardian_updates:
            stored = {f: getattr(existing, f) for f in GUARDIAN_FIELDS}
            new = {f: values.get(f) or stored[f] for f in GUARDIAN_FIELDS}
            if new != stored:
                guardian_updates[email] = {"id": existing.id, **new, "updated_at": now}
                changed = True
        if student is not None:
            relationship = values.get("relationship")
            stored_rel = links.get((existing.id, student.id)) if existing is not None else None
            if stored_rel is None:
                new_links.append((email, student.id, relationship or "guardian"))
                created = True
                if existing is not None:
                    changed_guardians.add(existing.id)
            elif existing is not None and relationship and relationship != stored_rel:
                link_updates.append(
                    {
                        "b_student": student.id,
                        "b_guardian": existing.id,
                        "b_relationship": relationship,
                    }
                )
                changed = True
                changed_guardians.add(existing.id)
        if created:
            plan.created += 1
        elif changed:
            plan.updated += 1
        else:
            plan.unchanged += 1

    plan.tags.update(tag.guardian(g) for g in changed_guardians)
    new_emails = set(new_guardians)

    async def write(session: AsyncSession) -> None:
        if new_guardians:
            await repository.insert_rows(session, ctx.db, Guardian, list(new_guardians.values()))
        ids = {e: g.id for e, g in guardians.items() if e not in new_emails}
        if new_links and new_emails:
            ids |= await repository.guardian_ids(session, ctx.db, new_emails)
        if new_links:
            await repository.insert_links(
                session,
                [
                    {"guardian_id": ids[e], "student_id": s, "relationship": rel}
                    for e, s, rel in new_links
                ],
            )
        if link_updates:
            await repository.update_links(session, link_updates)
        if guardian_updates:
            await repository.update_by_id(
                session, ctx.db, Guardian, list(guardian_updates.values())
            )

    plan.writes.append(write)
    plan.details = {
        "created": sorted(new_guardians),
        "updated": sorted(guardian_updates),
        "links_created": len(new_links),
        "links_updated": len(link_updates),
    }
    return plan


# --- sections named in a file ------------------------------------------------------------------


def _same_name(a: str, b: str) -> bool:
    """Section names compare without case, and '1' is '01' (Excel drops leading zeros)."""
    if a.casefold() == b.casefold():
        return True
    return a.isdigit() and b.isdigit() and int(a) == int(b)


class Sections:
    """The school's sections, found by id or by course code, section name and term."""

    def __init__(self, rows: list[SectionRow]) -> None:
        self.by_id = {r.id: r for r in rows}
        self.by_code: dict[str, list[SectionRow]] = defaultdict(list)
        for r in rows:
            self.by_code[r.course_code.casefold()].append(r)

    def find(self, ctx: Context, record: Record) -> SectionRow | None:
        values = record.values
        section_id = values.get("section_id")
        code = values.get("course_code")
        if section_id is not None:
            found = self.by_id.get(section_id)
            if found is None:
                ctx.fail(record, "section_id", "no section with this id in the school")
            elif code is not None and found.course_code.casefold() != code.casefold():
                message = f"section {section_id} is a section of {found.course_code}"
                ctx.fail(record, "course_code", message)
                return None
            return found
        assert code is not None
        candidates = self.by_code.get(code.casefold(), [])
        if not candidates:
            ctx.fail(record, "course_code", "no course with this code in the school")
            return None
        term = values.get("term")
        if term is not None:
            terms = sorted({c.term_name for c in candidates})
            candidates = [c for c in candidates if c.term_name.casefold() == term.casefold()]
            if not candidates:
                ctx.fail(
                    record,
                    "term",
                    f"{code} is not taught in this term (it is in: {', '.join(terms)})",
                )
                return None
        name = values.get("section")
        if name is not None:
            names = sorted({c.name for c in candidates})
            candidates = [c for c in candidates if _same_name(c.name, name)]
            if not candidates:
                ctx.fail(
                    record,
                    "section",
                    f"{code} has no such section (its sections: {', '.join(names)})",
                )
                return None
        terms = sorted({c.term_name for c in candidates})
        if len(terms) > 1:
            ctx.fail(
                record,
                "term" if "term" in ctx.prepared.headers else "course_code",
                f"{code} is taught in several terms ({', '.join(terms)}): name one in a term "
                "column",
            )
            return None
        if len(candidates) > 1:
            names = sorted(c.name for c in candidates)
            ctx.fail(
                record,
                "section" if "section" in ctx.prepared.headers else "course_code",
                f"{code} has several sections ({', '.join(names)}): name one in a section column",
            )
            return None
        (section,) = candidates
        return section


def _label(section: SectionRow) -> str:
    return f"{section.course_code} section {section.name} ({section.term_name})"


async def _sections_and_students(
    ctx: Context, needs_section: Callable[[Record], bool] = lambda r: True
) -> tuple[list[tuple[Record, SectionRow | None, StudentRef | None]], Sections]:
    """Each record with its section (or None) and student (or None), row errors for what is
    unknown or out of the caller's reach. Two statements."""
    records = ctx.prepared.records
    sections = Sections(await repository.sections_of_school(ctx.db, ctx.reader, ctx.school_id))
    numbers = {r.values["student_number"] for r in records}
    teacher = ctx.principal.profile_id if ctx.is_teacher else None
    students = {
        r.student_number: r
        for r in await repository.students_by_number(
            ctx.db, ctx.reader, ctx.school_id, numbers, teacher
        )
    }
    out = []
    for record in records:
        section = sections.find(ctx, record) if needs_section(record) else None
        if section is not None and not section_rules.may_write(ctx.principal, section.teacher_id):
            message = section_rules.not_teacher_message(_label(section))
            ctx.fail(record, _section_column(record), message)
            section = None
        student = students.get(record.values["student_number"])
        if student is None:
            message = (
                "no student with this number in your sections"
                if ctx.is_teacher
                else "no student with this number in the school"
            )
            ctx.fail(record, "student_number", message)
        elif student.archived_at is not None:
            ctx.fail(record, "student_number", "this student is archived")
            student = None
        out.append((record, section, student))
    return out, sections


def _section_column(record: Record) -> str:
    return "section_id" if "section_id" in record.values else "course_code"


# --- enrollments -------------------------------------------------------------------------------


async def check_enrollments(ctx: Context) -> Plan:
    resolved, _ = await _sections_and_students(ctx)
    pairs = [(r, sec, st) for r, sec, st in resolved if sec is not None and st is not None]
    section_ids = {sec.id for _, sec, _ in pairs}
    student_ids = {st.id for _, _, st in pairs}
    existing = {
        (row.student_id, row.section_id): row
        for row in await repository.enrollments_of(ctx.db, ctx.reader, section_ids, student_ids)
    }
    taken = await repository.seats_taken(ctx.db, ctx.reader, section_ids, lock=ctx.real)
    first: dict[tuple[int, int], int] = {}
    plan = Plan()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    decided: list[tuple[Record, SectionRow, int, str, EnrollmentRow | None]] = []  # student id
    for record, section, student in pairs:
        key = (student.id, section.id)
        if key in first:
            ctx.fail(
                record,
                _section_column(record),
                f"this student and section are already on row {first[key]}",
            )
            continue
        first[key] = record.row
        if record.row in ctx.prepared.invalid_rows:
            continue
        stored = existing.get(key)
        status = record.values.get("status") or (stored.status if stored else "enrolled")
        decided.append((record, section, student.id, status, stored))
    # Seats: what stays enrolled, plus what the file enrolls, in file order; drops free first.
    for _, section, _, status, stored in decided:
        if stored is not None and stored.status == "enrolled" and status != "enrolled":
            taken[section.id] = taken.get(section.id, 0) - 1
    now = utcnow()
    for record, section, student_id, status, stored in decided:
        joins = status == "enrolled" and (stored is None or stored.status != "enrolled")
        if joins:
            if not enrollment_rules.has_seat(taken.get(section.id, 0), section.capacity):
                message = enrollment_rules.full_message(_label(section), section.capacity)
                ctx.fail(record, _section_column(record), message)
                continue
            taken[section.id] = taken.get(section.id, 0) + 1
        if stored is None:
            inserts.append(
                {
                    "school_id": ctx.school_id,
                    "student_id": student_id,
                    "section_id": section.id,
                    "status": status,
                    "enrolled_at": now,
                }
            )
        elif stored.status != status:
            updates.append({"id": stored.id, "status": status})
        else:
            plan.unchanged += 1
            continue
        plan.tags.update((tag.student(student_id), tag.section(section.id)))

    plan.created, plan.updated = len(inserts), len(updates)
    if inserts:
        plan.writes.append(lambda s: repository.insert_rows(s, ctx.db, Enrollment, inserts))
    if updates:
        plan.writes.append(lambda s: repository.update_by_id(s, ctx.db, Enrollment, updates))
    plan.details = {"created": len(inserts), "updated": len(updates)}
    return plan


# --- grades ------------------------------------------------------------------------------------


async def check_grades(ctx: Context) -> Plan:
    resolved, sections = await _sections_and_students(
        ctx, lambda r: "assessment_id" not in r.values
    )
    ids = {r.values["assessment_id"] for r in ctx.prepared.records if "assessment_id" in r.values}
    titled_sections = {sec.id for _, sec, _ in resolved if sec is not None}
    assessments = await repository.assessments_for(
        ctx.db, ctx.reader, ctx.school_id, titled_sections, ids
    )
    by_id = {a.id: a for a in assessments}
    by_title: dict[tuple[int, str], list[AssessmentRow]] = defaultdict(list)
    for a in assessments:
        by_title[(a.section_id, a.title.casefold())].append(a)

    chosen: list[tuple[Record, AssessmentRow, SectionRow, StudentRef]] = []
    for record, section, student in resolved:
        values = record.values
        assessment: AssessmentRow | None = None
        if "assessment_id" in values:
            assessment = by_id.get(values["assessment_id"])
            if assessment is None:
                ctx.fail(record, "assessment_id", "no assessment with this id in the school")
            else:
                section = sections.by_id.get(assessment.section_id)
                if section is not None and not section_rules.may_write(
                    ctx.principal, section.teacher_id
                ):
                    message = section_rules.not_teacher_message(_label(section))
                    ctx.fail(record, "assessment_id", message)
                    assessment = None
        elif section is not None:
            found = by_title.get((section.id, values["assessment"].casefold()), [])
            if not found:
                ctx.fail(
                    record, "assessment", f"{_label(section)} has no assessment with this title"
                )
            elif len(found) > 1:
                ctx.fail(
                    record,
                    "assessment",
                    f"{len(found)} assessments of {_label(section)} have this title: use "
                    "assessment_id (" + ", ".join(str(a.id) for a in found) + ")",
                )
            else:
                (assessment,) = found
        if assessment is not None and not grade_rules.score_in_range(
            values["score"], assessment.max_points
        ):
            ctx.fail(record, "score", grade_rules.score_range_message(assessment.max_points))
            assessment = None
        if assessment is not None and section is not None and student is not None:
            chosen.append((record, assessment, section, student))

    first: dict[tuple[int, int], int] = {}
    unique: list[tuple[Record, AssessmentRow, SectionRow, StudentRef]] = []
    for item in chosen:
        record, assessment, _, student = item
        key = (student.id, assessment.id)
        if key in first:
            ctx.fail(
                record,
                "student_number",
                f"this student's score for this assessment is already on row {first[key]}",
            )
            continue
        first[key] = record.row
        unique.append(item)

    book = await repository.gradebook_of(
        ctx.db,
        ctx.reader,
        {section.id for _, _, section, _ in unique},
        {student.id for _, _, _, student in unique},
        {assessment.id for _, assessment, _, _ in unique},
    )
    enrolled = {
        (r.student_id, r.section_id): r.enrollment_id for r in book if r.status != "dropped"
    }
    grades: dict[tuple[int, int | None], GradebookRow] = {
        (r.student_id, r.assessment_id): r for r in book if r.grade_id is not None
    }
    plan = Plan()
    upserts: list[tuple[Any, ...]] = []
    now = utcnow()
    for record, assessment, section, student in unique:
        if record.row in ctx.prepared.invalid_rows:
            continue
        enrollment_id = enrolled.get((student.id, section.id))
        if enrollment_id is None:
            ctx.fail(record, "student_number", f"the student is not enrolled in {_label(section)}")
            continue
        score = record.values["score"]
        comment = record.values.get("comment")
        stored = grades.get((student.id, assessment.id))
        if stored is None:
            plan.created += 1
            stored_comment = ""
        elif stored.score != score or (comment is not None and comment != stored.comment):
            plan.updated += 1
            stored_comment = stored.comment or ""
        else:
            plan.unchanged += 1
            continue
        upserts.append(
            (
                ctx.school_id,
                enrollment_id,
                assessment.id,
                student.id,
                score,
                stored_comment if comment is None else comment,
                ctx.principal.user_id,
                now,
            )
        )
        plan.tags.add(tag.student(student.id))

    async def write(session: AsyncSession) -> None:
        await grades_repository.upsert_grades(session, upserts, set_comment=True)

    if upserts:
        plan.writes.append(write)
    plan.details = {
        "created": plan.created,
        "updated": plan.updated,
        "assessment_ids": sorted({assessment.id for _, assessment, _, _ in unique}),
    }
    return plan


# --- attendance --------------------------------------------------------------------------------


async def check_attendance(ctx: Context) -> Plan:
    resolved, _ = await _sections_and_students(ctx)
    items = [
        (r, sec, st)
        for r, sec, st in resolved
        if sec is not None and st is not None and r.row not in ctx.prepared.invalid_rows
    ]
    first: dict[tuple[int, int, dt.date], int] = {}
    unique = []
    for record, section, student in items:
        key = (student.id, section.id, record.values["date"])
        if key in first:
            ctx.fail(
                record,
                "date",
                f"this student's mark for this section and day is already on row {first[key]}",
            )
            continue
        first[key] = record.row
        unique.append((record, section, student))
    section_ids = {section.id for _, section, _ in unique}
    student_ids = {student.id for _, _, student in unique}
    dates = {r.values["date"] for r, _, _ in unique}
    enrolled = {
        (row.student_id, row.section_id)
        for row in await repository.enrollments_of(ctx.db, ctx.reader, section_ids, student_ids)
        if row.status != "dropped"
    }
    sessions: dict[tuple[int, str], int] = {}
    records: dict[tuple[int, str, int], AttendanceRow] = {}
    for row in await repository.attendance_of(ctx.db, ctx.reader, section_ids, dates, student_ids):
        iso_day = _plain(row.date)
        sessions[(row.section_id, iso_day)] = row.session_id
        if row.student_id is not None:
            records[(row.section_id, iso_day, row.student_id)] = row
    plan = Plan()
    upserts: list[dict[str, Any]] = []
    missing: dict[tuple[int, dt.date], dict[str, Any]] = {}
    now = utcnow()
    for record, section, student in unique:
        if (student.id, section.id) not in enrolled:
            ctx.fail(record, "student_number", f"the student is not enrolled in {_label(section)}")
            continue
        day: dt.date = record.values["date"]
        status = record.values["status"]
        note = record.values.get("note")
        stored = records.get((section.id, day.isoformat(), student.id))
        if stored is not None and stored.status == status and (note is None or note == stored.note):
            plan.unchanged += 1
            continue
        if stored is None:
            plan.created += 1
        else:
            plan.updated += 1
        if (section.id, day.isoformat()) not in sessions:
            missing[(section.id, day)] = {
                "school_id": ctx.school_id,
                "section_id": section.id,
                "date": day,
                "created_at": now,
            }
        upserts.append(
            {
                "school_id": ctx.school_id,
                "section_id": section.id,
                "date": day,
                "student_id": student.id,
                "status": status,
                "note": (stored.note if stored is not None else "") if note is None else note,
                "recorded_by": ctx.principal.user_id,
                "recorded_at": now,
            }
        )
        plan.tags.update((tag.section_attendance(section.id), tag.student(student.id)))

    async def write(session: AsyncSession) -> None:
        ids = {(s, dt.date.fromisoformat(d)): i for (s, d), i in sessions.items()}
        if missing:
            ids |= await repository.add_sessions(session, ctx.db, list(missing.values()))
        rows = [
            (
                u["school_id"],
                ids[(u["section_id"], u["date"])],
                u["student_id"],
                u["status"],
                u["note"],
                u["recorded_by"],
                u["recorded_at"],
            )
            for u in upserts
        ]
        await attendance_repository.upsert_records(session, rows)

    if upserts:
        plan.writes.append(write)
    plan.details = {
        "created": plan.created,
        "updated": plan.updated,
        "sessions_created": len(missing),
    }
    return plan


CHECKS: dict[str, Callable[[Context], Awaitable[Plan]]] = {
    "students": check_students,
    "guardians": check_guardians,
    "enrollments": check_enrollments,
    "grades": check_grades,
    "attendance": check_attendance,
}
