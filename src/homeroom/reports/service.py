"""Report cards and transcripts: the data a document shows, as plain dicts.

The same dict is the JSON form of a document and the only input of its PDF renderer
(reports/render.py), so the two can never disagree. Final percentages and letters come from
grades.service.summarize over the same rows /students/{id}/grades reads; nothing here
recomputes a grade.

Who sees what is the grades' rule: the student, their guardians, staff and admins of the
school see every section; a teacher sees the student's sections they teach (and the document
says it is partial).
"""

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.attendance import service as attendance_service
from homeroom.audit import service as audit
from homeroom.grades import service as grade_service
from homeroom.jobs import service as jobs
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import Forbidden, NotFound, ValidationFailed, field_error
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.reports import repository
from homeroom.reports.repository import (
    AssessmentLine,
    AttendanceCounts,
    SectionLine,
    StudentHeader,
)
from homeroom.reports.schemas import ReportCardsCreate

JOB_KIND = "report_cards"

# Letter -> grade points on a 4.0 scale (the letters of grades.calculation.LETTER_FLOORS).
GRADE_POINTS = {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "F": 0.0}
PASSING = frozenset({"A", "B", "C", "D"})
GPA_RULE = (
    "GPA on a 4.0 scale: A = 4, B = 3, C = 2, D = 1, F = 0, weighted by each course's "
    "credits; sections without a final grade yet are not counted"
)


def _text(value: Any) -> str | None:
    """Dates as ISO text whatever the driver returned (SQLite text, PostgreSQL date)."""
    if value is None or isinstance(value, str):
        return value
    return str(value.isoformat())


def _student(row: StudentHeader) -> dict[str, Any]:
    return {
        "id": row.id,
        "student_number": row.student_number,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "grade_level": row.grade_level,
    }


def _school(row: StudentHeader) -> dict[str, Any]:
    return {"id": row.school_id, "name": row.school_name}


def _term(term_id: int, name: str | None, start: Any, end: Any) -> dict[str, Any]:
    return {"id": term_id, "name": name, "start_date": _text(start), "end_date": _text(end)}


def _teacher(first: str | None, last: str | None) -> str | None:
    return None if first is None else f"{first} {last}"


Line = TypeVar("Line", SectionLine, AssessmentLine)


def _by_student(rows: Iterable[Line]) -> dict[int, list[Line]]:
    out: dict[int, list[Line]] = defaultdict(list)
    for row in rows:
        out[row.student_id].append(row)
    return out


def _due_order(row: AssessmentLine) -> tuple[bool, str, int]:
    due = _text(row.due_date)
    return (due is None, due or "", row.assessment_id)


def _sections(
    student_id: int,
    section_rows: Sequence[SectionLine],
    assessment_rows: Sequence[AssessmentLine],
) -> list[dict[str, Any]]:
    """Each section of the rows with its final percentage and letter (computed by
    grades.service.summarize), course, teacher, credits, term and the teacher's comments."""
    summary = grade_service.summarize(
        student_id, [r.grading for r in section_rows], [r.grading for r in assessment_rows]
    )
    details = {r.section_id: r for r in section_rows}
    comments: dict[int, list[AssessmentLine]] = defaultdict(list)
    for line in assessment_rows:
        if line.score is not None and line.comment and line.comment.strip():
            comments[line.section_id].append(line)
    out = []
    for section in summary["sections"]:
        row = details[section["section_id"]]
        out.append(
            {
                "section_id": section["section_id"],
                "section_name": row.section_name,
                "course_code": section["course_code"],
                "course_title": section["course_title"],
                "credits": float(row.credits),
                "teacher": _teacher(row.teacher_first, row.teacher_last),
                "term": _term(row.term_id, row.term_name, row.term_start, row.term_end),
                "final_percentage": section["final_percentage"],
                "letter": section["letter"],
                "categories": section["categories"],
                "comments": [
                    {
                        "assessment_id": c.assessment_id,
                        "assessment": c.title,
                        "comment": (c.comment or "").strip(),
                    }
                    for c in sorted(comments[section["section_id"]], key=_due_order)
                ],
            }
        )
    return out


def _attendance(row: AttendanceCounts | None) -> dict[str, Any]:
    counts = (row.total, row.present, row.absent, row.late, row.excused) if row else (0,) * 5
    total, present, absent, late, excused = (int(n) for n in counts)
    return {
        "total": total,
        "present": present,
        "absent": absent,
        "late": late,
        "excused": excused,
        "rate": attendance_service.rate(present, late, total),
    }


def build_report_card(
    student: dict[str, Any],
    school: dict[str, Any],
    term: dict[str, Any],
    partial: bool,
    section_rows: Sequence[SectionLine],
    assessment_rows: Sequence[AssessmentLine],
    attendance_row: AttendanceCounts | None,
) -> dict[str, Any]:
    sections = _sections(student["id"], section_rows, assessment_rows)
    for section in sections:
        del section["term"]  # the card's own term
    return {
        "school": school,
        "student": student,
        "term": term,
        "partial": partial,
        "sections": sections,
        "attendance": _attendance(attendance_row),
    }


def gpa(sections: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Credits attempted (sections with a letter), earned (A-D) and the credit-weighted GPA
    (None when nothing is attempted), rounded to two decimals once, at the end."""
    graded = [(s["letter"], s["credits"]) for s in sections if s["letter"] is not None]
    attempted = math.fsum(c for _, c in graded)
    earned = math.fsum(c for letter, c in graded if letter in PASSING)
    points = math.fsum(GRADE_POINTS[letter] * c for letter, c in graded)
    return {
        "credits_attempted": attempted,
        "credits_earned": earned,
        "gpa": round(points / attempted, 2) if attempted > 0 else None,
    }


def build_transcript(
    student: dict[str, Any],
    school: dict[str, Any],
    partial: bool,
    section_rows: Sequence[SectionLine],
    assessment_rows: Sequence[AssessmentLine],
    today: dt.date,
) -> dict[str, Any]:
    terms: dict[int, dict[str, Any]] = {}
    for section in _sections(student["id"], section_rows, assessment_rows):
        term = section.pop("term")
        del section["categories"], section["comments"]
        section["grade_points"] = GRADE_POINTS.get(section["letter"] or "")
        entry = terms.setdefault(
            term["id"],
            {
                "term": term,
                "in_progress": (term["end_date"] or "") >= today.isoformat(),
                "sections": [],
            },
        )
        entry["sections"].append(section)
    so_far: list[dict[str, Any]] = []
    for entry in terms.values():
        so_far += entry["sections"]
        entry |= gpa(entry["sections"])
        entry["cumulative_gpa"] = gpa(so_far)["gpa"]
    overall = gpa(so_far)
    return {
        "school": school,
        "student": student,
        "partial": partial,
        "terms": list(terms.values()),
        "credits_attempted": overall["credits_attempted"],
        "credits_earned": overall["credits_earned"],
        "cumulative_gpa": overall["gpa"],
        "gpa_scale": GRADE_POINTS,
    }


# --- one student ---------------------------------------------------------------------------------


async def report_card(
    db: Database, principal: Principal, student_id: int, term_id: int | None
) -> dict[str, Any]:
    """A student's report card for a term (default: the current or latest one they are
    enrolled in); four statements whatever the number of sections and assessments."""
    kind, scope = scope_kind(principal), scope_params(principal)
    mode: repository.TermMode = "auto" if term_id is None else "given"
    row = await repository.header(db, kind, scope, student_id, mode, term_id)
    if row is None:
        raise NotFound("student not found")
    if row.term_id is None:
        if term_id is not None:
            raise ValidationFailed(
                "term not found",
                errors=[field_error(["query", "term_id"], "no such term in the student's school")],
            )
        raise NotFound("the student's school has no terms yet: there is no report card")
    term = _term(row.term_id, row.term_name, row.term_start, row.term_end)
    teacher_only = kind == "teacher"
    params = {**scope, "student_id": student_id, "term_id": term["id"]}
    sections = await repository.sections(db, "one", teacher_only, True, params)
    assessments = (
        await repository.assessments(db, "one", teacher_only, True, params) if sections else []
    )
    attendance = await repository.attendance(db, "one", teacher_only, params)
    return build_report_card(
        _student(row),
        _school(row),
        term,
        teacher_only,
        sections,
        assessments,
        next(iter(attendance), None),
    )


async def transcript(db: Database, principal: Principal, student_id: int) -> dict[str, Any]:
    """A student's grades across every term with term and cumulative GPA; three statements."""
    kind, scope = scope_kind(principal), scope_params(principal)
    row = await repository.header(db, kind, scope, student_id, "none")
    if row is None:
        raise NotFound("student not found")
    teacher_only = kind == "teacher"
    params = {**scope, "student_id": student_id}
    sections = await repository.sections(db, "one", teacher_only, False, params)
    assessments = (
        await repository.assessments(db, "one", teacher_only, False, params) if sections else []
    )
    return build_transcript(
        _student(row), _school(row), teacher_only, sections, assessments, dt.date.today()
    )


# --- many students (the bulk job) ------------------------------------------------------------


def _body_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[field_error(["body", field], message)])


async def submit_report_cards(
    db: Database, session: AsyncSession, principal: Principal, data: ReportCardsCreate
) -> dict[str, Any]:
    """Queues a job making the report card of every student of a section or a grade level.

    Staff and admins for any section or grade level of their school; a teacher for a section
    they teach. The job reads through the submitter's own scopes.
    """
    kind, scope = scope_kind(principal), scope_params(principal)
    params: dict[str, Any]
    if data.section_id is not None:
        section = await repository.section_target(db, kind, scope, data.section_id)
        if section is None:
            raise _body_error("section_id", "no such section")
        school_id, term_id = section.school_id, section.term_id
        if principal.role == "teacher" and section.teacher_id != principal.profile_id:
            raise Forbidden("a teacher may make report cards only for a section they teach")
        if data.term_id is not None and data.term_id != term_id:
            raise _body_error("term_id", f"the section belongs to term {term_id}")
        params = {"term_id": term_id, "section_id": data.section_id}
    else:
        if principal.role == "teacher":
            raise Forbidden("a teacher may make report cards only for a section they teach")
        assert data.term_id is not None and data.grade_level is not None  # the schema says so
        term = await repository.term_target(db, kind, scope, data.term_id)
        if term is None:
            raise _body_error("term_id", "no such term")
        school_id = term.school_id
        params = {"term_id": data.term_id, "grade_level": data.grade_level}
    job = await jobs.submit(session, principal, JOB_KIND, params, school_id=school_id)
    audit.record(
        session, principal, "create", "job", job["id"], school_id, {"kind": JOB_KIND, **params}
    )
    return job


class Target:
    """What a bulk job covers, resolved again when it runs (things change after submission)."""

    def __init__(
        self, term: dict[str, Any], label: str, who: repository.Who, params: dict[str, Any]
    ) -> None:
        self.term = term
        self.label = label
        self.who = who
        self.params = params


async def resolve_target(db: Database, owner: Principal, params: dict[str, Any]) -> Target | None:
    """The job's term and students' shape, or None when the section or term is gone or no
    longer visible to its owner."""
    kind, scope = scope_kind(owner), scope_params(owner)
    term_row = await repository.term_target(db, kind, scope, int(params["term_id"]))
    if term_row is None:
        return None
    term = _term(term_row.id, term_row.name, term_row.start_date, term_row.end_date)
    if params.get("section_id") is not None:
        section = await repository.section_target(db, kind, scope, int(params["section_id"]))
        if section is None or section.term_id != term_row.id:
            return None
        if owner.role == "teacher" and section.teacher_id != owner.profile_id:
            return None
        label = f"{section.course_code} section {section.name}"
        return Target(term, label, "section", {"target_section": section.id})
    grade_level = int(params["grade_level"])
    label = f"grade {grade_level}"
    target = {"target_school": term_row.school_id, "target_grade": grade_level}
    return Target(term, label, "grade", target)


async def roster(db: Database, owner: Principal, target: Target) -> list[StudentHeader]:
    """The students of the target the owner may see, by id."""
    kind, scope = scope_kind(owner), scope_params(owner)
    params = {**target.params, "term_id": target.term["id"]}
    return await repository.roster(db, kind, scope, target.who == "section", params)


async def report_cards(
    db: Database, owner: Principal, target: Target, students: Sequence[StudentHeader]
) -> list[dict[str, Any]]:
    """The report cards of a batch of the roster (consecutive, ordered by id): three
    statements whatever the batch's size."""
    kind, scope = scope_kind(owner), scope_params(owner)
    teacher_only = kind == "teacher"
    params = {
        **scope,
        **target.params,
        "term_id": target.term["id"],
        "first_id": min(s.id for s in students),
        "last_id": max(s.id for s in students),
    }
    sections = _by_student(await repository.sections(db, target.who, teacher_only, True, params))
    assessments = _by_student(
        await repository.assessments(db, target.who, teacher_only, True, params)
    )
    attendance = {
        r.student_id: r for r in await repository.attendance(db, target.who, teacher_only, params)
    }
    return [
        build_report_card(
            _student(row),
            _school(row),
            target.term,
            teacher_only,
            sections.get(row.id, []),
            assessments.get(row.id, []),
            attendance.get(row.id),
        )
        for row in students
    ]
