"""Factory functions for test data: each call commits one record and returns it."""

import itertools
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from homeroom.config import Settings
from homeroom.kit.db import Database
from homeroom.kit.security import AccessClaims, hash_password, issue_access_token
from homeroom.models import (
    Assessment,
    AssessmentCategory,
    AttendanceRecord,
    AttendanceSession,
    Base,
    Course,
    Enrollment,
    Grade,
    Guardian,
    School,
    Section,
    Student,
    StudentGuardian,
    Teacher,
    Term,
    User,
)

PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run

M = TypeVar("M", bound=Base)


class Factory:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._seq = itertools.count(1)

    def n(self) -> int:
        return next(self._seq)

    async def save(self, obj: M) -> M:
        async with self.db.sessionmaker() as session:
            session.add(obj)
            await session.commit()
        return obj

    async def school(self, **kw: Any) -> School:
        n = self.n()
        return await self.save(School(**({"name": f"School {n}", "code": f"S{n}"} | kw)))

    async def user(self, role: str, school: School | None, **kw: Any) -> User:
        n = self.n()
        values = {
            "email": f"{role}{n}@test.example.edu",
            "full_name": f"{role.title()} {n}",
            "role": role,
            "password_hash": _PASSWORD_HASH,
            "school_id": school.id if school else None,
        }
        return await self.save(User(**(values | kw)))

    async def student(self, school: School, with_login: bool = False, **kw: Any) -> Student:
        n = self.n()
        user = await self.user("student", school) if with_login else None
        values = {
            "school_id": school.id,
            "user_id": user.id if user else None,
            "student_number": f"S{n:06d}",
            "first_name": f"First{n}",
            "last_name": f"Last{n:04d}",
            "email": f"student{n}@test.example.edu",
            "date_of_birth": date(2010, 1, 1),
            "grade_level": 9,
        }
        return await self.save(Student(**(values | kw)))

    async def guardian(
        self,
        school: School,
        children: Sequence[Student] = (),
        with_login: bool = False,
        **kw: Any,
    ) -> Guardian:
        n = self.n()
        user = await self.user("guardian", school) if with_login else None
        values = {
            "school_id": school.id,
            "user_id": user.id if user else None,
            "first_name": f"Parent{n}",
            "last_name": f"Family{n}",
            "email": f"guardian{n}@test.example.edu",
        }
        guardian = await self.save(Guardian(**(values | kw)))
        for child in children:
            await self.save(StudentGuardian(student_id=child.id, guardian_id=guardian.id))
        return guardian

    async def teacher(self, school: School, with_login: bool = False, **kw: Any) -> Teacher:
        n = self.n()
        user = await self.user("teacher", school) if with_login else None
        values = {
            "school_id": school.id,
            "user_id": user.id if user else None,
            "first_name": f"Teach{n}",
            "last_name": f"Er{n}",
            "email": f"teacher{n}@test.example.edu",
            "department": "Science",
        }
        return await self.save(Teacher(**(values | kw)))

    async def term(self, school: School, **kw: Any) -> Term:
        n = self.n()
        values = {
            "school_id": school.id,
            "name": f"Term {n}",
            "start_date": date(2026, 9, 1),
            "end_date": date(2027, 1, 31),
        }
        return await self.save(Term(**(values | kw)))

    async def course(self, term: Term, **kw: Any) -> Course:
        n = self.n()
        values = {
            "school_id": term.school_id,
            "term_id": term.id,
            "code": f"C{n:03d}",
            "title": f"Course {n}",
            "category": "science",
            "credits": 1.0,
        }
        return await self.save(Course(**(values | kw)))

    async def section(self, course: Course, teacher: Teacher | None, **kw: Any) -> Section:
        n = self.n()
        values = {
            "school_id": course.school_id,
            "course_id": course.id,
            "teacher_id": teacher.id if teacher else None,
            "name": f"{n:02d}",
            "room": f"R{n}",
            "meeting_pattern": "MWF 09:00-09:50",
            "capacity": 30,
        }
        return await self.save(Section(**(values | kw)))

    async def enroll(self, student: Student, section: Section, **kw: Any) -> Enrollment:
        values = {
            "school_id": section.school_id,
            "student_id": student.id,
            "section_id": section.id,
        }
        return await self.save(Enrollment(**(values | kw)))

    async def category(self, section: Section, name: str, weight: float) -> AssessmentCategory:
        return await self.save(
            AssessmentCategory(
                school_id=section.school_id, section_id=section.id, name=name, weight=weight
            )
        )

    async def assessment(
        self, section: Section, category: AssessmentCategory, **kw: Any
    ) -> Assessment:
        n = self.n()
        values = {
            "school_id": section.school_id,
            "section_id": section.id,
            "category_id": category.id,
            "title": f"Assessment {n}",
            "max_points": 100.0,
            "due_date": date(2026, 10, 1),
        }
        return await self.save(Assessment(**(values | kw)))

    async def grade(
        self, enrollment: Enrollment, assessment: Assessment, score: float, **kw: Any
    ) -> Grade:
        values = {
            "school_id": enrollment.school_id,
            "enrollment_id": enrollment.id,
            "assessment_id": assessment.id,
            "student_id": enrollment.student_id,
            "score": score,
        }
        return await self.save(Grade(**(values | kw)))

    async def attendance(
        self, section: Section, student: Student, day: date, status: str, **kw: Any
    ) -> AttendanceRecord:
        from sqlalchemy import select

        async with self.db.sessionmaker() as session:
            session_id = await session.scalar(
                select(AttendanceSession.id).where(
                    AttendanceSession.section_id == section.id, AttendanceSession.date == day
                )
            )
            if session_id is None:
                meeting = AttendanceSession(
                    school_id=section.school_id, section_id=section.id, date=day
                )
                session.add(meeting)
                await session.flush()
                session_id = meeting.id
            record = AttendanceRecord(
                school_id=section.school_id,
                session_id=session_id,
                student_id=student.id,
                status=status,
                **kw,
            )
            session.add(record)
            await session.commit()
        return record

    def headers(self, user: User, profile_id: int | None = None) -> dict[str, str]:
        """Bearer headers for `user` without a login round trip (argon2 is slow)."""
        claims = AccessClaims(user.id, user.role, user.school_id, profile_id)
        return {"Authorization": f"Bearer {issue_access_token(self.settings, claims)}"}

    async def login_as(self, role: str, school: School) -> tuple[dict[str, str], Any]:
        """A user of `role` with their profile row; returns (headers, profile or user)."""
        if role in ("admin", "staff"):
            user = await self.user(role, school)
            return self.headers(user), user
        maker: dict[str, Callable[..., Awaitable[Student | Teacher | Guardian]]] = {
            "student": self.student,
            "teacher": self.teacher,
            "guardian": self.guardian,
        }
        profile = await maker[role](school, with_login=True)
        user = await self.user_of(profile)
        return self.headers(user, profile.id), profile

    async def user_of(self, profile: Student | Teacher | Guardian) -> User:
        async with self.db.sessionmaker() as session:
            user = await session.get(User, profile.user_id)
        assert user is not None
        return user
