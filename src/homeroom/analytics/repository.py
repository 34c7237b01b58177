"""Every analytics query. Each compiles once per shape and runs on the raw read path.

The dashboard reads the summary tables of models/analytics.py (kept by triggers, see there)
rather than grades and attendance records: a 50,000-student school's dashboard reads about
8,000 small rows instead of 7 million.
"""

from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)

from homeroom.enums import ATTENDANCE_STATUSES
from homeroom.kit.db import Database, Row
from homeroom.kit.scopes import ScopeKind, school_filter, student_filter
from homeroom.models import (
    Assessment,
    AssessmentCategory,
    AttendanceRecord,
    AttendanceSession,
    AuditLog,
    Course,
    Enrollment,
    Grade,
    School,
    Section,
    Student,
    Term,
    User,
)
from homeroom.models.analytics import (
    AnalyticsDay,
    AnalyticsEnrollment,
    AnalyticsSchool,
    AnalyticsSection,
    AnalyticsSession,
    AnalyticsStudent,
)

FAILING_BELOW = 60.0  # grades/calculation.py: below D's floor is an F

# Whose dashboard: one school (bound parameter "school") or every school together.
Reach = Literal["school", "all"]


# --- the dashboard -----------------------------------------------------------------------------

# Every figure but the at-risk list and the activity comes from ONE statement: a UNION ALL of
# small aggregates, each row tagged with its kind and padded to these columns.
_SHAPE = ("kind", "id", "text1", "text2", "day1", "day2", *(f"n{i}" for i in range(1, 10)))


def _row(kind: str, **values: Any) -> list[Any]:
    """One member's select list in _SHAPE's order; missing columns are typed NULLs."""
    types = {"id": Integer, "text1": String, "text2": String, "day1": Date, "day2": Date}
    out: list[Any] = [literal(kind, String).label("kind")]
    for name in _SHAPE[1:]:
        value = values.get(name)
        if value is None:
            value = cast(null(), types.get(name, Integer))
        out.append(value.label(name))
    return out


def _where_school(reach: Reach, column: Any) -> ColumnElement[bool]:
    return column == bindparam("school") if reach == "school" else true()


def _days(reach: Reach, recent: bool) -> Select[Any]:
    """Attendance per day up to :date: the last :days school days, or those of this week."""
    day = AnalyticsDay.date
    counts = [func.sum(getattr(AnalyticsDay, s)).label(s) for s in ATTENDANCE_STATUSES]
    stmt = select(day.label("day"), *counts).where(_where_school(reach, AnalyticsDay.school_id))
    # A day whose records were all deleted keeps a row of zeros: not a school day.
    stmt = stmt.where(day <= bindparam("date", type_=Date)).group_by(day)
    records = AnalyticsDay.present + AnalyticsDay.absent + AnalyticsDay.late + AnalyticsDay.excused
    stmt = stmt.having(func.sum(records) > 0)
    if recent:
        stmt = stmt.order_by(day.desc()).limit(bindparam("days"))
    else:
        stmt = stmt.where(day >= bindparam("week_start", type_=Date))
    return stmt


def _overview(reach: Reach) -> Any:
    members = []
    if reach == "school":
        members.append(
            select(*_row("school", id=School.id, text1=School.name)).where(
                School.id == bindparam("school")
            )
        )
    buckets = ("active", "inactive", "graduated", "withdrawn", "archived")
    members.append(
        select(
            *_row(
                "students",
                **{
                    f"n{i}": func.sum(getattr(AnalyticsSchool, b)) for i, b in enumerate(buckets, 1)
                },
            )
        ).where(_where_school(reach, AnalyticsSchool.school_id))
    )
    members.append(
        select(
            *_row(
                "term",
                id=Term.id,
                text1=Term.name,
                day1=Term.start_date,
                day2=Term.end_date,
            )
        ).where(_where_school(reach, Term.school_id))
    )
    counters = ("enrolled", "completed", "dropped", "a", "b", "c", "d", "f")
    per_course = (
        select(
            AnalyticsSection.course_id,
            *(func.sum(getattr(AnalyticsSection, c)).label(c) for c in counters),
        )
        .where(_where_school(reach, AnalyticsSection.school_id))
        .group_by(AnalyticsSection.course_id)
        .subquery()
    )
    members.append(
        select(
            *_row(
                "course",
                id=Course.id,
                text1=Course.code,
                text2=Course.title,
                n1=Course.term_id,
                **{f"n{i}": per_course.c[c] for i, c in enumerate(counters, 2)},
            )
        )
        .select_from(Course)
        .outerjoin(per_course, per_course.c.course_id == Course.id)
        .where(_where_school(reach, Course.school_id))
    )
    for kind, recent in (("day", True), ("week", False)):
        days = _days(reach, recent).subquery()
        members.append(
            select(
                *_row(
                    kind,
                    day1=days.c.day,
                    **{f"n{i}": days.c[s] for i, s in enumerate(ATTENDANCE_STATUSES, 1)},
                )
            )
        )
    return union_all(*members)


async def overview(db: Database, reach: Reach, params: dict[str, Any]) -> list[Row]:
    """The dashboard's aggregates as (kind, id, text1, text2, day1, day2, n1..n9) rows:
    "school" (id, name), "students" (n1..n5: active, inactive, graduated, withdrawn,
    archived), "term" (id, name, start, end), "course" (id, code, title; n1 term_id,
    n2..n9 enrolled, completed, dropped, A, B, C, D, F), "day" and "week" (day1 date,
    n1..n4 present, absent, late, excused). Runs off the event loop on SQLite (scan)."""
    query = db.query(("analytics.overview", reach), lambda: _overview(reach), scan=True)
    return await db.reader.all(query, params)


def _at_risk(reach: Reach) -> Select[Any]:
    s = AnalyticsStudent
    rate_below = s.attendance_rate < bindparam("threshold")
    base = [_where_school(reach, s.school_id), s.active.is_(True)]
    # Two index ranges of (school_id, active, failing, attendance_rate), counted apart.
    failing = select(func.count()).where(*base, s.failing > 0).scalar_subquery()
    low = select(func.count()).where(*base, s.failing == 0, rate_below).scalar_subquery()
    total = select((failing + low).label("total")).subquery()
    top = (
        select(s)
        .where(*base, or_(s.failing > 0, rate_below))
        .order_by(s.failing.desc(), s.attendance_rate.asc().nulls_last(), s.student_id)
        .limit(bindparam("limit"))
        .subquery()
    )
    e = AnalyticsEnrollment
    detail = (
        select(
            top,
            Student.student_number,
            Student.first_name,
            Student.last_name,
            Student.grade_level,
            e.section_id.label("failing_section_id"),
            Course.code,
            e.final_percentage,
        )
        .select_from(top)
        .join(Student, Student.id == top.c.student_id)
        .outerjoin(
            e,
            and_(
                e.student_id == top.c.student_id,
                e.status == "enrolled",
                e.final_percentage < FAILING_BELOW,
            ),
        )
        .outerjoin(Section, Section.id == e.section_id)
        .outerjoin(Course, Course.id == Section.course_id)
        .subquery()
    )
    # The total rides on every row, and on a row of its own when nobody is listed.
    return (
        select(
            total.c.total,
            detail.c.student_id,
            detail.c.student_number,
            detail.c.first_name,
            detail.c.last_name,
            detail.c.grade_level,
            *(detail.c[x] for x in ATTENDANCE_STATUSES),
            detail.c.attendance_rate,
            detail.c.failing,
            detail.c.failing_section_id,
            detail.c.code,
            detail.c.final_percentage,
        )
        .select_from(total)
        .outerjoin(detail, true())
        .order_by(
            detail.c.failing.desc(),
            detail.c.attendance_rate.asc().nulls_last(),
            detail.c.student_id,
            detail.c.code,
            detail.c.failing_section_id,
        )
    )


async def at_risk(db: Database, reach: Reach, params: dict[str, Any]) -> list[Row]:
    """(total, student_id, student_number, first_name, last_name, grade_level, present,
    absent, late, excused, attendance_rate, failing, section_id, course_code, final) rows:
    one per listed student and failing section (section NULL when none), or one row with
    the total alone when nobody is listed."""
    query = db.query(("analytics.at_risk", reach), lambda: _at_risk(reach), scan=True)
    return await db.reader.all(query, params)


def _activity(reach: Reach) -> Select[Any]:
    return (
        select(
            AuditLog.id,
            AuditLog.action,
            AuditLog.entity,
            AuditLog.entity_id,
            AuditLog.actor_id,
            User.full_name,
            AuditLog.created_at,
        )
        .select_from(AuditLog)
        .outerjoin(User, User.id == AuditLog.actor_id)
        .where(_where_school(reach, AuditLog.school_id))
        .order_by(AuditLog.id.desc())
        .limit(bindparam("limit"))
    )


async def activity(db: Database, reach: Reach, school: int | None, limit: int) -> list[Row]:
    """(id, action, entity, entity_id, actor_id, actor_name, created_at), newest first."""
    query = db.query(("analytics.activity", reach), lambda: _activity(reach))
    return await db.reader.all(query, {"school": school, "limit": limit})


# --- a section ---------------------------------------------------------------------------------


def _section(kind: ScopeKind) -> Select[Any]:
    stmt = (
        select(
            Section.id,
            Section.name,
            Section.teacher_id,
            Course.id,
            Course.code,
            Course.title,
            Course.term_id,
        )
        .join(Course, Course.id == Section.course_id)
        .where(Section.id == bindparam("section_id"))
        .where(school_filter(kind, Section.school_id))
    )
    if kind == "teacher":
        stmt = stmt.where(Section.teacher_id == bindparam("scope_profile"))
    return stmt


async def section(
    db: Database, kind: ScopeKind, scope: dict[str, Any], section_id: int
) -> Row | None:
    """(id, name, teacher_id, course_id, code, title, term_id) when the caller may see the
    section's analytics: staff and admins of its school, its own teacher."""
    query = db.query(("analytics.section", kind), lambda: _section(kind))
    return await db.reader.first(query, {**scope, "section_id": section_id})


def _status_sums(status: Any) -> list[Any]:
    return [func.sum(case((status == s, 1), else_=0)).label(s) for s in ATTENDANCE_STATUSES]


def _roster() -> Select[Any]:
    attendance = (
        select(AttendanceRecord.student_id, *_status_sums(AttendanceRecord.status))
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .where(AttendanceSession.section_id == bindparam("section_id"))
        .group_by(AttendanceRecord.student_id)
        .subquery()
    )
    return (
        select(
            Enrollment.id,
            Student.id,
            Student.student_number,
            Student.first_name,
            Student.last_name,
            Enrollment.status,
            *(func.coalesce(attendance.c[s], 0) for s in ATTENDANCE_STATUSES),
        )
        .select_from(Enrollment)
        .join(Student, Student.id == Enrollment.student_id)
        .outerjoin(attendance, attendance.c.student_id == Enrollment.student_id)
        .where(Enrollment.section_id == bindparam("section_id"))
        .where(Enrollment.status != "dropped")
        .order_by(Student.last_name, Student.first_name, Student.id)
    )


def _gradebook() -> Select[Any]:
    return (
        select(
            Assessment.id,
            Assessment.title,
            Assessment.category_id,
            AssessmentCategory.name,
            AssessmentCategory.weight,
            Assessment.max_points,
            Assessment.due_date,
            Grade.enrollment_id,
            Grade.score,
        )
        .select_from(Assessment)
        .join(AssessmentCategory, AssessmentCategory.id == Assessment.category_id)
        .outerjoin(Grade, Grade.assessment_id == Assessment.id)
        .where(Assessment.section_id == bindparam("section_id"))
        .order_by(Assessment.due_date.asc().nulls_last(), Assessment.id, Grade.enrollment_id)
    )


def _sessions() -> Select[Any]:
    return (
        select(
            AttendanceSession.date,
            *(getattr(AnalyticsSession, s) for s in ATTENDANCE_STATUSES),
        )
        .join(AnalyticsSession, AnalyticsSession.session_id == AttendanceSession.id)
        .where(AttendanceSession.section_id == bindparam("section_id"))
        .order_by(AttendanceSession.date)
    )


async def section_rows(db: Database, section_id: int) -> tuple[list[Row], list[Row], list[Row]]:
    """Three statements: the roster (enrollment_id, student_id, student_number, first_name,
    last_name, status, present, absent, late, excused), every assessment with each score
    recorded (assessment_id, title, category_id, category, weight, max_points, due_date,
    enrollment_id, score), and the sessions (date, present, absent, late, excused)."""
    params = {"section_id": section_id}
    roster = await db.reader.all(db.query("analytics.roster", _roster), params)
    gradebook = await db.reader.all(db.query("analytics.gradebook", _gradebook), params)
    sessions = await db.reader.all(db.query("analytics.sessions", _sessions), params)
    return roster, gradebook, sessions


# --- a student's or a guardian's own -----------------------------------------------------------


def _my_students(kind: ScopeKind) -> Any:
    return select(Student.id).where(student_filter(kind, Student.id))


def _me_students(kind: ScopeKind) -> Select[Any]:
    return (
        select(
            Student.id,
            Student.student_number,
            Student.first_name,
            Student.last_name,
            Student.grade_level,
        )
        .where(student_filter(kind, Student.id))
        .order_by(Student.last_name, Student.first_name, Student.id)
    )


def _me_sections(kind: ScopeKind) -> Select[Any]:
    return (
        select(
            Enrollment.student_id,
            Section.id,
            Course.code,
            Course.title,
            Course.term_id,
            AssessmentCategory.id,
            AssessmentCategory.weight,
        )
        .select_from(Enrollment)
        .join(Section, Section.id == Enrollment.section_id)
        .join(Course, Course.id == Section.course_id)
        .outerjoin(AssessmentCategory, AssessmentCategory.section_id == Section.id)
        .where(Enrollment.student_id.in_(_my_students(kind)))
        .where(Enrollment.status != "dropped")
        .order_by(Enrollment.student_id, Course.code, Section.id, AssessmentCategory.id)
    )


def _me_assessments(kind: ScopeKind) -> Select[Any]:
    return (
        select(
            Enrollment.student_id,
            Assessment.section_id,
            Assessment.id,
            Assessment.title,
            Assessment.category_id,
            Assessment.max_points,
            Assessment.due_date,
            Grade.score,
        )
        .select_from(Enrollment)
        .join(Assessment, Assessment.section_id == Enrollment.section_id)
        .outerjoin(
            Grade, and_(Grade.enrollment_id == Enrollment.id, Grade.assessment_id == Assessment.id)
        )
        .where(Enrollment.student_id.in_(_my_students(kind)))
        .where(Enrollment.status != "dropped")
        .order_by(Enrollment.student_id, Assessment.due_date, Assessment.id)
    )


def _me_attendance(kind: ScopeKind) -> Select[Any]:
    return (
        select(
            AttendanceRecord.student_id,
            AttendanceSession.section_id,
            Course.code,
            *_status_sums(AttendanceRecord.status),
        )
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .join(Section, Section.id == AttendanceSession.section_id)
        .join(Course, Course.id == Section.course_id)
        .where(AttendanceRecord.student_id.in_(_my_students(kind)))
        .group_by(AttendanceRecord.student_id, AttendanceSession.section_id, Course.code)
        .order_by(AttendanceRecord.student_id, Course.code, AttendanceSession.section_id)
    )


async def me_rows(
    db: Database, kind: ScopeKind, scope: dict[str, Any]
) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
    """Four statements, whatever the number of children: the students (id, student_number,
    first_name, last_name, grade_level); their sections with categories (student_id,
    section_id, code, title, term_id, category_id, weight); every assessment of those
    sections with the student's score (student_id, section_id, assessment_id, title,
    category_id, max_points, due_date, score); attendance counts (student_id, section_id,
    course_code, present, absent, late, excused). The last three are skipped without
    students."""
    out: list[list[Row]] = []
    for name, build in (
        ("students", _me_students),
        ("sections", _me_sections),
        ("assessments", _me_assessments),
        ("attendance", _me_attendance),
    ):
        query = db.query((f"analytics.me.{name}", kind), lambda b=build: b(kind))  # type: ignore[misc]
        out.append(await db.reader.all(query, scope))
        if not out[0]:
            return [], [], [], []
    return out[0], out[1], out[2], out[3]
