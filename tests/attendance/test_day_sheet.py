"""attendance.service.day_sheet: what taking a section's attendance for a day shows."""

import datetime as dt

import pytest

from homeroom.attendance import service
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import Forbidden, NotFound
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.teaching import a_class

DAY = dt.date(2026, 10, 5)


class TestDaySheet:
    async def test_the_students_by_name_with_the_days_records(
        self, db: Database, factory: Factory, count_queries: CountQueries
    ) -> None:
        world = await a_class(factory)
        ada, ben, cleo = world.students
        await factory.attendance(world.section, ben, DAY, "late", note="bus")
        await factory.attendance(world.section, cleo, DAY - dt.timedelta(days=1), "absent")
        me = Principal(world.user.id, "teacher", world.school.id, world.teacher.id)
        with count_queries() as statements:
            sheet = await service.day_sheet(db, me, world.section.id, DAY)
        assert len(statements) == 1
        assert (sheet["course_code"], sheet["name"], sheet["date"]) == ("BIO101", "A", DAY)
        assert [(s["student_id"], s["status"], s["note"]) for s in sheet["students"]] == [
            (ada.id, None, None),
            (ben.id, "late", "bus"),
            (cleo.id, None, None),  # another day's record is not this day's
        ]

    async def test_an_empty_section_has_no_students(self, db: Database, factory: Factory) -> None:
        world = await a_class(factory)
        staff = await factory.user("admin", world.school)
        office = Principal(staff.id, "admin", world.school.id, None)
        sheet = await service.day_sheet(db, office, world.other_section.id, DAY)
        assert sheet["students"] == []

    async def test_out_of_scope_is_404_and_a_student_403(
        self, db: Database, factory: Factory
    ) -> None:
        world = await a_class(factory)
        me = Principal(world.user.id, "teacher", world.school.id, world.teacher.id)
        with pytest.raises(NotFound):
            await service.day_sheet(db, me, world.other_section.id, DAY)
        student = Principal(1, "student", world.school.id, world.students[0].id)
        with pytest.raises(Forbidden):
            await service.day_sheet(db, student, world.section.id, DAY)
