from httpx import AsyncClient

from tests.assessments.conftest import queries
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.reports.conftest import World, days
from tests.reports.pdftext import check_structure, pdf_text


def url(student_id: int, query: str = "") -> str:
    return f"/api/v1/students/{student_id}/transcript{query}"


class TestTranscriptData:
    async def test_terms_letters_credits_and_gpa(self, client: AsyncClient, world: World) -> None:
        r = await client.get(url(world.student.id, "?format=json"), headers=world.guardian)
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["student"]["student_number"] == "S-0042"
        assert data["school"]["name"] == "Maple High School"
        assert data["partial"] is False
        past, current = data["terms"]  # oldest first
        assert past["term"]["name"] == "Spring Year 1" and past["in_progress"] is False
        assert [
            (s["course_code"], s["credits"], s["final_percentage"], s["letter"], s["grade_points"])
            for s in past["sections"]
        ] == [("ART-1", 1.0, None, None, None), ("HIST-1", 2.0, 55.0, "F", 0.0)]
        # Art has no final grade: neither attempted nor in the GPA
        assert (past["credits_attempted"], past["credits_earned"]) == (2.0, 0.0)
        assert (past["gpa"], past["cumulative_gpa"]) == (0.0, 0.0)

        assert current["term"]["name"] == "Fall Year 2" and current["in_progress"] is True
        assert [
            (s["course_code"], s["credits"], s["final_percentage"], s["letter"], s["grade_points"])
            for s in current["sections"]
        ] == [("BIO-1", 0.5, 90.0, "A", 4.0), ("MATH-1", 1.0, 87.0, "B", 3.0)]
        assert current["sections"][1]["teacher"] == "Ada Lovelace"
        # (4 * 0.5 + 3 * 1) / 1.5 = 3.333...; cumulative (0 * 2 + 5) / 3.5 = 1.428...
        assert (current["credits_attempted"], current["credits_earned"]) == (1.5, 1.5)
        assert (current["gpa"], current["cumulative_gpa"]) == (3.33, 1.43)
        assert (data["credits_attempted"], data["credits_earned"]) == (3.5, 1.5)
        assert data["cumulative_gpa"] == 1.43
        assert data["gpa_scale"] == {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "F": 0.0}

    async def test_dropped_sections_are_left_out(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        section = await factory.section(await factory.course(world.past, code="DROP-1"), None)
        await factory.enroll(world.student, section, status="dropped")
        r = await client.get(url(world.student.id, "?format=json"), headers=world.admin)
        codes = [s["course_code"] for t in r.json()["terms"] for s in t["sections"]]
        assert codes == ["ART-1", "HIST-1", "BIO-1", "MATH-1"]

    async def test_teacher_sees_only_their_sections(
        self, client: AsyncClient, world: World
    ) -> None:
        data = (
            await client.get(url(world.student.id, "?format=json"), headers=world.teacher)
        ).json()
        assert data["partial"] is True
        assert [t["term"]["name"] for t in data["terms"]] == ["Fall Year 2"]
        assert [s["course_code"] for s in data["terms"][0]["sections"]] == ["MATH-1"]
        assert data["cumulative_gpa"] == 3.0

    async def test_no_courses_yet(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        newcomer = await factory.student(world.school, first_name="Ann", last_name="New")
        r = await client.get(url(newcomer.id, "?format=json"), headers=world.staff)
        assert r.json()["terms"] == [] and r.json()["cumulative_gpa"] is None
        r = await client.get(url(newcomer.id), headers=world.staff)
        assert check_structure(r.content) == 1
        assert "No courses yet." in pdf_text(r.content)


class TestTranscriptPdf:
    async def test_pdf_shows_terms_and_gpa(self, client: AsyncClient, world: World) -> None:
        r = await client.get(url(world.student.id), headers=world.student_login)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"] == 'inline; filename="transcript-S-0042.pdf"'
        lines = pdf_text(r.content).splitlines()
        for expected in (
            "Maple High School",
            "Academic transcript",
            "Okafor, Zoë",
            "1.43",  # cumulative GPA, in the header
            "1.5 earned of 3.5 attempted",
            f"Spring Year 1 ({days(-300).isoformat()} to {days(-120).isoformat()})",
            f"Fall Year 2 ({days(-60).isoformat()} to {days(60).isoformat()}) (in progress)",
            "HIST-1",
            "55.00%",
            "Term GPA 0.00, credits attempted 2, earned 0; cumulative GPA 0.00",
            "Term GPA 3.33, credits attempted 1.5, earned 1.5; cumulative GPA 1.43",
        ):
            assert expected in lines, expected
        math_row = lines[lines.index("MATH-1") :][:6]
        assert math_row == ["MATH-1", "Algebra", "1", "87.00%", "B", "3.00"]
        assert "A = 4, B = 3, C = 2, D = 1, F = 0" in pdf_text(r.content).replace("\n", " ")

    async def test_etag_and_304(self, client: AsyncClient, world: World) -> None:
        first = await client.get(url(world.student.id), headers=world.admin)
        r = await client.get(
            url(world.student.id), headers={**world.admin, "If-None-Match": first.headers["etag"]}
        )
        assert r.status_code == 304 and r.headers["etag"] == first.headers["etag"]
        assert r.headers["cache-control"] == "private, no-cache"


class TestTranscriptScopeAndQueries:
    async def test_who_may_fetch_it(self, client: AsyncClient, world: World) -> None:
        async def status(headers: dict[str, str], student_id: int) -> int:
            return (await client.get(url(student_id, "?format=json"), headers=headers)).status_code

        mine = world.student.id
        for allowed in (world.student_login, world.guardian, world.teacher, world.staff):
            assert await status(allowed, mine) == 200
        for other in (
            world.other_guardian,
            world.classmate_login,
            world.chemistry_teacher,
            world.foreign_staff,
        ):
            assert await status(other, mine) == 404
        assert await status(world.admin, 999_999) == 404
        assert (await client.get(url(mine))).status_code == 401

    async def test_three_statements_whatever_the_size(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        with count_queries() as statements:
            assert (await client.get(url(world.student.id), headers=world.admin)).status_code == 200
        few = queries(statements)
        for t in range(3):
            term = await factory.term(
                world.school, start_date=days(-700 + 100 * t), end_date=days(-650 + 100 * t)
            )
            for _ in range(3):
                section = await factory.section(await factory.course(term), None)
                enrollment = await factory.enroll(world.student, section)
                category = await factory.category(section, "All", 100)
                for _ in range(4):
                    a = await factory.assessment(section, category)
                    await factory.grade(enrollment, a, 70)
        with count_queries() as statements:
            r = await client.get(url(world.student.id, "?format=json"), headers=world.admin)
        assert len(r.json()["terms"]) == 5
        # student+school, sections+categories of every term, assessments+grades
        assert len(queries(statements)) == len(few) == 3
