"""Every analytics query. Each compiles once per shape and runs on the raw read path.

The dashboard reads the summary tables of models/analytics.py (kept by triggers, see there)
rather than grades and attendance records: a 50,000-student school's dashboard reads about
8,000 small rows instead of 7 million.
"""

import datetime as dt
from operator import attrgetter
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
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
from homeroom.grades import repository as grade_repository
from homeroom.kit.db import Compiled, Database, Row, compiled
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

# A row's attendance counts in ATTENDANCE_STATUSES' order: every row type below with a column per
# status (DayRow, AtRiskRow, RosterRow, SessionRow, MeAttendanceRow) names them alike.
status_counts = attrgetter(*ATTENDANCE_STATUSES)

# Whose dashboard: one school (bound parameter "school") or every school together.
Reach = Literal["school", "all"]
# A DATE column's value on the raw read path: a date (PostgreSQL) or its ISO text (SQLite).
DateValue = dt.date | str


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


@compiled(scan=True)
def _overview(reach: Reach) -> CompoundSelect[Any]:
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


class OverviewRow(NamedTuple):
    """_SHAPE: one member of the union; what each column holds (and its type) depends
    on `kind`: see Overview."""

    kind: str
    id: Any
    text1: Any
    text2: Any
    day1: Any
    day2: Any
    n1: Any
    n2: Any
    n3: Any
    n4: Any
    n5: Any
    n6: Any
    n7: Any
    n8: Any
    n9: Any


class SchoolRow(NamedTuple):
    id: int
    name: str


class StudentCounts(NamedTuple):
    """Students of each status bucket (NULL when no summary row is there)."""

    active: int | None
    inactive: int | None
    graduated: int | None
    withdrawn: int | None
    archived: int | None


class TermRow(NamedTuple):
    id: int
    name: str
    start_date: DateValue
    end_date: DateValue


class CourseRow(NamedTuple):
    """A course and its sections' summed counts (NULL when it has no section)."""

    id: int
    code: str
    title: str
    term_id: int
    enrolled: int | None
    completed: int | None
    dropped: int | None
    a: int | None
    b: int | None
    c: int | None
    d: int | None
    f: int | None

    @property
    def letters(self) -> tuple[int | None, ...]:
        return self.a, self.b, self.c, self.d, self.f


class DayRow(NamedTuple):
    """One school day's attendance records by status (ATTENDANCE_STATUSES' order)."""

    date: DateValue
    present: int | None
    absent: int | None
    late: int | None
    excused: int | None


class Overview(NamedTuple):
    """The union's rows split by kind: "school" (absent when every school is reached),
    "students", "term", "course", "day" (the last :days school days) and "week" (this
    week's school days)."""

    school: SchoolRow | None
    students: StudentCounts | None
    terms: list[TermRow]
    courses: list[CourseRow]
    days: list[DayRow]
    week: list[DayRow]


def _split(rows: list[Row]) -> Overview:
    out = Overview(None, None, [], [], [], [])
    for r in map(OverviewRow._make, rows):
        if r.kind == "school":
            out = out._replace(school=SchoolRow(r.id, r.text1))
        elif r.kind == "students":
            out = out._replace(students=StudentCounts(r.n1, r.n2, r.n3, r.n4, r.n5))
        elif r.kind == "term":
            out.terms.append(TermRow(r.id, r.text1, r.day1, r.day2))
        elif r.kind == "course":
            out.courses.append(
                CourseRow(
                    r.id, r.text1, r.text2, r.n1, r.n2, r.n3, r.n4, r.n5, r.n6, r.n7, r.n8, r.n9
                )
            )
        else:
            days = out.days if r.kind == "day" else out.week
            days.append(DayRow(r.day1, r.n1, r.n2, r.n3, r.n4))
    return out


async def overview(db: Database, reach: Reach, params: dict[str, Any]) -> Overview:
    """The dashboard's aggregates, one statement. Runs off the event loop on SQLite (scan)."""
    return _split(await db.reader.all(_overview(db, reach), params))


@compiled(scan=True)
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


class AtRiskRow(NamedTuple):
    """One listed student and one of their failing sections (section NULL when none), or the
    total alone (every other column NULL) when nobody is listed."""

    total: int
    student_id: int | None
    student_number: str | None
    first_name: str | None
    last_name: str | None
    grade_level: int | None
    present: int | None
    absent: int | None
    late: int | None
    excused: int | None
    attendance_rate: float | None
    failing: int | None
    section_id: int | None
    course_code: str | None
    final_percentage: float | None


async def at_risk(db: Database, reach: Reach, params: dict[str, Any]) -> list[AtRiskRow]:
    """The at-risk list, the total riding on every row."""
    return list(map(AtRiskRow._make, await db.reader.all(_at_risk(db, reach), params)))


@compiled
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
    return await db.reader.all(_activity(db, reach), {"school": school, "limit": limit})


# --- a section ---------------------------------------------------------------------------------


@compiled
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
    return await db.reader.first(_section(db, kind), {**scope, "section_id": section_id})


def _status_sums(status: Any) -> list[Any]:
    return [func.sum(case((status == s, 1), else_=0)).label(s) for s in ATTENDANCE_STATUSES]


@compiled
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


@compiled
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


@compiled
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


class RosterRow(NamedTuple):
    enrollment_id: int
    student_id: int
    student_number: str
    first_name: str
    last_name: str
    status: str
    present: int
    absent: int
    late: int
    excused: int


class GradebookRow(NamedTuple):
    """An assessment with one recorded score (enrollment and score NULL when none)."""

    assessment_id: int
    title: str
    category_id: int
    category: str
    weight: float
    max_points: float
    due_date: DateValue | None
    enrollment_id: int | None
    score: float | None


class SessionRow(NamedTuple):
    date: DateValue
    present: int
    absent: int
    late: int
    excused: int


async def section_rows(
    db: Database, section_id: int
) -> tuple[list[RosterRow], list[GradebookRow], list[SessionRow]]:
    """Three statements: the roster, every assessment with each score recorded, the
    sessions."""
    params = {"section_id": section_id}
    roster = await db.reader.all(_roster(db), params)
    gradebook = await db.reader.all(_gradebook(db), params)
    sessions = await db.reader.all(_sessions(db), params)
    return (
        list(map(RosterRow._make, roster)),
        list(map(GradebookRow._make, gradebook)),
        list(map(SessionRow._make, sessions)),
    )


# --- a student's or a guardian's own -----------------------------------------------------------


def _my_students(kind: ScopeKind) -> Any:
    return select(Student.id).where(student_filter(kind, Student.id))


def _my_enrollments(stmt: Select[Any], kind: ScopeKind) -> Select[Any]:
    """stmt, selecting from Enrollment, kept to the caller's students' enrollments (not
    dropped)."""
    return stmt.where(Enrollment.student_id.in_(_my_students(kind))).where(
        Enrollment.status != "dropped"
    )


@compiled
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


@compiled
def _me_sections(kind: ScopeKind) -> Select[Any]:
    columns = (
        Enrollment.student_id,
        Section.id,
        Course.code,
        Course.title,
        Course.term_id,
        AssessmentCategory.id,
        AssessmentCategory.weight,
    )
    stmt = grade_repository.with_courses(select(*columns)).outerjoin(
        AssessmentCategory, AssessmentCategory.section_id == Section.id
    )
    return _my_enrollments(stmt, kind).order_by(
        Enrollment.student_id, Course.code, Section.id, AssessmentCategory.id
    )


@compiled
def _me_assessments(kind: ScopeKind) -> Select[Any]:
    stmt = select(Enrollment.student_id, *grade_repository.ASSESSMENT_SCORE_COLUMNS)
    return _my_enrollments(
        grade_repository.with_scores(stmt.select_from(Enrollment)), kind
    ).order_by(Enrollment.student_id, Assessment.due_date, Assessment.id)


@compiled
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


class MeStudentRow(NamedTuple):
    student_id: int
    student_number: str
    first_name: str
    last_name: str
    grade_level: int


class MeSectionRow(NamedTuple):
    """A student's section with one of its categories (category NULL when none)."""

    student_id: int
    section_id: int
    code: str
    title: str
    term_id: int
    category_id: int | None
    weight: float | None


class MeAssessmentRow(NamedTuple):
    """An assessment of a student's section, with their score (NULL when not graded)."""

    student_id: int
    section_id: int
    assessment_id: int
    title: str
    category_id: int
    max_points: float
    due_date: DateValue | None
    score: float | None


class MeAttendanceRow(NamedTuple):
    student_id: int
    section_id: int
    course_code: str
    present: int
    absent: int
    late: int
    excused: int


class MeRows(NamedTuple):
    students: list[MeStudentRow]
    sections: list[MeSectionRow]
    assessments: list[MeAssessmentRow]
    attendance: list[MeAttendanceRow]


async def me_rows(db: Database, kind: ScopeKind, scope: dict[str, Any]) -> MeRows:
    """Four statements, whatever the number of children: the students, their sections with
    categories, every assessment of those sections with the student's score, attendance
    counts per section. The last three are skipped without students."""

    async def rows(query: Compiled[[ScopeKind]]) -> list[Row]:
        return await db.reader.all(query(db, kind), scope)

    students = list(map(MeStudentRow._make, await rows(_me_students)))
    if not students:
        return MeRows([], [], [], [])
    return MeRows(
        students,
        list(map(MeSectionRow._make, await rows(_me_sections))),
        list(map(MeAssessmentRow._make, await rows(_me_assessments))),
        list(map(MeAttendanceRow._make, await rows(_me_attendance))),
    )
