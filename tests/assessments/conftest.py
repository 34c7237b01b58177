"""A small school for the assessment tests: two teachers with a section each, categories,
students enrolled, and a login for every role."""

from dataclasses import dataclass

import pytest

from homeroom.models import AssessmentCategory, Enrollment, School, Section, Student, User
from tests.factories import Factory

Headers = dict[str, str]


def queries(statements: list[str]) -> list[str]:
    """The SQL a request issued, without transaction control (SQLite writes open with an explicit
    BEGIN IMMEDIATE that PostgreSQL's driver does not report)."""
    return [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]


async def guardian_headers(factory: Factory, school: School, children: list[Student]) -> Headers:
    guardian = await factory.guardian(school, children=children, with_login=True)
    async with factory.db.sessionmaker() as session:
        user = await session.get(User, guardian.user_id)
    assert user is not None
    return factory.headers(user, guardian.id)


async def student_headers(factory: Factory, student: Student) -> Headers:
    async with factory.db.sessionmaker() as session:
        user = await session.get(User, student.user_id)
    assert user is not None
    return factory.headers(user, student.id)


@dataclass
class World:
    school: School
    section: Section  # taught by `teacher`
    other_section: Section  # taught by `other_teacher`
    tests: AssessmentCategory  # weight 60, in `section`
    homework: AssessmentCategory  # weight 40, in `section`
    other_category: AssessmentCategory  # weight 100, in `other_section`
    student: Student  # enrolled in both sections, has a login and a guardian
    classmate: Student  # enrolled in `section` only
    outsider: Student  # enrolled in `other_section` only
    enrollment: Enrollment  # student in section
    classmate_enrollment: Enrollment
    admin: Headers
    staff: Headers
    teacher: Headers
    other_teacher: Headers
    student_login: Headers
    guardian: Headers
    foreign_admin: Headers  # admin of another school


@pytest.fixture
async def world(factory: Factory) -> World:
    school = await factory.school()
    term = await factory.term(school)
    course = await factory.course(term, code="MATH-1", title="Algebra")
    other_course = await factory.course(term, code="BIO-1", title="Biology")
    teacher_headers, teacher = await factory.login_as("teacher", school)
    other_headers, other_teacher = await factory.login_as("teacher", school)
    section = await factory.section(course, teacher)
    other_section = await factory.section(other_course, other_teacher)
    student = await factory.student(school, with_login=True)
    classmate = await factory.student(school)
    outsider = await factory.student(school)
    enrollment = await factory.enroll(student, section)
    classmate_enrollment = await factory.enroll(classmate, section)
    await factory.enroll(student, other_section)
    await factory.enroll(outsider, other_section)
    elsewhere = await factory.school()
    return World(
        school=school,
        section=section,
        other_section=other_section,
        tests=await factory.category(section, "Tests", 60),
        homework=await factory.category(section, "Homework", 40),
        other_category=await factory.category(other_section, "All", 100),
        student=student,
        classmate=classmate,
        outsider=outsider,
        enrollment=enrollment,
        classmate_enrollment=classmate_enrollment,
        admin=(await factory.login_as("admin", school))[0],
        staff=(await factory.login_as("staff", school))[0],
        teacher=teacher_headers,
        other_teacher=other_headers,
        student_login=await student_headers(factory, student),
        guardian=await guardian_headers(factory, school, [student]),
        foreign_admin=(await factory.login_as("admin", elsewhere))[0],
    )
