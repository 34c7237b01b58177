"""A small school whose every figure is worked out by hand (see `world`)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from homeroom.kit.db import Database
from homeroom.models import School, Section, Student, StudentGuardian
from tests.factories import Factory

API = "/api/v1"
MONDAY = dt.date(2026, 10, 5)
TUESDAY = dt.date(2026, 10, 6)


@dataclass
class World:
    school: School
    other_school: School
    admin: dict[str, str]  # of every school
    staff: dict[str, str]
    other_staff: dict[str, str]
    teacher_a: dict[str, str]  # teaches X (MATH1)
    teacher_b: dict[str, str]  # teaches Y (ART1)
    s1_headers: dict[str, str]
    guardian: dict[str, str]  # of s1 and s2
    s1: Student
    s2: Student
    s3: Student
    x: Section
    y: Section
    ids: dict[str, int]


@pytest.fixture
async def world(factory: Factory, db: Database, app: FastAPI) -> World:
    """School S, term T1, courses MATH1 (section X, teacher A) and ART1 (section Y, teacher B).

    Students: s1, s2, s3 active; s4 archived; s5 inactive. Guardian g of s1 and s2.
    X: s1, s2, s3 enrolled. Categories Tests (60) and Homework (40); assessments Test
    (Tests, 100 points, due 10-01), HW1 (Homework, 10, due 10-01), HW2 (Homework, 10, due
    10-20, ungraded). Scores: s1 95 and 9 -> 60*.95 + 40*.9 = 93.0 A; s2 50 and 5 -> 50.0 F;
    s3 75 only -> 75.0 C (an ungraded category does not count).
    Y: s1 enrolled, s3 dropped. Category Projects (100); Project (20 points, due 10-10):
    s1 12 -> 60.0 D.
    Attendance, Monday 10-05 in X: s1 present, s2 absent, s3 late. Tuesday 10-06 in X: s1
    present, s2 absent, s3 present; in Y: s1 excused.
    """
    school = await factory.school()
    other_school = await factory.school()
    admin_user = await factory.user("admin", None)
    staff, _ = await factory.login_as("staff", school)
    other_staff, _ = await factory.login_as("staff", other_school)
    teacher_a_h, teacher_a = await factory.login_as("teacher", school)
    teacher_b_h, teacher_b = await factory.login_as("teacher", school)
    s1_h, s1 = await factory.login_as("student", school)
    s2 = await factory.student(school)
    s3 = await factory.student(school)
    await factory.student(school, archived_at=dt.datetime(2026, 9, 30, tzinfo=dt.UTC))
    await factory.student(school, status="inactive")
    guardian_h, guardian = await factory.login_as("guardian", school)
    for child in (s1, s2):
        await factory.save(StudentGuardian(student_id=child.id, guardian_id=guardian.id))

    term = await factory.term(school)
    math = await factory.course(term, code="MATH1", title="Algebra")
    art = await factory.course(term, code="ART1", title="Studio Art")
    x = await factory.section(math, teacher_a)
    y = await factory.section(art, teacher_b)
    ex = {s.id: await factory.enroll(s, x) for s in (s1, s2, s3)}
    ey1 = await factory.enroll(s1, y)
    await factory.enroll(s3, y, status="dropped")

    tests = await factory.category(x, "Tests", 60)
    homework = await factory.category(x, "Homework", 40)
    test = await factory.assessment(x, tests, title="Test", max_points=100)
    hw1 = await factory.assessment(x, homework, title="HW1", max_points=10)
    hw2 = await factory.assessment(
        x, homework, title="HW2", max_points=10, due_date=dt.date(2026, 10, 20)
    )
    for student, points in ((s1, (95, 9)), (s2, (50, 5)), (s3, (75, None))):
        await factory.grade(ex[student.id], test, points[0])
        if points[1] is not None:
            await factory.grade(ex[student.id], hw1, points[1])
    projects = await factory.category(y, "Projects", 100)
    project = await factory.assessment(
        y, projects, title="Project", max_points=20, due_date=dt.date(2026, 10, 10)
    )
    await factory.grade(ey1, project, 12)

    for student, status in ((s1, "present"), (s2, "absent"), (s3, "late")):
        await factory.attendance(x, student, MONDAY, status)
    for student, status in ((s1, "present"), (s2, "absent"), (s3, "present")):
        await factory.attendance(x, student, TUESDAY, status)
    await factory.attendance(y, s1, TUESDAY, "excused")

    # Each test starts from emptied tables, cache versions included; a serving process writes
    # its cache epoch at start, so it is put back here (without one nothing is cached).
    await app.state.cache.ensure_epoch()
    return World(
        school=school,
        other_school=other_school,
        admin=factory.headers(admin_user),
        staff=staff,
        other_staff=other_staff,
        teacher_a=teacher_a_h,
        teacher_b=teacher_b_h,
        s1_headers=s1_h,
        guardian=guardian_h,
        s1=s1,
        s2=s2,
        s3=s3,
        x=x,
        y=y,
        ids={
            "math": math.id,
            "art": art.id,
            "term": term.id,
            "test": test.id,
            "hw1": hw1.id,
            "hw2": hw2.id,
            "project": project.id,
            "tests": tests.id,
            "homework": homework.id,
            "teacher_a": teacher_a.id,
            "teacher_b": teacher_b.id,
            "ex1": ex[s1.id].id,
        },
    )


async def set_status(db: Database, student: Student, **values: Any) -> None:
    async with db.sessionmaker() as session:
        await session.execute(update(Student).where(Student.id == student.id).values(**values))
        await session.commit()
