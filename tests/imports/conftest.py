"""A school for the import tests: a term with two courses (MATH-101 with sections 01 and 02,
BIO-201 with one), their teachers, assessments, enrolled students, and a login per role."""

import io
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from homeroom.models import (
    Assessment,
    AttendanceRecord,
    AuditLog,
    Enrollment,
    Grade,
    Guardian,
    School,
    Section,
    Student,
    StudentGuardian,
)
from tests.factories import Factory

API = "/api/v1/imports"
Headers = dict[str, str]


@dataclass
class World:
    school: School
    math1: Section  # MATH-101 section 01, taught by `teacher`
    math2: Section  # MATH-101 section 02, taught by `other_teacher`
    bio: Section  # BIO-201 section 01, taught by `teacher`
    quiz: Assessment  # in math1, "Quiz 1", 20 points
    test: Assessment  # in math1, "Unit test", 100 points
    students: list[Student]  # S0001..S0003, enrolled in math1 and bio
    outsider: Student  # S0009, enrolled in math2 only
    admin: Headers
    staff: Headers
    teacher: Headers
    other_teacher: Headers
    student: Headers
    foreign_staff: Headers  # staff of another school
    district_admin: Headers  # an admin of every school


@pytest.fixture
async def world(factory: Factory) -> World:
    school = await factory.school()
    term = await factory.term(school, name="Fall 2026")
    math = await factory.course(term, code="MATH-101")
    bio = await factory.course(term, code="BIO-201")
    teacher_h, teacher = await factory.login_as("teacher", school)
    other_h, other = await factory.login_as("teacher", school)
    math1 = await factory.section(math, teacher, name="01", capacity=5)
    math2 = await factory.section(math, other, name="02")
    bio1 = await factory.section(bio, teacher, name="01")
    category = await factory.category(math1, "Tests", 100)
    quiz = await factory.assessment(math1, category, title="Quiz 1", max_points=20)
    test = await factory.assessment(math1, category, title="Unit test", max_points=100)
    student_h, first = await factory.login_as("student", school)
    async with factory.db.sessionmaker() as session:
        row = await session.get(Student, first.id)
        assert row is not None
        row.student_number = "S0001"
        await session.commit()
    first.student_number = "S0001"
    students = [
        first,
        await factory.student(school, student_number="S0002"),
        await factory.student(school, student_number="S0003"),
    ]
    for s in students:
        await factory.enroll(s, math1)
        await factory.enroll(s, bio1)
    outsider = await factory.student(school, student_number="S0009")
    await factory.enroll(outsider, math2)
    other_school = await factory.school()
    return World(
        school=school,
        math1=math1,
        math2=math2,
        bio=bio1,
        quiz=quiz,
        test=test,
        students=students,
        outsider=outsider,
        admin=(await factory.login_as("admin", school))[0],
        staff=(await factory.login_as("staff", school))[0],
        teacher=teacher_h,
        other_teacher=other_h,
        student=student_h,
        foreign_staff=(await factory.login_as("staff", other_school))[0],
        district_admin=factory.headers(await factory.user("admin", None)),
    )


def csv_text(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


async def upload(
    client: httpx.AsyncClient,
    kind: str,
    data: bytes,
    headers: Headers,
    *,
    file_name: str = "upload.csv",
    raw: str | None = None,
    **params: Any,
) -> httpx.Response:
    """POST a file as multipart (the default) or as a raw body of type `raw`."""
    query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
    if raw is not None:
        return await client.post(
            f"{API}/{kind}", content=data, headers={**headers, "Content-Type": raw}, params=query
        )
    files = {"file": (file_name, io.BytesIO(data), "application/octet-stream")}
    return await client.post(f"{API}/{kind}", files=files, headers=headers, params=query)


MODELS = {
    "students": Student,
    "guardians": Guardian,
    "links": StudentGuardian,
    "enrollments": Enrollment,
    "grades": Grade,
    "attendance": AttendanceRecord,
    "audit": AuditLog,
}


async def counts(factory: Factory) -> dict[str, int]:
    """Rows in every table an import writes."""
    out = {}
    async with factory.db.sessionmaker() as session:
        for name, model in MODELS.items():
            out[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return out


def data_statements(statements: list[str]) -> list[str]:
    """Statements less transaction control (SQLite's BEGIN IMMEDIATE)."""
    return [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
