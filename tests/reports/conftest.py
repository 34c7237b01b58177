"""A school with two terms of hand-graded work for the report card and transcript tests.

Past term (ended 120 days ago):
  HIST-1 History, 2 credits, taught by `history_teacher`: All 100%: 55/100 -> 55.00 F
  ART-1 Art, 1 credit, no teacher: nothing graded -> no final, not counted in the GPA
Current term (in progress):
  MATH-1 Algebra, 1 credit, taught by `teacher`: Tests 60% (45/50, 40/50 -> 85%),
      Homework 40% (9/10 and one ungraded -> 90%) -> 0.6 * 85 + 0.4 * 90 = 87.00 B
  BIO-1 Biology, 0.5 credit, taught by `other_teacher`: All 100%: 18/20 -> 90.00 A
GPA: past term 0 * 2 / 2 = 0.00 (attempted 2, earned 0); current term
(3 * 1 + 4 * 0.5) / 1.5 = 3.33 (attempted 1.5, earned 1.5); cumulative 5 / 3.5 = 1.43.
Attendance in the current term: Algebra present, present, late; Biology absent, excused
-> 5 sessions, rate (2 + 1) / 5 = 60.0%. (One absence in History belongs to the past term.)
"""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from homeroom.models import School, Section, Student, Term, User
from tests.factories import Factory

Headers = dict[str, str]
TODAY = date.today()


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


async def headers_of(factory: Factory, profile: Student) -> Headers:
    async with factory.db.sessionmaker() as session:
        user = await session.get(User, profile.user_id)
    assert user is not None
    return factory.headers(user, profile.id)


@dataclass
class World:
    school: School
    past: Term
    current: Term
    algebra: Section
    biology: Section
    history: Section
    art: Section
    student: Student  # in all four sections; login, guardian
    classmate: Student  # in algebra only
    outsider: Student  # in another teacher's chemistry section only
    admin: Headers
    staff: Headers
    teacher: Headers  # teaches algebra
    other_teacher: Headers  # teaches biology
    chemistry_teacher: Headers  # teaches only the outsider
    student_login: Headers
    classmate_login: Headers
    guardian: Headers  # the student's
    other_guardian: Headers  # the classmate's
    foreign_staff: Headers  # staff of another school


@pytest.fixture
async def world(factory: Factory) -> World:
    school = await factory.school(name="Maple High School")
    past = await factory.term(
        school, name="Spring Year 1", start_date=days(-300), end_date=days(-120)
    )
    current = await factory.term(
        school, name="Fall Year 2", start_date=days(-60), end_date=days(60)
    )
    teacher_h, teacher = await factory.login_as("teacher", school)
    other_h, other_teacher = await factory.login_as("teacher", school)
    history_teacher = await factory.teacher(school)
    chemistry_h, chemistry_teacher = await factory.login_as("teacher", school)
    for profile, (first, last) in (
        (teacher, ("Ada", "Lovelace")),
        (other_teacher, ("Rosalind", "Franklin")),
    ):
        async with factory.db.sessionmaker() as session:
            row = await session.get(type(profile), profile.id)
            assert row is not None
            row.first_name, row.last_name = first, last
            await session.commit()

    algebra = await factory.section(
        await factory.course(current, code="MATH-1", title="Algebra", credits=1.0),
        teacher,
        name="A1",
    )
    biology = await factory.section(
        await factory.course(current, code="BIO-1", title="Biology", credits=0.5),
        other_teacher,
        name="B1",
    )
    chemistry = await factory.section(
        await factory.course(current, code="CHEM-1", title="Chemistry"), chemistry_teacher
    )
    history = await factory.section(
        await factory.course(past, code="HIST-1", title="History", credits=2.0), history_teacher
    )
    art = await factory.section(await factory.course(past, code="ART-1", title="Art"), None)

    student = await factory.student(
        school, with_login=True, first_name="Zoë", last_name="Okafor", student_number="S-0042"
    )
    classmate = await factory.student(school, with_login=True)
    outsider = await factory.student(school)
    e_algebra = await factory.enroll(student, algebra)
    e_biology = await factory.enroll(student, biology)
    e_history = await factory.enroll(student, history, status="completed")
    await factory.enroll(student, art, status="completed")
    e_classmate = await factory.enroll(classmate, algebra)
    await factory.enroll(outsider, chemistry)

    tests = await factory.category(algebra, "Tests", 60)
    homework = await factory.category(algebra, "Homework", 40)
    t1 = await factory.assessment(
        algebra, tests, title="Test 1", max_points=50.0, due_date=days(-40)
    )
    t2 = await factory.assessment(
        algebra, tests, title="Test 2", max_points=50.0, due_date=days(-20)
    )
    h1 = await factory.assessment(
        algebra, homework, title="HW 1", max_points=10.0, due_date=days(-50)
    )
    await factory.assessment(algebra, homework, title="HW 2", max_points=10.0, due_date=None)
    await factory.grade(e_algebra, t1, 45, comment="Great improvement on factoring")
    await factory.grade(e_algebra, t2, 40, comment="  ")  # blank: not a comment
    await factory.grade(e_algebra, h1, 9)
    await factory.grade(e_classmate, t1, 10, comment="Classmate's private feedback")

    lab = await factory.category(biology, "All", 100)
    report = await factory.assessment(biology, lab, title="Lab report", max_points=20.0)
    await factory.grade(e_biology, report, 18, comment="Careful lab work (pH \\ titration)")

    essays = await factory.category(history, "All", 100)
    essay = await factory.assessment(history, essays, title="Essay", max_points=100.0)
    await factory.grade(e_history, essay, 55, comment="Cite your sources")
    await factory.category(art, "All", 100)

    await factory.attendance(algebra, student, days(-10), "present")
    await factory.attendance(algebra, student, days(-9), "present")
    await factory.attendance(algebra, student, days(-8), "late")
    await factory.attendance(biology, student, days(-10), "absent")
    await factory.attendance(biology, student, days(-9), "excused")
    await factory.attendance(history, student, days(-200), "absent")
    await factory.attendance(algebra, classmate, days(-10), "absent")

    elsewhere = await factory.school()
    return World(
        school=school,
        past=past,
        current=current,
        algebra=algebra,
        biology=biology,
        history=history,
        art=art,
        student=student,
        classmate=classmate,
        outsider=outsider,
        admin=(await factory.login_as("admin", school))[0],
        staff=(await factory.login_as("staff", school))[0],
        teacher=teacher_h,
        other_teacher=other_h,
        chemistry_teacher=chemistry_h,
        student_login=await headers_of(factory, student),
        classmate_login=await headers_of(factory, classmate),
        guardian=(await guardian(factory, school, student)),
        other_guardian=(await guardian(factory, school, classmate)),
        foreign_staff=(await factory.login_as("staff", elsewhere))[0],
    )


async def guardian(factory: Factory, school: School, child: Student) -> Headers:
    parent = await factory.guardian(school, children=[child], with_login=True)
    async with factory.db.sessionmaker() as session:
        user = await session.get(User, parent.user_id)
    assert user is not None
    return factory.headers(user, parent.id)
