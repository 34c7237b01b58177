"""students.service.own_students: whose own pages a student or a guardian sees."""

import pytest

from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.students import service
from tests.factories import Factory
from tests.fixture_types import CountQueries


def _principal(role: str, school_id: int, profile_id: int | None) -> Principal:
    return Principal(user_id=1, role=role, school_id=school_id, profile_id=profile_id)


class TestOwnStudents:
    async def test_a_guardian_has_their_children_by_first_name_in_one_statement(
        self, db: Database, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        zoe = await factory.student(school, first_name="Zoe")
        amy = await factory.student(school, first_name="Amy")
        await factory.student(school, first_name="Bob")  # not theirs
        guardian = await factory.guardian(school, children=[zoe, amy])
        await factory.guardian(school, children=[amy])  # another guardian of Amy
        with count_queries() as statements:
            own = await service.own_students(db, _principal("guardian", school.id, guardian.id))
        assert len(statements) == 1
        assert [(s["id"], s["first_name"]) for s in own] == [(amy.id, "Amy"), (zoe.id, "Zoe")]
        assert set(own[0]) == {"id", "student_number", "first_name", "last_name", "grade_level"}

    async def test_a_student_has_themself(self, db: Database, factory: Factory) -> None:
        school = await factory.school()
        me = await factory.student(school)
        await factory.student(school)
        own = await service.own_students(db, _principal("student", school.id, me.id))
        assert [s["id"] for s in own] == [me.id]

    async def test_another_schools_child_is_not_listed(
        self, db: Database, factory: Factory
    ) -> None:
        school, elsewhere = await factory.school(), await factory.school()
        child = await factory.student(elsewhere)
        guardian = await factory.guardian(school, children=[child])
        assert await service.own_students(db, _principal("guardian", school.id, guardian.id)) == []

    @pytest.mark.parametrize("role", ["admin", "staff", "teacher"])
    async def test_other_roles_have_none(self, db: Database, factory: Factory, role: str) -> None:
        school = await factory.school()
        await factory.student(school)
        assert await service.own_students(db, _principal(role, school.id, 1)) == []
