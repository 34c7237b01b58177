"""Business rules for analytics: who sees which figures, and how rows become them."""

import datetime as dt
import statistics
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

import orjson

from homeroom.analytics import repository
from homeroom.analytics.repository import Reach
from homeroom.analytics.schemas import DashboardQuery, MeQuery
from homeroom.enums import ATTENDANCE_STATUSES, LETTERS
from homeroom.grades import calculation
from homeroom.grades import service as grade_service
from homeroom.kit import cache
from homeroom.kit import tags as tag
from homeroom.kit.auth import Principal, can
from homeroom.kit.db import Database
from homeroom.kit.errors import Forbidden, NotFound
from homeroom.kit.responses import etag_of
from homeroom.kit.scopes import scope_kind, scope_params

ENROLLMENT_COUNTS = ("enrolled", "completed", "dropped")
# Every write leaves an audit row, and an audit row bumps one of its school's activity shards
# (a trigger of migrations 0004-0005, in the write's transaction; kit/tags.py): the dashboard
# shows those rows, so it depends on every write of its school, through all the shards. The
# other tags are bumped by the write paths.
DASHBOARD_TOPICS: tuple[tag.SchoolTopic, ...] = ("people", "catalog", "grading")


def rate(present: int, late: int, total: int) -> float | None:
    """(present + late) / total, None when there is nothing to count (as GET /attendance)."""
    return (present + late) / total if total else None


def _counts(values: Iterable[Any]) -> dict[str, Any]:
    counts: dict[str, int] = dict(
        zip(ATTENDANCE_STATUSES, (int(v or 0) for v in values), strict=True)
    )
    total = sum(counts.values())
    return {**counts, "total": total, "rate": rate(counts["present"], counts["late"], total)}


def _row_counts(row: Any) -> dict[str, Any]:
    """_counts of a row with a column per status (repository.status_counts)."""
    return _counts(repository.status_counts(row))


def _day(value: Any) -> dt.date:
    """A DATE column's value: a date (PostgreSQL) or its ISO text (SQLite's raw path)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _today(date: dt.date | None) -> dt.date:
    return date or dt.date.today()


# --- the dashboard -----------------------------------------------------------------------------


def _reach(principal: Principal, school_id: int | None) -> tuple[Reach, int | None]:
    """One school (the caller's; an all-schools admin's choice) or every school together."""
    if principal.school_id is not None:
        if school_id is not None and school_id != principal.school_id:
            raise NotFound("school not found")
        return "school", principal.school_id
    if school_id is None:
        return "all", None
    return "school", school_id


def _attendance(
    day_rows: list[repository.DayRow], week_rows: list[repository.DayRow], today: dt.date
) -> dict[str, Any]:
    trend = sorted(({"date": _day(r.date), **_row_counts(r)} for r in day_rows), key=_by_date)
    zero = {"date": today, **_counts((0, 0, 0, 0))}
    week = _counts(tuple(sum(int(v or 0) for v in column) for column in _columns(week_rows)))
    return {
        "today": next((d for d in trend if d["date"] == today), zero),
        "week": {
            "date_from": today - dt.timedelta(days=today.weekday()),
            "date_to": today,
            "days": len(week_rows),
            **week,
        },
        "trend": trend,
    }


def _columns(rows: list[repository.DayRow] | list[repository.SessionRow]) -> list[tuple[Any, ...]]:
    """The rows' status counts column by column (one empty column per status without rows)."""
    columns = list(zip(*map(repository.status_counts, rows), strict=True))
    return columns or [()] * len(ATTENDANCE_STATUSES)


def _by_date(entry: dict[str, Any]) -> dt.date:
    date: dt.date = entry["date"]
    return date


def _overview(rows: repository.Overview, today: dt.date) -> dict[str, Any]:
    school = rows.school
    counts = rows.students or repository.StudentCounts(None, None, None, None, None)
    students = {bucket: int(n or 0) for bucket, n in zip(counts._fields, counts, strict=True)}
    terms = sorted(rows.terms, key=lambda t: (_day(t.start_date), t.id))
    courses = sorted(rows.courses, key=lambda c: (c.term_id, c.code, c.id))
    per_term: dict[int, tuple[int, int, int]] = {}
    grades = []
    for course in courses:
        enrolled, completed, dropped = (
            int(v or 0) for v in (course.enrolled, course.completed, course.dropped)
        )
        letters = [int(v or 0) for v in course.letters]
        term_enrolled, term_completed, term_dropped = per_term.get(int(course.term_id), (0, 0, 0))
        per_term[int(course.term_id)] = (
            term_enrolled + enrolled,
            term_completed + completed,
            term_dropped + dropped,
        )
        grades.append(
            {
                "course_id": course.id,
                "code": course.code,
                "title": course.title,
                "term_id": course.term_id,
                "students": enrolled + completed,
                "graded": sum(letters),
                "letters": dict(zip(LETTERS, letters, strict=True)),
            }
        )
    return {
        "school_id": school.id if school else None,
        "school_name": school.name if school else None,
        "date": today,
        "students": {**students, "total": sum(students.values())},
        "enrollments_by_term": [
            {
                "term_id": t.id,
                "name": t.name,
                "start_date": _day(t.start_date),
                "end_date": _day(t.end_date),
                **dict(zip(ENROLLMENT_COUNTS, per_term.get(t.id, (0, 0, 0)), strict=True)),
            }
            for t in terms
        ],
        "attendance": _attendance(rows.days, rows.week, today),
        "grades_by_course": grades,
    }


def _at_risk(rows: list[repository.AtRiskRow], threshold: float) -> dict[str, Any]:
    students: dict[int, dict[str, Any]] = {}
    for row in rows:
        student_id = row.student_id
        if student_id is None:
            continue
        entry = students.get(student_id)
        if entry is None:
            attendance = _row_counts(row)
            reasons = []
            if attendance["rate"] is not None and attendance["rate"] < threshold:
                reasons.append("attendance")
            if row.failing:
                reasons.append("failing")
            entry = students[student_id] = {
                "student_id": student_id,
                "student_number": row.student_number,
                "first_name": row.first_name,
                "last_name": row.last_name,
                "grade_level": row.grade_level,
                "attendance": attendance,
                "failing": [],
                "reasons": reasons,
            }
        if row.section_id is not None:
            entry["failing"].append(
                {
                    "section_id": row.section_id,
                    "course_code": row.course_code,
                    "final_percentage": row.final_percentage,
                }
            )
    total = int(next((row.total for row in rows), 0))  # every row carries it
    return {"attendance_threshold": threshold, "total": total, "students": list(students.values())}


async def dashboard(
    db: Database, reach: Reach, school: int | None, query: DashboardQuery, today: dt.date
) -> dict[str, Any]:
    """Three statements: the aggregates, the at-risk list, the recent activity."""
    params = {
        "school": school,
        "date": today,
        "days": query.days,
        "week_start": today - dt.timedelta(days=today.weekday()),
    }
    rows = await repository.overview(db, reach, params)
    body = _overview(rows, today)
    if reach == "school" and body["school_id"] is None:
        raise NotFound("school not found")
    risk_params = {
        "school": school,
        "threshold": query.attendance_threshold,
        "limit": query.at_risk_limit,
    }
    body["at_risk"] = _at_risk(
        await repository.at_risk(db, reach, risk_params), query.attendance_threshold
    )
    activity = await repository.activity(db, reach, school, query.activity_limit)
    keys = ("id", "action", "entity", "entity_id", "actor_id", "actor_name", "created_at")
    body["recent_activity"] = [dict(zip(keys, row, strict=True)) for row in activity]
    return body


async def dashboard_cached(
    db: Database, pages: cache.ResponseCache, principal: Principal, query: DashboardQuery
) -> cache.Entry:
    """GET /analytics/dashboard as cached bytes. The key holds the school and every
    parameter (the date resolved: "today" moves at midnight); staff and admins of a school
    see the same figures, so the caller's role is not part of it."""
    reach, school = _reach(principal, query.school_id)
    today = _today(query.date)

    async def build() -> bytes:
        return orjson.dumps(await dashboard(db, reach, school, query, today))

    tags = [*tag.school_activities(school), *(tag.school(school, t) for t in DASHBOARD_TOPICS)]
    key = (
        school if school is not None else "all",
        today,
        query.days,
        query.attendance_threshold,
        query.at_risk_limit,
        query.activity_limit,
    )
    return await pages.cached("dashboard", key, tags, build, gate=db.heavy)


# --- a section ---------------------------------------------------------------------------------


def _finals(
    gradebook: list[repository.GradebookRow], roster_ids: set[int]
) -> tuple[dict[int, float | None], list[dict[str, Any]]]:
    """Each roster enrollment's weighted final percentage, and each assessment's statistics
    over the roster's scores."""
    weights: dict[int, float] = {}
    sums: dict[tuple[int, int], tuple[float, float, int]] = {}
    assessments: dict[int, dict[str, Any]] = {}
    scores: dict[int, list[float]] = {}
    for aid, title, cid, category, weight, max_points, due, enrollment_id, score in gradebook:
        weights[cid] = weight
        if aid not in assessments:
            assessments[aid] = {
                "assessment_id": aid,
                "title": title,
                "category": category,
                "max_points": max_points,
                "due_date": None if due is None else _day(due),
            }
            scores[aid] = []
        if enrollment_id is None or enrollment_id not in roster_ids or score is None:
            continue
        scores[aid].append(score)
        earned, possible, graded = sums.get((enrollment_id, cid), (0.0, 0.0, 0))
        sums[enrollment_id, cid] = (earned + score, possible + max_points, graded + 1)
    finals = {}
    for enrollment_id in roster_ids:
        totals = []
        for cid, weight in weights.items():
            earned, possible, graded = sums.get((enrollment_id, cid), (0.0, 0.0, 0))
            totals.append(calculation.CategoryTotals(weight, earned, possible, graded))
        finals[enrollment_id] = calculation.final_percentage(totals)
    stats = []
    for aid, entry in assessments.items():
        values = scores[aid]
        mean = statistics.fmean(values) if values else None
        stats.append(
            {
                **entry,
                "graded": len(values),
                "mean": None if mean is None else round(mean, 2),
                "median": statistics.median(values) if values else None,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "mean_percentage": (
                    None if mean is None else round(100.0 * mean / entry["max_points"], 2)
                ),
            }
        )
    return finals, stats


def _letters(finals: Iterable[float | None]) -> dict[str, int]:
    out: dict[str, int] = dict.fromkeys(LETTERS, 0)
    for final in finals:
        letter = calculation.letter(final)
        if letter is not None:
            out[letter] += 1
    return out


async def section_analytics(db: Database, principal: Principal, section_id: int) -> dict[str, Any]:
    """Four statements. Staff and admins of the section's school and its own teacher see it;
    another teacher or another school's staff get 404; students and guardians 403."""
    if not (can(principal, "analytics:section") or can(principal, "analytics:school")):
        raise Forbidden("your role may not see section analytics")
    kind = scope_kind(principal)
    section = await repository.section(db, kind, scope_params(principal), section_id)
    if section is None:
        raise NotFound("section not found")
    roster_rows, gradebook, sessions = await repository.section_rows(db, section_id)
    finals, assessments = _finals(gradebook, {r.enrollment_id for r in roster_rows})
    roster = []
    for enrollment_id, student_id, number, first, last, status, *counts in roster_rows:
        final = finals[enrollment_id]
        roster.append(
            {
                "student_id": student_id,
                "student_number": number,
                "first_name": first,
                "last_name": last,
                "status": status,
                "final_percentage": final,
                "letter": calculation.letter(final),
                "attendance": _counts(counts),
            }
        )
    graded = [f for f in finals.values() if f is not None]
    by_session = [{"date": _day(r.date), **_row_counts(r)} for r in sessions]
    section_id_, name, teacher_id, course_id, code, title, term_id = section
    return {
        "section_id": section_id_,
        "name": name,
        "course_id": course_id,
        "course_code": code,
        "course_title": title,
        "term_id": term_id,
        "teacher_id": teacher_id,
        "students": len(roster),
        "average_final_percentage": round(statistics.fmean(graded), 2) if graded else None,
        "letters": _letters(finals.values()),
        "attendance": _counts(
            tuple(sum(int(v or 0) for v in column) for column in _columns(sessions))
        ),
        "roster": roster,
        "assessments": assessments,
        "attendance_by_session": by_session,
    }


# --- a student's or a guardian's own -----------------------------------------------------------


def _my_grades(
    section_rows: list[repository.MeSectionRow], assessment_rows: list[repository.MeAssessmentRow]
) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """One student's sections with their weighted final grades, and section -> course code."""
    sections: dict[int, dict[str, Any]] = {}
    weights: dict[int, dict[int, float]] = {}
    for _, section_id, code, title, term_id, category_id, weight in section_rows:
        if section_id not in sections:
            sections[section_id] = grade_service.section_head(section_id, code, title, term_id)
            weights[section_id] = {}
        if category_id is not None and weight is not None:
            weights[section_id][category_id] = weight
    sums: dict[tuple[int, int], tuple[float, float, int]] = {}
    for _, section_id, _, _, category_id, max_points, _, score in assessment_rows:
        if score is None:
            continue
        earned, possible, graded = sums.get((section_id, category_id), (0.0, 0.0, 0))
        sums[section_id, category_id] = (earned + score, possible + max_points, graded + 1)
    out = []
    for section_id, entry in sections.items():
        totals = [
            calculation.CategoryTotals(w, *sums.get((section_id, cid), (0.0, 0.0, 0)))
            for cid, w in weights[section_id].items()
        ]
        final = calculation.final_percentage(totals)
        out.append({**entry, "final_percentage": final, "letter": calculation.letter(final)})
    return out, {sid: s["course_code"] for sid, s in sections.items()}


def _upcoming(
    assessment_rows: list[repository.MeAssessmentRow],
    codes: dict[int, str],
    today: dt.date,
    limit: int,
) -> list[dict[str, Any]]:
    due = []
    for _, section_id, aid, title, _, max_points, due_date, score in assessment_rows:
        if due_date is None or _day(due_date) < today:
            continue
        due.append(
            {
                "assessment_id": aid,
                "section_id": section_id,
                "course_code": codes.get(section_id, ""),
                "title": title,
                "due_date": _day(due_date),
                "max_points": max_points,
                "score": score,
            }
        )
    due.sort(key=lambda a: (a["due_date"], a["assessment_id"]))
    return due[:limit]


class _OfStudent(Protocol):
    @property
    def student_id(self) -> int: ...


R = TypeVar("R", bound=_OfStudent)


def _group(rows: list[R]) -> dict[int, list[R]]:
    out: dict[int, list[R]] = {}
    for row in rows:
        out.setdefault(row.student_id, []).append(row)
    return out


async def me_cached(
    db: Database, pages: cache.ResponseCache, principal: Principal, query: MeQuery
) -> cache.Entry:
    """GET /analytics/me as bytes. A student's own page is cached: it shows their records
    (their enrollments, grades and attendance bump their student tag), the school's
    assessments and categories ("grading") and its courses and sections ("catalog"); the key
    holds the day taken as today. A guardian's page is built each time (its children, and so
    its tags, are only known by reading them: 4 statements)."""

    async def build() -> bytes:
        return orjson.dumps(await me(db, principal, query))

    student_id = principal.profile_id
    if principal.role != "student" or student_id is None:
        body = await build()
        return etag_of(body), body
    school = principal.school_id
    tags = (
        tag.student(student_id),
        tag.school(school, "grading"),
        tag.school(school, "catalog"),
    )
    key = (_today(query.date), query.upcoming_limit, *cache.scope_key(principal))
    return await pages.cached("analytics_me", key, tags, build)


async def me(db: Database, principal: Principal, query: MeQuery) -> dict[str, Any]:
    """Four statements whatever the number of children: a student's own figures, a
    guardian's children's. An administrator (who holds every permission) has no students of
    their own: an empty list, never every student of the school."""
    today = _today(query.date)
    if principal.role not in ("student", "guardian"):
        return {"date": today, "students": []}
    students, sections, assessments, attendance = await repository.me_rows(
        db, scope_kind(principal), scope_params(principal)
    )
    sections_of, assessments_of, attendance_of = (
        _group(sections),
        _group(assessments),
        _group(attendance),
    )
    out = []
    for student_id, number, first, last, grade_level in students:
        grades, codes = _my_grades(
            sections_of.get(student_id, []), assessments_of.get(student_id, [])
        )
        by_section = [
            {"section_id": r.section_id, "course_code": r.course_code, **_row_counts(r)}
            for r in attendance_of.get(student_id, [])
        ]
        totals = tuple(sum(s[name] for s in by_section) for name in ATTENDANCE_STATUSES)
        out.append(
            {
                "student_id": student_id,
                "student_number": number,
                "first_name": first,
                "last_name": last,
                "grade_level": grade_level,
                "grades": grades,
                "attendance": {**_counts(totals), "by_section": by_section},
                "upcoming": _upcoming(
                    assessments_of.get(student_id, []), codes, today, query.upcoming_limit
                ),
            }
        )
    return {"date": today, "students": out}
