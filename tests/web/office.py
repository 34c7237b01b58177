"""What the office's page tests share: a school with people of every role, signed in."""

from dataclasses import dataclass
from datetime import date

from fastapi import FastAPI
from httpx import AsyncClient

from homeroom.models import Course, Guardian, School, Section, Student, Teacher, User
from tests.factories import Factory
from tests.web.pages import sign_in


@dataclass
class Office:
    school: School
    staff: User
    admin: User
    teacher: Teacher
    course: Course
    section: Section
    student: Student  # in the teacher's section, with a guardian, a grade and attendance
    guardian: Guardian
    other: Student  # in no section of the teacher's, nobody's child


async def office(factory: Factory, app: FastAPI) -> Office:
    school = await factory.school()
    staff = await factory.user("staff", school)
    admin = await factory.user("admin", school)
    teacher = await factory.teacher(school, with_login=True)
    term = await factory.term(school, name="Fall 2026")
    course = await factory.course(term, code="BIO101", title="Biology")
    section = await factory.section(course, teacher)
    student = await factory.student(school, with_login=True, first_name="Ada", last_name="Lovelace")
    other = await factory.student(school, with_login=True, first_name="Alan", last_name="Turing")
    guardian = await factory.guardian(school, [student], with_login=True)
    enrollment = await factory.enroll(student, section)
    category = await factory.category(section, "Tests", 1.0)
    assessment = await factory.assessment(section, category)
    await factory.grade(enrollment, assessment, 55.0)
    await factory.attendance(section, student, date(2026, 11, 2), "present")
    await factory.attendance(section, student, date(2026, 11, 3), "absent")
    # Each test starts from emptied tables, cache versions included; a serving process writes
    # its cache epoch at start, so it is put back here (without one nothing is cached).
    await app.state.cache.ensure_epoch()
    return Office(school, staff, admin, teacher, course, section, student, guardian, other)


async def email_of(factory: Factory, who: object) -> str:
    if isinstance(who, User):
        return who.email
    assert isinstance(who, Student | Teacher | Guardian)
    return (await factory.user_of(who)).email


async def signed_in_as(client: AsyncClient, factory: Factory, who: object) -> None:
    """`who` signed in on `client` (anyone signed in there before is forgotten)."""
    client.cookies.clear()
    r = await sign_in(client, await email_of(factory, who))
    assert r.status_code == 303, r.text
