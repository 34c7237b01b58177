"""A school for the tests of a student's and a guardian's own pages (test_own.py, the browser
journey test_browser_own.py): a guardian of Ada and Ben, Cleo nobody's child here, their
sections, grades and attendance."""

import datetime as dt
from dataclasses import dataclass

from homeroom.models import School, Section, Student, Teacher, Term
from tests.factories import Factory


@dataclass
class World:
    school: School
    spring: Term
    fall: Term
    teacher: Teacher
    math: Section  # fall: Ada and Ben
    history: Section  # fall: Ada only
    old: Section  # spring: Ada
    ada: Student
    ben: Student
    cleo: Student  # nobody's child here, in Ada's sections
    guardian_email: str
    ada_email: str
    cleo_email: str


async def make_world(factory: Factory) -> World:
    school = await factory.school()
    spring = await factory.term(
        school, name="Spring 2026", start_date=dt.date(2026, 1, 5), end_date=dt.date(2026, 6, 20)
    )
    fall = await factory.term(
        school, name="Fall 2026", start_date=dt.date(2026, 9, 1), end_date=dt.date(2027, 1, 31)
    )
    teacher = await factory.teacher(school, first_name="Grace", last_name="Hopper")
    math_course = await factory.course(fall, code="MATH9", title="Algebra")
    history_course = await factory.course(fall, code="HIST9", title="World History")
    old_course = await factory.course(spring, code="SCI8", title="Earth Science")
    math = await factory.section(
        math_course, teacher, name="A", room="R12", meeting_pattern="MWF 09:00-09:50"
    )
    history = await factory.section(history_course, None, name="B", room=None, meeting_pattern=None)
    old = await factory.section(old_course, teacher, name="C")
    ada = await factory.student(school, with_login=True, first_name="Ada", last_name="Lovelace")
    ben = await factory.student(school, first_name="Ben", last_name="Lovelace")
    cleo = await factory.student(school, with_login=True, first_name="Cleo", last_name="Zebra")
    guardian = await factory.guardian(school, children=[ben, ada], with_login=True)

    # Math: homework 40 %, exams 60 %. Ada 80 and 90 on homework, 70 on the exam: 85 % and
    # 70 %, final 0.4 * 85 + 0.6 * 70 = 76.00 %, C. Ben 100 on the exam only: 100.00 %, A.
    homework = await factory.category(math, "Homework", 0.4)
    exams = await factory.category(math, "Exams", 0.6)
    hw1 = await factory.assessment(math, homework, title="Fractions", due_date=dt.date(2026, 9, 10))
    hw2 = await factory.assessment(math, homework, title="Decimals", due_date=dt.date(2026, 9, 20))
    exam = await factory.assessment(
        math, exams, title="Midterm", due_date=dt.date(2026, 10, 15), max_points=50.0
    )
    await factory.assessment(math, exams, title="Final exam", due_date=dt.date(2027, 1, 20))
    ada_math = await factory.enroll(ada, math)
    ben_math = await factory.enroll(ben, math)
    cleo_math = await factory.enroll(cleo, math)
    await factory.enroll(ada, history)
    ada_old = await factory.enroll(ada, old, status="completed")
    await factory.enroll(ben, history, status="dropped")
    await factory.grade(ada_math, hw1, 80)
    await factory.grade(ada_math, hw2, 90)
    await factory.grade(ada_math, exam, 35)
    await factory.grade(ben_math, exam, 50)
    await factory.grade(cleo_math, hw1, 12)

    essays = await factory.category(old, "Essays", 1.0)
    essay = await factory.assessment(old, essays, title="Volcanoes", due_date=dt.date(2026, 3, 1))
    await factory.grade(ada_old, essay, 95)

    for day, status in (
        (dt.date(2026, 10, 5), "present"),
        (dt.date(2026, 10, 6), "absent"),
        (dt.date(2026, 10, 7), "late"),
        (dt.date(2026, 10, 8), "excused"),
    ):
        await factory.attendance(
            math, ada, day, status, note="doctor" if status == "excused" else ""
        )
    await factory.attendance(history, ada, dt.date(2026, 10, 9), "present")
    await factory.attendance(math, ben, dt.date(2026, 10, 6), "present")
    await factory.attendance(math, cleo, dt.date(2026, 10, 6), "absent")
    return World(
        school,
        spring,
        fall,
        teacher,
        math,
        history,
        old,
        ada,
        ben,
        cleo,
        str((await factory.user_of(guardian)).email),
        str((await factory.user_of(ada)).email),
        str((await factory.user_of(cleo)).email),
    )
