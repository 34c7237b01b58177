from datetime import date

from httpx import AsyncClient

from tests.assessments.conftest import World
from tests.factories import Factory
from tests.fixture_types import CountQueries


def url(student_id: int, query: str = "") -> str:
    return f"/api/v1/students/{student_id}/grades{query}"


async def grade_algebra(factory: Factory, world: World) -> None:
    """Algebra (Tests 60 / Homework 40): tests 45/50 and 40/50 -> 85%; homework 9/10 and
    one ungraded -> 90%; final 0.6 * 85 + 0.4 * 90 = 87 -> B."""
    t1 = await factory.assessment(
        world.section, world.tests, title="Test 1", max_points=50.0, due_date=date(2026, 9, 20)
    )
    t2 = await factory.assessment(
        world.section, world.tests, title="Test 2", max_points=50.0, due_date=date(2026, 10, 20)
    )
    h1 = await factory.assessment(
        world.section, world.homework, title="HW 1", max_points=10.0, due_date=date(2026, 9, 10)
    )
    await factory.assessment(
        world.section, world.homework, title="HW 2", max_points=10.0, due_date=None
    )
    await factory.grade(world.enrollment, t1, 45)
    await factory.grade(world.enrollment, t2, 40)
    await factory.grade(world.enrollment, h1, 9)
    await factory.grade(world.classmate_enrollment, t1, 10)  # someone else's: not counted


class TestStudentGrades:
    async def test_sections_categories_and_weighted_final(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        await grade_algebra(factory, world)
        r = await client.get(url(world.student.id), headers=world.student_login)
        assert r.status_code == 200, r.text
        assert r.headers["ETag"]
        body = r.json()
        assert body["student_id"] == world.student.id
        biology, algebra = body["sections"]  # ordered by course code
        assert (algebra["course_code"], algebra["course_title"]) == ("MATH-1", "Algebra")
        assert algebra["section_id"] == world.section.id
        assert algebra["categories"] == [
            {"name": "Tests", "weight": 60, "percentage": 85.0},
            {"name": "Homework", "weight": 40, "percentage": 90.0},
        ]
        assert algebra["final_percentage"] == 87.0 and algebra["letter"] == "B"
        assert [
            (g["title"], g["category"], g["score"], g["max_points"]) for g in algebra["grades"]
        ] == [
            ("HW 1", "Homework", 9, 10),
            ("Test 1", "Tests", 45, 50),
            ("Test 2", "Tests", 40, 50),
            ("HW 2", "Homework", None, 10),
        ]
        assert algebra["grades"][0]["due_date"] == "2026-09-10"
        # nothing graded in biology yet
        assert biology["course_code"] == "BIO-1"
        assert biology["final_percentage"] is None and biology["letter"] is None
        assert biology["categories"] == [{"name": "All", "weight": 100, "percentage": None}]
        assert biology["grades"] == []

    async def test_ungraded_category_is_renormalised_away(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        t1 = await factory.assessment(world.section, world.tests, max_points=20.0)
        await factory.assessment(world.section, world.homework)
        await factory.grade(world.enrollment, t1, 11)
        r = await client.get(url(world.student.id), headers=world.admin)
        algebra = r.json()["sections"][1]
        assert algebra["final_percentage"] == 55.0 and algebra["letter"] == "F"

    async def test_term_filter(self, client: AsyncClient, factory: Factory, world: World) -> None:
        later = await factory.term(
            world.school, start_date=date(2027, 2, 1), end_date=date(2027, 6, 30)
        )
        section = await factory.section(await factory.course(later, code="ART-2"), None)
        await factory.enroll(world.student, section)
        r = await client.get(url(world.student.id), headers=world.admin)
        assert [s["course_code"] for s in r.json()["sections"]] == ["ART-2", "BIO-1", "MATH-1"]
        r = await client.get(url(world.student.id, f"?term_id={later.id}"), headers=world.admin)
        assert [s["course_code"] for s in r.json()["sections"]] == ["ART-2"]
        assert r.json()["sections"][0]["categories"] == []

    async def test_scopes(self, client: AsyncClient, factory: Factory, world: World) -> None:
        await grade_algebra(factory, world)

        async def sections(headers: dict[str, str], student_id: int) -> list[str] | int:
            r = await client.get(url(student_id), headers=headers)
            if r.status_code != 200:
                return r.status_code
            return [s["course_code"] for s in r.json()["sections"]]

        both = ["BIO-1", "MATH-1"]
        assert await sections(world.admin, world.student.id) == both
        assert await sections(world.staff, world.student.id) == both
        assert await sections(world.student_login, world.student.id) == both
        assert await sections(world.guardian, world.student.id) == both
        # each teacher sees only the sections they teach
        assert await sections(world.teacher, world.student.id) == ["MATH-1"]
        assert await sections(world.other_teacher, world.student.id) == ["BIO-1"]
        # out of scope: 404
        assert await sections(world.other_teacher, world.classmate.id) == 404
        assert await sections(world.student_login, world.classmate.id) == 404
        assert await sections(world.guardian, world.classmate.id) == 404
        assert await sections(world.foreign_admin, world.student.id) == 404
        assert await sections(world.admin, 999_999) == 404

    async def test_dropped_sections_are_left_out(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        term = await factory.term(world.school)
        section = await factory.section(await factory.course(term, code="OLD-1"), None)
        await factory.enroll(world.classmate, section, status="dropped")
        r = await client.get(url(world.classmate.id), headers=world.admin)
        assert [s["course_code"] for s in r.json()["sections"]] == ["MATH-1"]

    async def test_constant_statements_whatever_the_number_of_sections_and_grades(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        with count_queries() as statements:
            r = await client.get(url(world.student.id), headers=world.guardian)
        assert r.status_code == 200
        few = len(statements)
        term = await factory.term(world.school)
        for i in range(6):
            section = await factory.section(await factory.course(term), None)
            enrollment = await factory.enroll(world.student, section)
            category = await factory.category(section, "All", 100)
            for _ in range(5):
                a = await factory.assessment(section, category)
                await factory.grade(enrollment, a, 50 + i)
        with count_queries() as statements:
            r = await client.get(url(world.student.id), headers=world.guardian)
        assert r.status_code == 200 and len(r.json()["sections"]) == 8
        assert (
            len(statements) == few == 4
        )  # version lookup, student in scope, sections+categories, assessments
