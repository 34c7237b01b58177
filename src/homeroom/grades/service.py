"""Business rules for grades. Never commits: the request's unit of work does."""

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.grades import calculation, repository, rules
from homeroom.grades.schemas import BulkGrades, GradeCreate, GradeUpdate
from homeroom.kit import cache, writes
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal
from homeroom.kit.crud import Writes
from homeroom.kit.db import Database, SessionReader
from homeroom.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.writes import Target
from homeroom.models import utcnow
from homeroom.sections import rules as section_rules
from homeroom.students import service as student_service


def _no_assessment() -> ValidationFailed:
    return ValidationFailed(
        "assessment not found",
        errors=[field_error(["body", "assessment_id"], "no such assessment")],
    )


def _score_error(loc: list[str | int], max_points: float) -> dict[str, Any]:
    return field_error(loc, rules.score_range_message(max_points))


def _not_enrolled(loc: list[str | int]) -> dict[str, Any]:
    return field_error(loc, "the student is not enrolled in the assessment's section")


async def create_grade(
    db: Database, session: AsyncSession, principal: Principal, data: GradeCreate
) -> dict[str, Any]:
    """Record one student's score on an assessment."""
    targets = await repository.grading_targets(
        db,
        SessionReader(session),
        scope_kind(principal),
        scope_params(principal),
        data.assessment_id,
        [data.student_id],
    )
    if not targets:
        raise _no_assessment()
    target, *_ = targets
    section_rules.ensure_may_write(principal, target.teacher_id)
    errors = []
    if target.enrollment_id is None or target.enrollment_status == "dropped":
        errors.append(_not_enrolled(["body", "student_id"]))
    if not rules.score_in_range(data.score, target.max_points):
        errors.append(_score_error(["body", "score"], target.max_points))
    if errors:
        first, *_ = errors
        raise ValidationFailed(str(first["msg"]), errors=errors)
    if target.grade_id is not None:
        raise Conflict(
            f"the student already has a grade for this assessment (grade {target.grade_id}); "
            "change it with PATCH"
        )
    school_id = target.school_id
    values = {
        "school_id": school_id,
        "enrollment_id": target.enrollment_id,
        "assessment_id": data.assessment_id,
        "student_id": data.student_id,
        "score": data.score,
        "comment": data.comment,
        "graded_by": principal.user_id,
        "graded_at": utcnow(),
    }
    grade = await writes.insert(
        db,
        session,
        principal,
        repository.RESOURCE,
        values,
        derived={"section_id": target.section_id},
    )
    await cache.invalidate(session, tag.student(data.student_id))
    audit.record(
        session, principal, "create", "grade", grade["id"], school_id, data.model_dump(mode="json")
    )
    return grade


async def _target(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> tuple[writes.Loaded, float]:
    """The grade for a write, locked, and its assessment's max_points."""
    grade = await writes.load(
        db,
        session,
        principal,
        repository.RESOURCE,
        target,
        query=repository.target_query(db, scope_kind(principal)),
        authorize=lambda loaded: section_rules.ensure_may_write(principal, _teacher_of(loaded)),
    )
    max_points, _ = grade.extra
    return grade, float(max_points)


def _teacher_of(loaded: writes.Loaded) -> int | None:
    """The teacher of the loaded grade's section (target_query's last column)."""
    _, teacher_id = loaded.extra
    teacher: int | None = teacher_id
    return teacher


async def update_grade(
    db: Database, session: AsyncSession, principal: Principal, target: Target, data: GradeUpdate
) -> dict[str, Any]:
    """Change a grade's score or comment."""
    grade, max_points = await _target(db, session, principal, target)
    changes = data.changes()
    if "score" in changes and not rules.score_in_range(changes["score"], max_points):
        raise ValidationFailed(
            "score out of range", errors=[_score_error(["body", "score"], max_points)]
        )
    if not changes:
        return grade.item
    school_id, student_id = grade.item["school_id"], grade.item["student_id"]
    audit.record(session, principal, "update", "grade", target.id, school_id, changes)
    changes |= {"graded_by": principal.user_id, "graded_at": utcnow()}
    updated = await writes.update(db, session, principal, repository.RESOURCE, grade, changes)
    await cache.invalidate(session, tag.student(student_id))
    return updated


async def delete_grade(
    db: Database, session: AsyncSession, principal: Principal, target: Target
) -> None:
    """Delete a grade."""
    grade, _ = await _target(db, session, principal, target)
    item = grade.item
    await writes.delete(session, repository.RESOURCE, target.id)
    await cache.invalidate(session, tag.student(item["student_id"]))
    audit.record(
        session,
        principal,
        "delete",
        "grade",
        target.id,
        item["school_id"],
        {"assessment_id": item["assessment_id"], "student_id": item["student_id"]},
    )


def _checked_column(
    principal: Principal, data: BulkGrades, targets: list[repository.GradingTarget]
) -> tuple[int, dict[int, tuple[int, int | None, str | None]]]:
    """(school_id, student_id -> (enrollment_id, grade id or None, comment)) of a gradebook
    column that may be written; else the 422 or 403 it gets."""
    if not targets:
        raise _no_assessment()
    first, *_ = targets
    school_id, max_points = first.school_id, first.max_points
    section_rules.ensure_may_write(principal, first.teacher_id)
    enrolled = {
        t.student_id: (t.enrollment_id, t.grade_id, t.grade_comment)
        for t in targets
        if t.student_id is not None
        and t.enrollment_id is not None
        and t.enrollment_status != "dropped"
    }
    errors: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i, row in enumerate(data.grades):
        loc: list[str | int] = ["body", "grades", i]
        if row.student_id in seen:
            errors.append(field_error([*loc, "student_id"], "student listed more than once"))
        elif row.student_id not in enrolled:
            errors.append(_not_enrolled([*loc, "student_id"]))
        seen.add(row.student_id)
        if not rules.score_in_range(row.score, max_points):
            errors.append(_score_error([*loc, "score"], max_points))
    if errors:
        bad = len({e["loc"][2] for e in errors})
        raise ValidationFailed(f"{bad} of the rows are invalid; nothing was saved", errors=errors)
    return school_id, enrolled


async def record_bulk(
    db: Database, session: AsyncSession, principal: Principal, data: BulkGrades
) -> dict[str, Any]:
    """Upserts a whole gradebook column, all or nothing, in a constant number of statements.

    Checked first on the read path, before the write begins (on SQLite the write lock is held
    only for the writing); then one upsert of the rows that set a comment and one of those
    that keep theirs (each only when it has rows), guarded: they write only rows whose
    enrollment is still in the section and not dropped, with a score within the assessment's
    points, in a section still the teacher's. Had anything changed in between, fewer rows are
    written: the column is checked again inside the transaction and the request answers what
    it finds (422, 403, or 409 to send it again), nothing written."""
    kind, scope = scope_kind(principal), scope_params(principal)
    student_ids = sorted({row.student_id for row in data.grades})
    context = (data.assessment_id, student_ids)
    targets = await repository.grading_targets(db, db.reader, kind, scope, *context)
    school_id, enrolled = _checked_column(principal, data, targets)
    # The rows that set a comment, and those that keep the stored one (a new grade's is empty).
    commented: list[tuple[Any, ...]] = []
    uncommented: list[tuple[Any, ...]] = []
    created = 0
    now = utcnow()
    for row in data.grades:
        enrollment_id, grade_id, _ = enrolled[row.student_id]
        created += grade_id is None
        keep = "comment" not in row.model_fields_set
        (uncommented if keep else commented).append(
            (
                school_id,
                enrollment_id,
                data.assessment_id,
                row.student_id,
                row.score,
                "" if keep else row.comment,
                principal.user_id,
                now,
            )
        )
    guard = (data.assessment_id, principal.profile_id if principal.role == "teacher" else None)
    written = 0
    for rows, set_comment in ((commented, True), (uncommented, False)):
        if rows:
            written += await repository.upsert_grades(
                session, rows, set_comment=set_comment, guard=guard
            )
    if written != len(data.grades):
        targets = await repository.grading_targets(
            db, SessionReader(session), kind, scope, *context
        )
        _checked_column(principal, data, targets)
        raise Conflict("the gradebook changed while these grades were saved; send them again")
    await cache.invalidate(session, *(tag.student(s) for s in student_ids))
    audit.record(
        session,
        principal,
        "record_bulk",
        "assessment_grades",
        data.assessment_id,
        school_id,
        {"created": created, "updated": len(data.grades) - created, "student_ids": student_ids},
    )
    return {
        "assessment_id": data.assessment_id,
        "created": created,
        "updated": len(data.grades) - created,
    }


# --- a student's grades by section -------------------------------------------------------------


def _due_order(line: dict[str, Any]) -> tuple[bool, Any, int]:
    return (line["due_date"] is None, line["due_date"] or "", line["assessment_id"])


def section_head(section_id: int, code: str, title: str, term_id: int) -> dict[str, Any]:
    """What a student's section shows before its grades (here and in analytics' /me)."""
    return {
        "section_id": section_id,
        "course_code": code,
        "course_title": title,
        "term_id": term_id,
    }


def summarize(
    student_id: int,
    section_rows: Sequence[repository.SectionCategory],
    assessment_rows: Sequence[repository.AssessmentScore],
) -> dict[str, Any]:
    """Groups the two row sets by section and computes each section's weighted grade."""
    sections: dict[int, dict[str, Any]] = {}
    categories: dict[int, dict[int, tuple[str, float]]] = {}
    for section_id, code, title, term_id, category_id, name, weight in section_rows:
        if section_id not in sections:
            sections[section_id] = section_head(section_id, code, title, term_id)
            categories[section_id] = {}
        if category_id is not None and name is not None and weight is not None:
            categories[section_id][category_id] = (name, weight)

    lines: dict[int, list[dict[str, Any]]] = {sid: [] for sid in sections}
    # (section_id, category_id) -> (earned, possible, graded)
    sums: dict[tuple[int, int], tuple[float, float, int]] = {}
    for section_id, assessment_id, title, category_id, max_points, due, score in assessment_rows:
        if section_id not in sections:
            continue
        name, _ = categories[section_id].get(category_id, ("", 0.0))
        lines[section_id].append(
            {
                "assessment_id": assessment_id,
                "title": title,
                "category": name,
                "max_points": max_points,
                "score": score,
                "due_date": due,
            }
        )
        if score is not None:
            earned, possible, graded = sums.get((section_id, category_id), (0.0, 0.0, 0))
            sums[section_id, category_id] = (earned + score, possible + max_points, graded + 1)

    out = []
    for section_id, section in sections.items():
        totals = {}
        for cid, (_, weight) in categories[section_id].items():
            earned, possible, graded = sums.get((section_id, cid), (0.0, 0.0, 0))
            totals[cid] = calculation.CategoryTotals(weight, earned, possible, graded)
        final = calculation.final_percentage(totals.values())
        out.append(
            {
                **section,
                "final_percentage": final,
                "letter": calculation.letter(final),
                "categories": [
                    {
                        "name": name,
                        "weight": weight,
                        "percentage": calculation.category_percentage(totals[cid]),
                    }
                    for cid, (name, weight) in categories[section_id].items()
                ],
                "grades": sorted(lines[section_id], key=_due_order),
            }
        )
    return {"student_id": student_id, "sections": out}


async def student_grades(
    db: Database, principal: Principal, student_id: int, term_id: int | None
) -> dict[str, Any]:
    await student_service.get_student(db, principal, student_id)  # 404 when out of scope
    section_rows, assessment_rows = await repository.student_grade_rows(
        db, scope_kind(principal), scope_params(principal), student_id, term_id
    )
    return summarize(student_id, section_rows, assessment_rows)


async def student_grades_cached(
    db: Database,
    pages: cache.ResponseCache,
    principal: Principal,
    student_id: int,
    term_id: int | None,
) -> cache.Entry:
    """GET /students/{id}/grades as cached bytes. It shows the student's enrollments and
    grades (student tag), the school's assessments and categories ("grading") and its
    courses and sections ("catalog"); who sees it depends on the scope tags."""

    async def build() -> bytes:
        return orjson.dumps(await student_grades(db, principal, student_id, term_id))

    school = principal.school_id
    tags = (
        tag.student(student_id),
        tag.school(school, "grading"),
        tag.school(school, "catalog"),
        *tag.scope(principal),
    )
    key = (student_id, term_id, *cache.scope_key(principal))
    return await pages.cached("student_grades", key, tags, build)


WRITES = Writes(create_grade, update_grade, delete_grade)


# --- a section's gradebook ---------------------------------------------------------------------


def _final(
    categories: list[dict[str, Any]],
    assessments: dict[int, dict[str, Any]],
    score_of: dict[int, float],
) -> float | None:
    """One student's weighted final percentage, by summarize's rule (the same sums per
    category, the same calculation): what their own grades page shows."""
    sums: dict[int, tuple[float, float, int]] = {}
    for aid, score in score_of.items():
        assessment = assessments[aid]
        cid = assessment["category_id"]
        earned, possible, graded = sums.get(cid, (0.0, 0.0, 0))
        sums[cid] = (earned + score, possible + assessment["max_points"], graded + 1)
    totals = [
        calculation.CategoryTotals(category["weight"], *sums.get(category["id"], (0.0, 0.0, 0)))
        for category in categories
    ]
    return calculation.final_percentage(totals)


async def gradebook(db: Database, principal: Principal, section_id: int) -> dict[str, Any]:
    """A section's gradebook: its categories and weights, its assessments by due date, and
    each student not dropped, by name, with their score on each assessment (None: ungraded,
    with the grade's id to correct or delete it) and their weighted final percentage and
    letter, by `summarize`'s rule (what the student's own grades page shows). Three
    statements. 404 when the section is out of the caller's scope; 403 for whoever may not
    write its grades (the bulk write's rule)."""
    head, students, cells = await repository.gradebook_rows(
        db, scope_kind(principal), scope_params(principal), section_id
    )
    if not head:
        raise NotFound("section not found")
    *_, name, teacher_id = head[0]
    if principal.role not in ("admin", "staff", "teacher"):
        raise Forbidden("only the section's teacher and the school office keep its gradebook")
    section_rules.ensure_may_write(principal, teacher_id)
    sid, code, title, term_id = head[0][:4]
    categories = [
        {"id": cid, "name": cname, "weight": weight}
        for *_, cid, cname, weight, _, _ in head
        if cid is not None
    ]
    category_names = {c["id"]: c["name"] for c in categories}
    assessments: dict[int, dict[str, Any]] = {}
    # enrollment_id -> assessment_id -> (grade_id, score)
    grades: dict[int, dict[int, tuple[int, float]]] = {}
    for aid, atitle, cid, max_points, due, grade_id, enrollment_id, score in cells:
        if aid not in assessments:
            assessments[aid] = {
                "assessment_id": aid,
                "title": atitle,
                "category_id": cid,
                "category": category_names.get(cid, ""),
                "max_points": max_points,
                "due_date": due,
            }
        if grade_id is not None and enrollment_id is not None and score is not None:
            grades.setdefault(enrollment_id, {})[aid] = (grade_id, score)
    rows = []
    for enrollment_id, student_id, number, first_name, last_name in students:
        own = grades.get(enrollment_id, {})
        score_of = {aid: score for aid, (_, score) in own.items()}
        final = _final(categories, assessments, score_of)
        rows.append(
            {
                "student_id": student_id,
                "student_number": number,
                "first_name": first_name,
                "last_name": last_name,
                "scores": score_of,
                "grade_ids": {aid: grade_id for aid, (grade_id, _) in own.items()},
                "final_percentage": final,
                "letter": calculation.letter(final),
            }
        )
    return {
        "section_id": sid,
        "name": name,
        "teacher_id": teacher_id,
        "course_code": code,
        "course_title": title,
        "term_id": term_id,
        "categories": categories,
        "assessments": list(assessments.values()),
        "students": rows,
    }
