"""A small school for attendance tests: one section with its teacher and three students, a
second section with another teacher, and a second school."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from homeroom.models import School, Section, Student, StudentGuardian, Teacher
from tests.factories import Factory

DAY = dt.date(2026, 9, 14)
NEXT_DAY = dt.date(2026, 9, 15)
API = "/api/v1"


@dataclass
class World:
    school: School
    section: Section
    other_section: Section
    teacher: Teacher
    students: list[Student]  # enrolled in `section`; students[0] has a login
    outsider: Student  # same school, enrolled only in `other_section`
    admin: dict[str, str]
    staff: dict[str, str]
    teacher_h: dict[str, str]
    other_teacher_h: dict[str, str]
    student_h: dict[str, str]  # students[0]
    guardian_h: dict[str, str]  # guardian of students[0]
    foreign_staff: dict[str, str]  # staff of another school


@pytest.fixture
async def world(factory: Factory) -> World:
    school = await factory.school()
    term = await factory.term(school)
    course = await factory.course(term, code="MATH-101")
    other_course = await factory.course(term, code="BIO-201")
    teacher_h, teacher = await factory.login_as("teacher", school)
    other_teacher_h, other_teacher = await factory.login_as("teacher", school)
    section = await factory.section(course, teacher)
    other_section = await factory.section(other_course, other_teacher)
    student_h, me = await factory.login_as("student", school)
    students = [me, await factory.student(school), await factory.student(school)]
    for s in students:
        await factory.enroll(s, section)
    outsider = await factory.student(school)
    await factory.enroll(outsider, other_section)
    await factory.enroll(me, other_section)
    guardian_h, guardian = await factory.login_as("guardian", school)
    await factory.save(StudentGuardian(student_id=me.id, guardian_id=guardian.id))
    other_school = await factory.school()
    return World(
        school=school,
        section=section,
        other_section=other_section,
        teacher=teacher,
        students=students,
        outsider=outsider,
        admin=(await factory.login_as("admin", school))[0],
        staff=(await factory.login_as("staff", school))[0],
        teacher_h=teacher_h,
        other_teacher_h=other_teacher_h,
        student_h=student_h,
        guardian_h=guardian_h,
        foreign_staff=(await factory.login_as("staff", other_school))[0],
    )


def data_statements(statements: list[str]) -> list[str]:
    """Statements less SQLite's BEGIN IMMEDIATE, which every write transaction opens with."""
    return [s for s in statements if not s.lstrip().upper().startswith("BEGIN")]


def bulk_body(section: Section, day: dt.date, rows: list[tuple[int, str]]) -> dict[str, Any]:
    return {
        "section_id": section.id,
        "date": day.isoformat(),
        "records": [{"student_id": sid, "status": status} for sid, status in rows],
    }
