"""The section reads of the teaching pages: a page of sections with its next cursor, one
section, a whole roster; and the terms' names they show."""

import pytest

from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import Forbidden, NotFound
from homeroom.sections import service
from homeroom.terms import service as term_service
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.teaching import a_class


def _teacher(world_user_id: int, school_id: int, teacher_id: int) -> Principal:
    return Principal(world_user_id, "teacher", school_id, teacher_id)


class TestListSections:
    async def test_a_teacher_gets_their_own(
        self, db: Database, factory: Factory, count_queries: CountQueries
    ) -> None:
        world = await a_class(factory)
        me = _teacher(world.user.id, world.school.id, world.teacher.id)
        with count_queries() as statements:
            page = await service.list_sections(db, me, None, service.sections_plan(10, None))
        assert len(statements) == 1
        assert [(s["id"], s["course_code"], s["enrolled_count"]) for s in page.items] == [
            (world.section.id, "BIO101", 3)
        ]
        assert (page.total, page.next_cursor) == (1, None)

    async def test_the_office_pages_through_its_school(
        self, db: Database, factory: Factory
    ) -> None:
        world = await a_class(factory)
        staff = await factory.user("staff", world.school)
        office = Principal(staff.id, "staff", world.school.id, None)
        first = await service.list_sections(db, office, None, service.sections_plan(1, None))
        assert first.total == 2 and len(first.items) == 1 and first.next_cursor
        second = await service.list_sections(
            db, office, None, service.sections_plan(1, first.next_cursor)
        )
        assert (second.total, second.next_cursor) == (2, None)
        ids = {first.items[0]["id"], second.items[0]["id"]}
        assert ids == {world.section.id, world.other_section.id}


class TestSectionAndRoster:
    async def test_one_section_and_its_roster_without_the_dropped(
        self, db: Database, factory: Factory
    ) -> None:
        world = await a_class(factory)
        me = _teacher(world.user.id, world.school.id, world.teacher.id)
        section = await service.get_section(db, me, world.section.id)
        assert (section["course_title"], section["name"]) == ("Biology", "A")
        roster = await service.roster(db, me, world.section.id)
        assert [s["id"] for s in roster] == [s.id for s in world.students]
        for read in (service.get_section, service.roster):
            with pytest.raises(NotFound):
                await read(db, me, world.other_section.id)

    async def test_a_student_may_not_list_a_roster(self, db: Database, factory: Factory) -> None:
        world = await a_class(factory)
        student = world.students[0]
        principal = Principal(1, "student", world.school.id, student.id)
        with pytest.raises(Forbidden):
            await service.roster(db, principal, world.section.id)


class TestTermNames:
    async def test_the_schools_terms_by_id(self, db: Database, factory: Factory) -> None:
        world = await a_class(factory)
        other = await factory.school()
        await factory.term(other, name="Elsewhere")
        me = _teacher(world.user.id, world.school.id, world.teacher.id)
        names = await term_service.term_names(db, me)
        assert list(names.values()) == ["Fall 2026"]
