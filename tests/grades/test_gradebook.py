"""grades.service.gradebook: a section's grid, each student's final by summarize's rule."""

import pytest

from homeroom.grades import service
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import Forbidden, NotFound
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.teaching import a_class


class TestGradebook:
    async def test_the_grid_and_the_finals_of_the_student_grades_page(
        self, db: Database, factory: Factory, count_queries: CountQueries
    ) -> None:
        world = await a_class(factory)
        ada, ben, cleo = world.students
        quiz = await factory.grade(world.enrollments[0], world.quiz, 8.75)
        await factory.grade(world.enrollments[0], world.exam, 41.0)
        await factory.grade(world.enrollments[1], world.exam, 12.5)
        me = Principal(world.user.id, "teacher", world.school.id, world.teacher.id)
        with count_queries() as statements:
            book = await service.gradebook(db, me, world.section.id)
        assert len(statements) == 3
        assert [(c["name"], c["weight"]) for c in book["categories"]] == [
            ("Homework", 40.0),
            ("Tests", 60.0),
        ]
        assert [a["title"] for a in book["assessments"]] == ["Quiz 1", "Midterm"]
        rows = {s["student_id"]: s for s in book["students"]}
        assert list(rows) == [ada.id, ben.id, cleo.id]  # by name, the dropped left out
        assert rows[ada.id]["scores"] == {world.quiz.id: 8.75, world.exam.id: 41.0}
        assert rows[ada.id]["grade_ids"][world.quiz.id] == quiz.id
        assert rows[cleo.id]["scores"] == {}
        for student in (ada, ben):
            own = await service.student_grades(db, me, student.id, None)
            (section,) = own["sections"]
            row = rows[student.id]
            assert (row["final_percentage"], row["letter"]) == (
                section["final_percentage"],
                section["letter"],
            )
        assert (rows[cleo.id]["final_percentage"], rows[cleo.id]["letter"]) == (None, None)

    async def test_out_of_scope_is_404_and_a_guardian_403(
        self, db: Database, factory: Factory
    ) -> None:
        world = await a_class(factory)
        me = Principal(world.user.id, "teacher", world.school.id, world.teacher.id)
        with pytest.raises(NotFound):
            await service.gradebook(db, me, world.other_section.id)
        guardian = await factory.guardian(world.school, children=[world.students[0]])
        parent = Principal(1, "guardian", world.school.id, guardian.id)
        with pytest.raises(Forbidden):
            await service.gradebook(db, parent, world.section.id)
