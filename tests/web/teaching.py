"""A class to teach, for the tests of the teaching pages (sections, attendance, gradebook):
a teacher with a login, their section of three students (one dropped out of a fourth), its
categories and assessments, and another teacher's section of the same school."""

from dataclasses import dataclass

from httpx import AsyncClient

from homeroom.models import (
    Assessment,
    AssessmentCategory,
    Enrollment,
    School,
    Section,
    Student,
    Teacher,
    User,
)
from tests.factories import Factory
from tests.web.pages import sign_in

API = "/api/v1"


@dataclass
class Class:
    school: School
    teacher: Teacher
    user: User
    section: Section
    students: list[Student]  # enrolled, by last name
    enrollments: list[Enrollment]
    dropped: Student
    homework: AssessmentCategory
    tests: AssessmentCategory
    quiz: Assessment  # homework, out of 10
    exam: Assessment  # tests, out of 50
    other_section: Section  # another teacher's, same school


async def a_class(factory: Factory) -> Class:
    school = await factory.school()
    term = await factory.term(school, name="Fall 2026")
    course = await factory.course(term, code="BIO101", title="Biology")
    teacher = await factory.teacher(school, with_login=True)
    user = await factory.user_of(teacher)
    section = await factory.section(course, teacher, name="A")
    students = [
        await factory.student(school, first_name=first, last_name=last)
        for first, last in (("Ada", "Adams"), ("Ben", "Baker"), ("Cleo", "Clark"))
    ]
    enrollments = [await factory.enroll(s, section) for s in students]
    dropped = await factory.student(school, first_name="Dan", last_name="Dropped")
    await factory.enroll(dropped, section, status="dropped")
    homework = await factory.category(section, "Homework", 40.0)
    tests = await factory.category(section, "Tests", 60.0)
    quiz = await factory.assessment(section, homework, title="Quiz 1", max_points=10.0)
    exam = await factory.assessment(section, tests, title="Midterm", max_points=50.0)
    other_teacher = await factory.teacher(school)
    other_section = await factory.section(course, other_teacher, name="B")
    return Class(
        school,
        teacher,
        user,
        section,
        students,
        enrollments,
        dropped,
        homework,
        tests,
        quiz,
        exam,
        other_section,
    )


async def signed_in_teacher(client: AsyncClient, factory: Factory) -> Class:
    world = await a_class(factory)
    assert (await sign_in(client, world.user.email)).status_code == 303
    return world


def api_headers(factory: Factory, world: Class) -> dict[str, str]:
    return factory.headers(world.user, world.teacher.id)
