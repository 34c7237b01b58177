"""sections.service.student_sections: a student's sections with teacher, room, meeting
pattern and term, under the caller's scope."""

import datetime as dt

import pytest

from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import NotFound
from homeroom.sections import service
from tests.factories import Factory
from tests.fixture_types import CountQueries


def _principal(role: str, school_id: int, profile_id: int | None) -> Principal:
    return Principal(user_id=1, role=role, school_id=school_id, profile_id=profile_id)


class TestStudentSections:
    async def test_latest_term_first_by_course_code_without_dropped_in_one_statement(
        self, db: Database, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        old = await factory.term(
            school, name="Old", start_date=dt.date(2025, 9, 1), end_date=dt.date(2026, 1, 31)
        )
        new = await factory.term(school, name="New")
        teacher = await factory.teacher(school, first_name="Ann", last_name="Lee")
        student = await factory.student(school)
        sections = [
            await factory.section(await factory.course(new, code="ZOO"), teacher, room="R1"),
            await factory.section(await factory.course(new, code="ART"), None, room=None),
            await factory.section(await factory.course(old, code="BIO"), teacher),
            await factory.section(await factory.course(new, code="DROP"), teacher),
        ]
        statuses = ("enrolled", "enrolled", "completed", "dropped")
        for section, status in zip(sections, statuses, strict=True):
            await factory.enroll(student, section, status=status)
        with count_queries() as statements:
            rows = await service.student_sections(
                db, _principal("student", school.id, student.id), student.id
            )
        assert len(statements) == 1
        assert [(r["course_code"], r["term_name"]) for r in rows] == [
            ("ART", "New"),
            ("ZOO", "New"),
            ("BIO", "Old"),
        ]
        zoo = rows[1]
        assert (zoo["teacher_name"], zoo["room"], zoo["meeting_pattern"]) == (
            "Ann Lee",
            "R1",
            "MWF 09:00-09:50",
        )
        assert (zoo["term_start"], zoo["credits"], zoo["status"]) == (
            dt.date(2026, 9, 1),
            1.0,
            "enrolled",
        )
        assert rows[0]["teacher_name"] is None and rows[0]["room"] is None

    async def test_a_visible_student_without_sections_has_none(
        self, db: Database, factory: Factory
    ) -> None:
        school = await factory.school()
        student = await factory.student(school)
        guardian = await factory.guardian(school, children=[student])
        principal = _principal("guardian", school.id, guardian.id)
        assert await service.student_sections(db, principal, student.id) == []

    @pytest.mark.parametrize("role", ["student", "guardian"])
    async def test_someone_elses_student_is_not_found(
        self, db: Database, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)
        other = await factory.student(school)
        await factory.enroll(other, await factory.section(await factory.course(term), None))
        me = await factory.student(school)
        profile = me.id if role == "student" else (await factory.guardian(school, [me])).id
        with pytest.raises(NotFound):
            await service.student_sections(db, _principal(role, school.id, profile), other.id)

    async def test_a_teacher_gets_the_sections_they_teach(
        self, db: Database, factory: Factory
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)
        mine, theirs = await factory.teacher(school), await factory.teacher(school)
        student = await factory.student(school)
        taught = await factory.section(await factory.course(term, code="MINE"), mine)
        await factory.enroll(student, taught)
        await factory.enroll(
            student, await factory.section(await factory.course(term, code="THEIRS"), theirs)
        )
        rows = await service.student_sections(
            db, _principal("teacher", school.id, mine.id), student.id
        )
        assert [r["course_code"] for r in rows] == ["MINE"]
