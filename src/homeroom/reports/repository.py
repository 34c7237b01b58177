"""Every query behind report cards and transcripts. Reads compile once per shape and run on
the raw read path.

The per-student queries come in three shapes of "which students": one student (the GET
endpoints), or a window of a bulk job's students, defined in SQL as the students of a section
or of a grade level between two ids (so a job reads its students batch by batch with plain
bind parameters, no IN list). The columns are the same in every shape, with the student's id
first, so one function groups them whatever the shape.

Each query's rows are the NamedTuple defined beside it (the raw driver's tuples wrapped,
~0.2 us a row). Dates come back as text on SQLite's raw read path, as dates on PostgreSQL.
"""

import datetime as dt
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    Date,
    Select,
    and_,
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, aliased

from homeroom.attendance import repository as attendance_repository
from homeroom.enums import ATTENDANCE_STATUSES
from homeroom.grades import repository as grade_repository
from homeroom.kit.db import Database, compiled
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter, student_filter
from homeroom.models import (
    AssessmentCategory,
    AttendanceRecord,
    AttendanceSession,
    Course,
    Enrollment,
    Grade,
    School,
    Section,
    Student,
    Teacher,
    Term,
)

# Which students a per-student query covers.
Who = Literal["one", "section", "grade"]
# How the header query finds the term: the one given, the student's current one, or none.
TermMode = Literal["given", "auto", "none"]

STUDENT_COLUMNS = (
    Student.id,
    Student.student_number,
    Student.first_name,
    Student.last_name,
    Student.grade_level,
)
TERM_COLUMNS = (Term.id, Term.name, Term.start_date, Term.end_date)


def _today() -> Any:
    return bindparam("today", type_=Date)


def _for_students(stmt: Select[Any], who: Who, column: InstrumentedAttribute[int]) -> Select[Any]:
    """Restricts `stmt` to the rows whose student id (`column`) this shape covers.

    For a batch, the job's students are joined in with their id window, so the planner starts
    from the batch (a primary-key range of students, or the section's roster) and looks up
    each one's rows by index. Measured on the district dataset, a batch of 20 of a grade
    level (the three queries): ~400 ms as `column IN (subquery)` (SQLite walked the whole
    grade level each time), ~45 ms as a window on `column` plus an EXISTS check (every record
    in the id range), ~30 ms joined."""
    if who == "one":
        return stmt.where(column == bindparam("student_id"))
    if who == "section":
        roster = aliased(Enrollment)
        return stmt.join(
            roster,
            and_(
                roster.section_id == bindparam("target_section"),
                roster.student_id == column,
                roster.status != "dropped",
            ),
        ).where(roster.student_id.between(bindparam("first_id"), bindparam("last_id")))
    pupil = aliased(Student)
    return stmt.join(pupil, pupil.id == column).where(
        pupil.id.between(bindparam("first_id"), bindparam("last_id")),
        pupil.school_id == bindparam("target_school"),
        pupil.grade_level == bindparam("target_grade"),
        pupil.archived_at.is_(None),
    )


def _enrolled(stmt: Select[Any], who: Who, teacher_only: bool, has_term: bool) -> Select[Any]:
    """The students' current (not dropped) enrollments; a teacher's only in their sections."""
    stmt = _for_students(stmt, who, Enrollment.student_id).where(Enrollment.status != "dropped")
    if teacher_only:
        stmt = stmt.where(Section.teacher_id == bindparam("scope_profile"))
    if has_term:
        stmt = stmt.where(Course.term_id == bindparam("term_id"))
    return stmt


# --- the header: student, school, term -------------------------------------------------------


def _term_enrollments(term_id: Any, teacher_only: bool) -> Select[Any]:
    """The outer query's student's enrollments (not dropped) in the term `term_id` (for a
    teacher: in their sections), correlated to every table but its own."""
    enrollment, section, course = aliased(Enrollment), aliased(Section), aliased(Course)
    stmt = (
        select(enrollment.id)
        .join(section, section.id == enrollment.section_id)
        .join(course, course.id == section.course_id)
        .where(
            enrollment.student_id == Student.id,
            enrollment.status != "dropped",
            course.term_id == term_id,
        )
    )
    if teacher_only:
        stmt = stmt.where(section.teacher_id == bindparam("scope_profile"))
    return stmt.correlate_except(enrollment, section, course)


def _latest_term(attended: bool, teacher_only: bool) -> Any:
    """The in-progress term of the student's school, else the latest that has started, else
    the next to start; with `attended`, among the terms the student has enrollments in (for
    a teacher: in their sections)."""
    term = aliased(Term)
    stmt = select(term.id).where(term.school_id == Student.school_id)
    if attended:
        # Correlated to the term and to the outer query's student (two levels up). In WHERE,
        # not ORDER BY: SQLite resolves only the nearest query's columns in ORDER BY.
        stmt = stmt.where(_term_enrollments(term.id, teacher_only).exists())
    started = term.start_date <= _today()
    return (
        stmt.order_by(
            case((started, 0), else_=1),
            case((started, term.start_date), else_=None).desc(),
            term.start_date,
            term.id,
        )
        .limit(1)
        .correlate(Student)
        .scalar_subquery()
    )


def _chosen_term(teacher_only: bool) -> Any:
    """The term a report card shows when none is named: the latest among the student's terms,
    else among their school's."""
    return func.coalesce(_latest_term(True, teacher_only), _latest_term(False, teacher_only))


@compiled
def _header(kind: ScopeKind, term_mode: TermMode) -> Select[Any]:
    columns: tuple[Any, ...] = (*STUDENT_COLUMNS, School.id, School.name)
    if term_mode != "none":
        columns += TERM_COLUMNS
    stmt = select(*columns).select_from(Student).join(School, School.id == Student.school_id)
    if term_mode == "given":
        stmt = stmt.outerjoin(
            Term, and_(Term.id == bindparam("term_id"), Term.school_id == Student.school_id)
        )
    elif term_mode == "auto":
        stmt = stmt.outerjoin(Term, Term.id == _chosen_term(kind == "teacher"))
    return stmt.where(
        Student.id == bindparam("student_id"),
        school_filter(kind, Student.school_id),
        student_filter(kind, Student.id),
    )


class StudentHeader(NamedTuple):
    """A document's student and school (STUDENT_COLUMNS, School.id, School.name), and the
    term a report card shows (TERM_COLUMNS; absent for a transcript and a bulk job's roster,
    None when the term is not found)."""

    id: int
    student_number: str
    first_name: str
    last_name: str
    grade_level: int
    school_id: int
    school_name: str
    term_id: int | None = None
    term_name: str | None = None
    term_start: dt.date | str | None = None
    term_end: dt.date | str | None = None


async def header(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    student_id: int,
    term_mode: TermMode,
    term_id: int | None = None,
) -> StudentHeader | None:
    """The student, their school and (but with "none") the term, when the caller may see the
    student; the term's columns are None when the term named is not the student's school's
    (or, with "auto", the school has no terms)."""
    params = {**scope, "student_id": student_id, "term_id": term_id, "today": dt.date.today()}
    row = await db.reader.first(_header(db, kind, term_mode), params)
    return None if row is None else StudentHeader(*row)


# --- sections, assessments, attendance of one or many students -------------------------------


@compiled
def _sections(who: Who, teacher_only: bool, has_term: bool) -> Select[Any]:
    columns = (
        Enrollment.student_id,
        *grade_repository.SECTION_CATEGORY_COLUMNS,
        # what a report card adds
        Section.name,
        Course.credits,
        Teacher.first_name,
        Teacher.last_name,
        *TERM_COLUMNS[1:],
    )
    stmt = (
        grade_repository.with_courses(select(*columns))
        .join(Term, Term.id == Course.term_id)
        .outerjoin(Teacher, Teacher.id == Section.teacher_id)
        .outerjoin(AssessmentCategory, AssessmentCategory.section_id == Section.id)
    )
    return _enrolled(stmt, who, teacher_only, has_term).order_by(
        Enrollment.student_id,
        Term.start_date,
        Term.id,
        Course.code,
        Section.id,
        AssessmentCategory.id,
    )


@compiled
def _assessments(who: Who, teacher_only: bool, has_term: bool) -> Select[Any]:
    stmt = grade_repository.with_scores(
        select(
            Enrollment.student_id,
            *grade_repository.ASSESSMENT_SCORE_COLUMNS,
            # the teacher's feedback on the student's work
            Grade.comment,
        )
        .select_from(Enrollment)
        .join(Section, Section.id == Enrollment.section_id)
    )
    if has_term:
        stmt = stmt.join(Course, Course.id == Section.course_id)
    return _enrolled(stmt, who, teacher_only, has_term)


@compiled
def _attendance(who: Who, teacher_only: bool) -> Select[Any]:
    """Counts over the records of the term's sections (dropped ones included: the student
    was there, or not, while enrolled)."""
    stmt = (
        select(
            AttendanceRecord.student_id,
            func.count(),
            *map(attendance_repository.status_count, ATTENDANCE_STATUSES),
        )
        .select_from(AttendanceRecord)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .join(Section, Section.id == AttendanceSession.section_id)
        .join(Course, Course.id == Section.course_id)
        .where(Course.term_id == bindparam("term_id"))
        .group_by(AttendanceRecord.student_id)
    )
    stmt = _for_students(stmt, who, AttendanceRecord.student_id)
    if teacher_only:
        stmt = stmt.where(Section.teacher_id == bindparam("scope_profile"))
    return stmt


class SectionLine(NamedTuple):
    """A row of _sections: the student, a row of grades.service.summarize's sections, what a
    report card adds."""

    student_id: int
    section_id: int
    course_code: str
    course_title: str
    term_id: int
    category_id: int | None
    category_name: str | None
    weight: float | None
    section_name: str
    credits: float
    teacher_first: str | None
    teacher_last: str | None
    term_name: str
    term_start: dt.date | str
    term_end: dt.date | str

    @property
    def grading(self) -> grade_repository.SectionCategory:
        return (
            self.section_id,
            self.course_code,
            self.course_title,
            self.term_id,
            self.category_id,
            self.category_name,
            self.weight,
        )


async def sections(
    db: Database, who: Who, teacher_only: bool, has_term: bool, params: dict[str, Any]
) -> list[SectionLine]:
    """Per student, section and category, ordered by student, term, course code."""
    query = _sections(db, who, teacher_only, has_term)
    return list(map(SectionLine._make, await db.reader.all(query, params)))


class AssessmentLine(NamedTuple):
    """A row of _assessments: the student, a row of grades.service.summarize's assessments,
    the teacher's comment."""

    student_id: int
    section_id: int
    assessment_id: int
    title: str
    category_id: int
    max_points: float
    due_date: dt.date | str | None
    score: float | None
    comment: str | None

    @property
    def grading(self) -> grade_repository.AssessmentScore:
        return (
            self.section_id,
            self.assessment_id,
            self.title,
            self.category_id,
            self.max_points,
            self.due_date,
            self.score,
        )


async def assessments(
    db: Database, who: Who, teacher_only: bool, has_term: bool, params: dict[str, Any]
) -> list[AssessmentLine]:
    """Every assessment of the students' sections with the student's score and comment (None
    when ungraded)."""
    query = _assessments(db, who, teacher_only, has_term)
    return list(map(AssessmentLine._make, await db.reader.all(query, params)))


class AttendanceCounts(NamedTuple):
    student_id: int
    total: int
    present: int
    absent: int
    late: int
    excused: int


async def attendance(
    db: Database, who: Who, teacher_only: bool, params: dict[str, Any]
) -> list[AttendanceCounts]:
    """Each student's records over the term's sections, counted by status."""
    query = _attendance(db, who, teacher_only)
    return list(map(AttendanceCounts._make, await db.reader.all(query, params)))


# --- bulk jobs ---------------------------------------------------------------------------------


class SectionTarget(NamedTuple):
    id: int
    school_id: int
    teacher_id: int | None
    term_id: int
    course_code: str
    name: str


@compiled
def _section_target(kind: ScopeKind) -> Select[Any]:
    return (
        select(
            Section.id,
            Section.school_id,
            Section.teacher_id,
            Course.term_id,
            Course.code,
            Section.name,
        )
        .join(Course, Course.id == Section.course_id)
        .where(
            Section.id == bindparam("section_id"),
            school_filter(kind, Section.school_id),
            section_filter(kind, Section.id),
        )
    )


async def section_target(
    db: Database, kind: ScopeKind, scope: dict[str, Any], section_id: int
) -> SectionTarget | None:
    """A section the caller may see."""
    query = _section_target(db, kind)
    row = await db.reader.first(query, {**scope, "section_id": section_id})
    return None if row is None else SectionTarget._make(row)


class TermTarget(NamedTuple):
    id: int
    school_id: int
    name: str
    start_date: dt.date | str
    end_date: dt.date | str


@compiled
def _term_target(kind: ScopeKind) -> Select[Any]:
    return select(Term.id, Term.school_id, *TERM_COLUMNS[1:]).where(
        Term.id == bindparam("term_id"), school_filter(kind, Term.school_id)
    )


async def term_target(
    db: Database, kind: ScopeKind, scope: dict[str, Any], term_id: int
) -> TermTarget | None:
    """A term of the caller's school."""
    row = await db.reader.first(_term_target(db, kind), {**scope, "term_id": term_id})
    return None if row is None else TermTarget._make(row)


@compiled
def _roster(kind: ScopeKind, by_section: bool) -> Select[Any]:
    stmt = select(*STUDENT_COLUMNS, School.id, School.name).join(
        School, School.id == Student.school_id
    )
    if by_section:
        stmt = stmt.join(Enrollment, Enrollment.student_id == Student.id).where(
            Enrollment.section_id == bindparam("target_section"), Enrollment.status != "dropped"
        )
    else:
        stmt = stmt.where(
            Student.school_id == bindparam("target_school"),
            Student.grade_level == bindparam("target_grade"),
            Student.archived_at.is_(None),
            _term_enrollments(bindparam("term_id"), False).exists(),
        )
    return stmt.where(
        school_filter(kind, Student.school_id), student_filter(kind, Student.id)
    ).order_by(Student.id)


async def roster(
    db: Database, kind: ScopeKind, scope: dict[str, Any], by_section: bool, params: dict[str, Any]
) -> list[StudentHeader]:
    """The students a bulk job covers, by id (no term columns): a section's enrolled
    students, or a grade level's students (not archived) enrolled in the term; always within
    the caller's own scope."""
    rows = await db.reader.all(_roster(db, kind, by_section), {**scope, **params})
    return [StudentHeader(*row) for row in rows]
