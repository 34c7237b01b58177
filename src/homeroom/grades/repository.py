"""Every grade query. Reads compile once per shape and run on the raw read path."""

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    Select,
    TextClause,
    and_,
    bindparam,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.grades.schemas import GradeFilters, GradeRead
from homeroom.kit.bulk import RowSet, any_id, execute_core, id_list, typed
from homeroom.kit.db import Database, Reader, compiled
from homeroom.kit.pagination import Sorting
from homeroom.kit.records import Listing, columns_of, equals, resource
from homeroom.kit.scopes import ScopeKind, school_filter, section_filter
from homeroom.models import (
    Assessment,
    AssessmentCategory,
    Course,
    Enrollment,
    Grade,
    Section,
    Student,
    StudentGuardian,
)

# GradeRead's fields in its order: the grade's own columns, and its section (its assessment's).
COLUMNS = columns_of(Grade, GradeRead, Assessment)
SORTING = Sorting.of(COLUMNS, "id", "score")


def _scoped(kind: ScopeKind, *columns: Any) -> Select[Any]:
    """Grades the caller may see: a student their own, a guardian their children's, a teacher
    those of the sections they teach (not their students' other sections), staff and admins
    their school's.

    Scopes are joins, not IN (subquery): the planner then starts from the guardian's children
    or the teacher's sections instead of walking the school's grades in id order. The narrow
    scopes already lie within one school, so only staff and admins get the school condition.
    """
    stmt = select(*(columns or COLUMNS)).join(Assessment, Assessment.id == Grade.assessment_id)
    profile: Any = bindparam("scope_profile")
    if kind == "student":
        return stmt.where(Grade.student_id == profile)
    if kind == "guardian":
        return stmt.join(StudentGuardian, StudentGuardian.student_id == Grade.student_id).where(
            StudentGuardian.guardian_id == profile
        )
    if kind == "teacher":
        return stmt.join(Section, Section.id == Assessment.section_id).where(
            Section.teacher_id == profile
        )
    return stmt.where(school_filter(kind, Grade.school_id))


# A grade's section is its assessment's, which no write of the grade changes.
RESOURCE = resource(
    "grade",
    Grade,
    _scoped,
    COLUMNS,
    returning=tuple(c for c in COLUMNS if c is not Assessment.section_id),
)
LISTING = Listing(
    "grades",
    RESOURCE,
    _scoped,
    SORTING,
    GradeFilters,
    filters={
        "assessment_id": equals(Grade.assessment_id),
        "section_id": equals(Assessment.section_id),
        "student_id": equals(Grade.student_id),
    },
)


# --- writes ------------------------------------------------------------------------------------


@compiled
def _grading_targets(kind: ScopeKind, sqlite: bool) -> Select[Any]:
    enrollment_join = and_(
        Enrollment.section_id == Assessment.section_id,
        any_id(Enrollment.student_id, "student_ids", sqlite),
    )
    return (
        select(
            Assessment.school_id,
            Assessment.section_id,
            Assessment.max_points,
            Section.teacher_id,
            Enrollment.id,
            Enrollment.student_id,
            Enrollment.status,
            Grade.id,
            Grade.comment,
        )
        .join(Section, Section.id == Assessment.section_id)
        .outerjoin(Enrollment, enrollment_join)
        .outerjoin(
            Grade,
            and_(Grade.enrollment_id == Enrollment.id, Grade.assessment_id == Assessment.id),
        )
        .where(Assessment.id == bindparam("assessment_id"))
        .where(school_filter(kind, Assessment.school_id))
        .where(section_filter(kind, Assessment.section_id))
    )


class GradingTarget(NamedTuple):
    """An assessment and one given student's enrollment in its section, with their grade
    (enrollment and grade columns None when absent)."""

    school_id: int
    section_id: int
    max_points: float
    teacher_id: int | None
    enrollment_id: int | None
    student_id: int | None
    enrollment_status: str | None
    grade_id: int | None
    grade_comment: str | None


async def grading_targets(
    db: Database,
    reader: Reader,
    kind: ScopeKind,
    scope: dict[str, Any],
    assessment_id: int,
    student_ids: Sequence[int],
) -> list[GradingTarget]:
    """For a visible assessment, one row per given student enrolled in its section (or one row
    with None enrollment columns when none is). Empty when the assessment is out of the
    caller's scope. One statement compiled once, whatever the number of students."""
    sqlite = db.is_sqlite
    query = _grading_targets(db, kind, sqlite)
    params = {
        **scope,
        "assessment_id": assessment_id,
        "student_ids": id_list(student_ids, sqlite),
    }
    return list(map(GradingTarget._make, await reader.all(query, params)))


@compiled
def target_query(kind: ScopeKind) -> Select[Any]:
    """The grade's columns by the parameter `id`, then its assessment's max_points and its
    section's teacher_id."""
    stmt = _scoped(kind, *COLUMNS, Assessment.max_points, Section.teacher_id)
    if kind != "teacher":  # the teacher's scope has joined sections already
        stmt = stmt.join(Section, Section.id == Assessment.section_id)
    return stmt.where(Grade.id == bindparam("id"))


_GRADES = RowSet(
    (
        ("school_id", "INTEGER"),
        ("enrollment_id", "INTEGER"),
        ("assessment_id", "INTEGER"),
        ("student_id", "INTEGER"),
        ("score", "FLOAT8"),
        ("comment", "TEXT"),
        ("graded_by", "INTEGER"),
        ("graded_at", "TIMESTAMPTZ"),
    )
)
_UPSERT: dict[tuple[bool, bool, bool], TextClause] = {}


def _upsert_statement(sqlite: bool, set_comment: bool, guarded: bool) -> TextClause:
    statement = _UPSERT.get((sqlite, set_comment, guarded))
    if statement is None:
        columns = ", ".join(name for name, _ in _GRADES.columns)
        comment = "comment = excluded.comment, " if set_comment else ""
        guard = ""
        if guarded:
            assessment = typed("guard_assessment", "INTEGER", sqlite)
            teacher = typed("guard_teacher", "INTEGER", sqlite)
            guard = (
                " AND EXISTS (SELECT 1 FROM enrollments e JOIN assessments a "
                "ON a.section_id = e.section_id WHERE e.id = r.enrollment_id "
                f"AND a.id = {assessment} AND e.status != 'dropped' AND r.score <= a.max_points) "
                f"AND ({teacher} IS NULL OR EXISTS (SELECT 1 FROM assessments a "
                f"JOIN sections s ON s.id = a.section_id WHERE a.id = {assessment} "
                f"AND s.teacher_id = {teacher}))"
            )
        statement = _UPSERT[sqlite, set_comment, guarded] = text(
            f"INSERT INTO grades ({columns}) SELECT {columns} FROM ({_GRADES.select(sqlite)}) r "
            f"WHERE true{guard} "
            "ON CONFLICT (enrollment_id, assessment_id) DO UPDATE SET score = excluded.score, "
            f"{comment}graded_by = excluded.graded_by, graded_at = excluded.graded_at"
        )
    return statement


async def upsert_grades(
    session: AsyncSession,
    rows: list[tuple[Any, ...]],
    *,
    set_comment: bool,
    guard: tuple[int, int | None] | None = None,
) -> int:
    """One statement whatever the number of rows: each (school_id, enrollment_id,
    assessment_id, student_id, score, comment, graded_by, graded_at) inserts the grade or
    updates the existing one's score, and its comment when `set_comment` (else a new grade
    gets the row's comment and an existing one keeps its own). With a `guard` (assessment_id,
    teacher_id or None), only rows whose enrollment is still in the assessment's section and
    not dropped, with a score within its points (and, with a teacher, of a section still
    theirs) are written. Returns the number of rows written."""
    sqlite = session.bind.dialect.name == "sqlite"
    params = _GRADES.params(sqlite, rows)
    if guard is not None:
        guard_assessment, guard_teacher = guard
        params |= {"guard_assessment": guard_assessment, "guard_teacher": guard_teacher}
    statement = _upsert_statement(sqlite, set_comment, guard is not None)
    result = await execute_core(session, statement, params)
    written: int = result.rowcount
    return written


# --- a student's grades by section -------------------------------------------------------------


# The two row kinds grades.service.summarize reads: /students/{id}/grades selects them alone,
# reports/repository.py selects them after the student's id (and adds a report card's columns).
# They stay plain tuples, typed by shape and unpacked by name in summarize: wrapping each row
# of this hot read in a NamedTuple (`_make`) measured ~0.17 us a row, ~15% of summarize's time.
SECTION_CATEGORY_COLUMNS = (
    Section.id,
    Course.code,
    Course.title,
    Course.term_id,
    AssessmentCategory.id,
    AssessmentCategory.name,
    AssessmentCategory.weight,
)
# (section_id, course_code, course_title, term_id, category_id, category_name, weight): a
# student's section with one of its grading categories (the category's columns None when it
# has none).
SectionCategory = tuple[int, str, str, int, int | None, str | None, float | None]

ASSESSMENT_SCORE_COLUMNS = (
    Assessment.section_id,
    Assessment.id,
    Assessment.title,
    Assessment.category_id,
    Assessment.max_points,
    Assessment.due_date,
    Grade.score,
)
# (section_id, assessment_id, title, category_id, max_points, due_date, score): an assessment
# of one of the student's sections with their score (None: ungraded).
AssessmentScore = tuple[int, int, str, int, float, dt.date | str | None, float | None]


def with_courses(stmt: Select[Any]) -> Select[Any]:
    """stmt read from Enrollment (its FROM), joined to the enrollment's section and its course."""
    return (
        stmt.select_from(Enrollment)
        .join(Section, Section.id == Enrollment.section_id)
        .join(Course, Course.id == Section.course_id)
    )


@compiled
def _student_sections(teacher_only: bool, has_term: bool) -> Select[Any]:
    stmt = with_courses(select(*SECTION_CATEGORY_COLUMNS)).outerjoin(
        AssessmentCategory, AssessmentCategory.section_id == Section.id
    )
    return _student_enrollments(stmt, teacher_only, has_term).order_by(
        Course.code, Section.id, AssessmentCategory.id
    )


def with_scores(stmt: Select[Any]) -> Select[Any]:
    """stmt, which selects from Enrollment, joined to every assessment of the enrollment's
    section and to the enrollment's grade on it (an outer join: ASSESSMENT_SCORE_COLUMNS'
    score is None when ungraded)."""
    return stmt.join(Assessment, Assessment.section_id == Enrollment.section_id).outerjoin(
        Grade, and_(Grade.enrollment_id == Enrollment.id, Grade.assessment_id == Assessment.id)
    )


@compiled
def _student_assessments(teacher_only: bool, has_term: bool) -> Select[Any]:
    stmt = with_scores(
        select(*ASSESSMENT_SCORE_COLUMNS)
        .select_from(Enrollment)
        .join(Section, Section.id == Enrollment.section_id)
    )
    if has_term:
        stmt = stmt.join(Course, Course.id == Section.course_id)
    return _student_enrollments(stmt, teacher_only, has_term)


def _student_enrollments(stmt: Select[Any], teacher_only: bool, has_term: bool) -> Select[Any]:
    stmt = stmt.where(Enrollment.student_id == bindparam("student_id")).where(
        Enrollment.status != "dropped"
    )
    if teacher_only:
        stmt = stmt.where(Section.teacher_id == bindparam("scope_profile"))
    if has_term:
        stmt = stmt.where(Course.term_id == bindparam("term_id"))
    return stmt


async def student_grade_rows(
    db: Database,
    kind: ScopeKind,
    scope: dict[str, Any],
    student_id: int,
    term_id: int | None,
) -> tuple[list[SectionCategory], list[AssessmentScore]]:
    """Two statements: the student's sections with their categories, and every assessment of
    those sections with the student's score. A teacher gets only the sections they teach."""
    shape = (kind == "teacher", term_id is not None)
    sections_q = _student_sections(db, *shape)
    assessments_q = _student_assessments(db, *shape)
    params = {**scope, "student_id": student_id, "term_id": term_id}
    sections = await db.reader.all(sections_q, params)
    if not sections:
        return [], []
    return sections, await db.reader.all(assessments_q, params)


# --- a section's gradebook ---------------------------------------------------------------------


@compiled
def _gradebook_head(kind: ScopeKind) -> Select[Any]:
    """The section (when visible) with each of its categories: SECTION_CATEGORY_COLUMNS, then
    the section's name and teacher."""
    return (
        select(*SECTION_CATEGORY_COLUMNS, Section.name, Section.teacher_id)
        .select_from(Section)
        .join(Course, Course.id == Section.course_id)
        .outerjoin(AssessmentCategory, AssessmentCategory.section_id == Section.id)
        .where(Section.id == bindparam("section_id"))
        .where(school_filter(kind, Section.school_id))
        .where(section_filter(kind, Section.id))
        .order_by(AssessmentCategory.id)
    )


@compiled
def _gradebook_students() -> Select[Any]:
    return (
        select(
            Enrollment.id,
            Student.id,
            Student.student_number,
            Student.first_name,
            Student.last_name,
        )
        .select_from(Enrollment)
        .join(Student, Student.id == Enrollment.student_id)
        .where(Enrollment.section_id == bindparam("section_id"))
        .where(Enrollment.status != "dropped")
        .order_by(Student.last_name, Student.first_name, Student.id)
    )


@compiled
def _gradebook_cells() -> Select[Any]:
    return (
        select(
            Assessment.id,
            Assessment.title,
            Assessment.category_id,
            Assessment.max_points,
            Assessment.due_date,
            Grade.id,
            Grade.enrollment_id,
            Grade.score,
        )
        .select_from(Assessment)
        .outerjoin(Grade, Grade.assessment_id == Assessment.id)
        .where(Assessment.section_id == bindparam("section_id"))
        .order_by(Assessment.due_date.asc().nulls_last(), Assessment.id)
    )


# (section_id, course_code, course_title, term_id, category_id, category_name, weight,
# section_name, teacher_id)
GradebookHead = tuple[int, str, str, int, int | None, str | None, float | None, str, int | None]
# (enrollment_id, student_id, student_number, first_name, last_name), by name
GradebookStudent = tuple[int, int, str, str, str]
# (assessment_id, title, category_id, max_points, due_date, grade_id, enrollment_id, score):
# an assessment with one of its grades (the grade's columns None when it has none), by due date
GradebookCell = tuple[
    int, str, int, float, dt.date | str | None, int | None, int | None, float | None
]


async def gradebook_rows(
    db: Database, kind: ScopeKind, scope: dict[str, Any], section_id: int
) -> tuple[list[GradebookHead], list[GradebookStudent], list[GradebookCell]]:
    """Three statements (one when the section is out of the caller's scope: no rows): the
    section with its categories, its students not dropped, its assessments with their
    grades."""
    params = {"section_id": section_id}
    head = await db.reader.all(_gradebook_head(db, kind), {**scope, **params})
    if not head:
        return [], [], []
    students = await db.reader.all(_gradebook_students(db), params)
    cells = await db.reader.all(_gradebook_cells(db), params)
    return head, students, cells
