"""attendance.service.missed_days: a student's records other than present, latest first, by
keyset, under the attendance list's scope."""

import datetime as dt

import pytest

from homeroom.attendance import service
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import NotFound
from tests.factories import Factory
from tests.fixture_types import CountQueries


def _principal(role: str, school_id: int, profile_id: int | None) -> Principal:
    return Principal(user_id=1, role=role, school_id=school_id, profile_id=profile_id)


class TestMissedDays:
    async def test_pages_through_the_days_missed_latest_first(
        self, db: Database, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)
        student, classmate = await factory.student(school), await factory.student(school)
        math = await factory.section(await factory.course(term, code="MATH"), None, name="A")
        art = await factory.section(await factory.course(term, code="ART"), None)
        for section in (math, art):
            await factory.enroll(student, section)
        day = dt.date(2026, 10, 5)
        await factory.attendance(math, student, day, "absent", note="flu")
        await factory.attendance(art, student, day, "late")
        await factory.attendance(math, student, day + dt.timedelta(days=1), "present")
        await factory.attendance(math, student, day + dt.timedelta(days=2), "excused")
        await factory.attendance(math, classmate, day, "absent")
        principal = _principal("student", school.id, student.id)
        with count_queries() as statements:
            first = await service.missed_days(db, principal, student.id, limit=2)
        assert len(statements) == 2
        assert [(d["date"], d["status"], d["course_code"]) for d in first["days"]] == [
            (day + dt.timedelta(days=2), "excused", "MATH"),
            (day, "late", "ART"),
        ]
        assert first["next"] == (day, first["days"][1]["id"])
        rest = await service.missed_days(db, principal, student.id, first["next"], limit=2)
        assert [(d["date"], d["status"], d["note"]) for d in rest["days"]] == [
            (day, "absent", "flu")
        ]
        assert rest["days"][0]["section_name"] == "A"
        assert rest["next"] is None

    @pytest.mark.parametrize("role", ["student", "guardian"])
    async def test_someone_elses_student_is_not_found(
        self, db: Database, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        other, me = await factory.student(school), await factory.student(school)
        profile = me.id if role == "student" else (await factory.guardian(school, [me])).id
        with pytest.raises(NotFound):
            await service.missed_days(db, _principal(role, school.id, profile), other.id)
