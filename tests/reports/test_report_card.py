from httpx import AsyncClient, Response

from tests.assessments.conftest import queries
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.reports.conftest import World, days
from tests.reports.pdftext import check_structure, pdf_text


def url(student_id: int, query: str = "") -> str:
    return f"/api/v1/students/{student_id}/report-card{query}"


def vary(response: Response) -> list[str]:
    return [v.strip() for v in response.headers.get("vary", "").split(",")]


ALGEBRA = {
    "section_id": None,  # filled in by the test
    "section_name": "A1",
    "course_code": "MATH-1",
    "course_title": "Algebra",
    "credits": 1.0,
    "teacher": "Ada Lovelace",
    "final_percentage": 87.0,
    "letter": "B",
    "categories": [
        {"name": "Tests", "weight": 60, "percentage": 85.0},
        {"name": "Homework", "weight": 40, "percentage": 90.0},
    ],
}


class TestReportCardData:
    async def test_current_term_sections_attendance_and_comments(
        self, client: AsyncClient, world: World
    ) -> None:
        r = await client.get(url(world.student.id, "?format=json"), headers=world.student_login)
        assert r.status_code == 200, r.text
        card = r.json()
        assert card["school"] == {"id": world.school.id, "name": "Maple High School"}
        assert card["student"] == {
            "id": world.student.id,
            "student_number": "S-0042",
            "first_name": "Zoë",
            "last_name": "Okafor",
            "grade_level": 9,
        }
        # no term_id: the term in progress
        assert card["term"] == {
            "id": world.current.id,
            "name": "Fall Year 2",
            "start_date": days(-60).isoformat(),
            "end_date": days(60).isoformat(),
        }
        assert card["partial"] is False
        biology, algebra = card["sections"]  # by course code
        assert {k: v for k, v in algebra.items() if k != "comments"} == {
            **ALGEBRA,
            "section_id": world.algebra.id,
        }
        # the teacher's feedback; a blank comment and a classmate's are not shown
        assert [(c["assessment"], c["comment"]) for c in algebra["comments"]] == [
            ("Test 1", "Great improvement on factoring")
        ]
        assert (biology["course_code"], biology["credits"], biology["teacher"]) == (
            "BIO-1",
            0.5,
            "Rosalind Franklin",
        )
        assert (biology["final_percentage"], biology["letter"]) == (90.0, "A")
        assert biology["comments"][0]["comment"] == "Careful lab work (pH \\ titration)"
        assert card["attendance"] == {
            "total": 5,
            "present": 2,
            "absent": 1,
            "late": 1,
            "excused": 1,
            "rate": 0.6,
        }

    async def test_agrees_with_the_grades_endpoint(self, client: AsyncClient, world: World) -> None:
        card = (await client.get(url(world.student.id, "?format=json"), headers=world.admin)).json()
        grades = (
            await client.get(
                f"/api/v1/students/{world.student.id}/grades?term_id={world.current.id}",
                headers=world.admin,
            )
        ).json()
        assert [
            (s["section_id"], s["final_percentage"], s["letter"]) for s in card["sections"]
        ] == [(s["section_id"], s["final_percentage"], s["letter"]) for s in grades["sections"]]

    async def test_named_past_term(self, client: AsyncClient, world: World) -> None:
        r = await client.get(
            url(world.student.id, f"?term_id={world.past.id}&format=json"), headers=world.guardian
        )
        assert r.status_code == 200, r.text
        card = r.json()
        assert card["term"]["name"] == "Spring Year 1"
        art, history = card["sections"]
        assert (history["final_percentage"], history["letter"]) == (55.0, "F")
        assert (art["final_percentage"], art["letter"], art["teacher"]) == (None, None, None)
        assert card["attendance"]["total"] == 1 and card["attendance"]["absent"] == 1
        assert card["attendance"]["rate"] == 0.0

    async def test_latest_started_term_when_none_is_in_progress(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        # the classmate's only term is the current one; give them a later, future one too
        later = await factory.term(
            world.school, name="Next Year", start_date=days(90), end_date=days(200)
        )
        section = await factory.section(await factory.course(later, code="GEO-1"), None)
        await factory.enroll(world.classmate, section)
        r = await client.get(url(world.classmate.id, "?format=json"), headers=world.admin)
        assert r.json()["term"]["id"] == world.current.id
        # a student enrolled only in the future term gets that one
        newcomer = await factory.student(world.school)
        await factory.enroll(newcomer, section)
        r = await client.get(url(newcomer.id, "?format=json"), headers=world.admin)
        assert r.json()["term"]["id"] == later.id
        assert [s["course_code"] for s in r.json()["sections"]] == ["GEO-1"]

    async def test_student_without_enrollments_gets_the_school_term(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        newcomer = await factory.student(world.school)
        r = await client.get(url(newcomer.id, "?format=json"), headers=world.staff)
        assert r.status_code == 200
        assert r.json()["term"]["id"] == world.current.id
        assert r.json()["sections"] == []
        assert r.json()["attendance"]["rate"] is None

    async def test_school_without_terms_is_404(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        school = await factory.school()
        lonely = await factory.student(school)
        headers, _ = await factory.login_as("staff", school)
        r = await client.get(url(lonely.id), headers=headers)
        assert r.status_code == 404
        assert "no terms" in r.json()["detail"]

    async def test_teacher_sees_only_their_sections(
        self, client: AsyncClient, world: World
    ) -> None:
        r = await client.get(url(world.student.id, "?format=json"), headers=world.teacher)
        assert r.status_code == 200
        card = r.json()
        assert card["partial"] is True
        assert [s["course_code"] for s in card["sections"]] == ["MATH-1"]
        # attendance of the teacher's section only: present, present, late
        assert card["attendance"]["total"] == 3 and card["attendance"]["rate"] == 1.0
        text = pdf_text((await client.get(url(world.student.id), headers=world.teacher)).content)
        assert "Partial: only the sections taught by the requesting teacher are shown." in text
        assert "Biology" not in text and "Careful lab work" not in text


class TestReportCardPdf:
    async def test_pdf_shows_the_card(self, client: AsyncClient, world: World) -> None:
        r = await client.get(url(world.student.id), headers=world.guardian)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert r.headers["cache-control"] == "private, no-cache"
        assert r.headers["content-disposition"] == (
            'inline; filename="report-card-S-0042-Fall_Year_2.pdf"'
        )
        assert check_structure(r.content) == 1
        lines = pdf_text(r.content).splitlines()
        for expected in (
            "Maple High School",
            "Report card",
            "Okafor, Zoë",
            "S-0042",
            "Fall Year 2 (" + days(-60).isoformat() + " to " + days(60).isoformat() + ")",
            "MATH-1",
            "Algebra",
            "Ada Lovelace",
            "87.00%",
            "BIO-1",
            "Rosalind Franklin",
            "90.00%",
            "0.5",
            "60.0%",
            "Test 1: Great improvement on factoring",
            "Lab report: Careful lab work (pH \\ titration)",
        ):
            assert expected in lines, expected
        # the letters, in the courses table's last column
        algebra_row = lines[lines.index("Ada Lovelace") :][:4]
        assert algebra_row == ["Ada Lovelace", "1", "87.00%", "B"]
        assert "Classmate's private feedback" not in "\n".join(lines)
        assert "History" not in lines  # another term

    async def test_accept_header_chooses_json(self, client: AsyncClient, world: World) -> None:
        as_json = await client.get(
            url(world.student.id), headers={**world.admin, "Accept": "application/json"}
        )
        assert as_json.headers["content-type"] == "application/json"
        assert "Accept" in vary(as_json)
        assert as_json.json()["student"]["id"] == world.student.id
        browser = {**world.admin, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        r = await client.get(url(world.student.id), headers=browser)
        assert r.headers["content-type"] == "application/pdf"
        both = {**world.admin, "Accept": "application/pdf, application/json;q=0.5"}
        r = await client.get(url(world.student.id), headers=both)
        assert r.headers["content-type"] == "application/pdf"
        # format= wins over Accept and the answer does not vary by it
        r = await client.get(
            url(world.student.id, "?format=pdf"),
            headers={**world.admin, "Accept": "application/json"},
        )
        assert r.headers["content-type"] == "application/pdf" and "Accept" not in vary(r)

    async def test_etag_and_304(self, client: AsyncClient, factory: Factory, world: World) -> None:
        first = await client.get(url(world.student.id), headers=world.admin)
        etag = first.headers["etag"]
        again = await client.get(url(world.student.id), headers=world.admin)
        assert again.content == first.content and again.headers["etag"] == etag
        cached = await client.get(
            url(world.student.id), headers={**world.admin, "If-None-Match": etag}
        )
        assert cached.status_code == 304 and cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == "private, no-cache"
        assert etag.startswith('W/"')  # weak, as the compression middleware makes every 304's
        strong = await client.get(
            url(world.student.id), headers={**world.admin, "If-None-Match": etag[2:]}
        )
        assert strong.status_code == 304
        plain = await client.get(
            url(world.student.id),
            headers={**world.admin, "If-None-Match": etag, "Accept-Encoding": "identity"},
        )
        assert plain.status_code == 304 and plain.headers["etag"] == etag
        # a new grade changes the document and its ETag
        category = await factory.category(world.biology, "Quizzes", 10)
        quiz = await factory.assessment(world.biology, category, max_points=10.0)
        async with factory.db.sessionmaker() as session:
            from sqlalchemy import select

            from homeroom.models import Enrollment

            enrollment = await session.scalar(
                select(Enrollment).where(
                    Enrollment.student_id == world.student.id,
                    Enrollment.section_id == world.biology.id,
                )
            )
        assert enrollment is not None
        await factory.grade(enrollment, quiz, 0)
        changed = await client.get(
            url(world.student.id), headers={**world.admin, "If-None-Match": etag}
        )
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert "81.82%" in pdf_text(changed.content).splitlines()  # (90 * 100 + 0 * 10) / 110

    async def test_json_has_its_own_etag(self, client: AsyncClient, world: World) -> None:
        pdf = await client.get(url(world.student.id), headers=world.admin)
        as_json = await client.get(url(world.student.id, "?format=json"), headers=world.admin)
        assert as_json.headers["etag"] != pdf.headers["etag"]
        r = await client.get(
            url(world.student.id, "?format=json"),
            headers={**world.admin, "If-None-Match": as_json.headers["etag"]},
        )
        assert r.status_code == 304

    async def test_empty_term_is_still_a_report_card(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        summer = await factory.term(
            world.school, name="Summer", start_date=days(61), end_date=days(80)
        )
        r = await client.get(url(world.student.id, f"?term_id={summer.id}"), headers=world.admin)
        assert r.status_code == 200
        assert check_structure(r.content) == 1
        text = pdf_text(r.content)
        assert "No sections in this term." in text
        assert "No comments this term." in text
        assert "Okafor, Zoë" in text

    async def test_many_sections_span_pages(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        for i in range(40):
            section = await factory.section(
                await factory.course(world.current, code=f"X-{i:02d}", title="Elective " * 6), None
            )
            await factory.enroll(world.student, section)
        r = await client.get(url(world.student.id), headers=world.admin)
        assert r.status_code == 200
        assert check_structure(r.content) >= 2
        text = pdf_text(r.content).splitlines()
        assert "X-39" in text and "Page 2" in text
        assert text.count("Course") >= 2  # the header row repeats on the next page


class TestReportCardErrors:
    async def test_unknown_term_is_422(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        r = await client.get(url(world.student.id, "?term_id=999999"), headers=world.admin)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["loc"] == ["query", "term_id"]
        # another school's term is as unknown
        other = await factory.term(await factory.school())
        r = await client.get(url(world.student.id, f"?term_id={other.id}"), headers=world.admin)
        assert r.status_code == 422

    async def test_bad_parameters_are_422(self, client: AsyncClient, world: World) -> None:
        for query in ("?term_id=abc", "?term_id=0", "?format=docx", "?term_id=99999999999"):
            r = await client.get(url(world.student.id, query), headers=world.admin)
            assert r.status_code == 422, query

    async def test_needs_a_token(self, client: AsyncClient, world: World) -> None:
        assert (await client.get(url(world.student.id))).status_code == 401


class TestReportCardScope:
    async def test_who_may_fetch_it(self, client: AsyncClient, world: World) -> None:
        async def status(headers: dict[str, str], student_id: int) -> int:
            return (await client.get(url(student_id, "?format=json"), headers=headers)).status_code

        mine = world.student.id
        assert await status(world.student_login, mine) == 200
        assert await status(world.guardian, mine) == 200
        assert await status(world.teacher, mine) == 200
        assert await status(world.other_teacher, mine) == 200
        assert await status(world.staff, mine) == 200
        assert await status(world.admin, mine) == 200
        # everyone else: 404, as if the student did not exist
        assert await status(world.other_guardian, mine) == 404
        assert await status(world.classmate_login, mine) == 404
        assert await status(world.student_login, world.classmate.id) == 404
        assert await status(world.chemistry_teacher, mine) == 404
        assert await status(world.teacher, world.outsider.id) == 404
        assert await status(world.foreign_staff, mine) == 404
        assert await status(world.admin, 999_999) == 404

    async def test_404_for_the_pdf_too(self, client: AsyncClient, world: World) -> None:
        r = await client.get(url(world.student.id), headers=world.other_guardian)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


class TestReportCardQueries:
    async def test_four_statements_whatever_the_size(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        with count_queries() as statements:
            r = await client.get(url(world.student.id), headers=world.guardian)
        assert r.status_code == 200
        few = queries(statements)
        for i in range(6):
            section = await factory.section(await factory.course(world.current), None)
            enrollment = await factory.enroll(world.student, section)
            category = await factory.category(section, "All", 100)
            for j in range(5):
                a = await factory.assessment(section, category)
                await factory.grade(enrollment, a, 50 + i, comment=f"note {j}")
            await factory.attendance(section, world.student, days(-3), "present")
        with count_queries() as statements:
            r = await client.get(url(world.student.id, "?format=json"), headers=world.guardian)
        assert r.status_code == 200 and len(r.json()["sections"]) == 8
        # student+school+term, sections+categories, assessments+grades, attendance counts
        assert len(queries(statements)) == len(few) == 4
        with count_queries() as statements:
            r = await client.get(url(world.student.id), headers=world.teacher)
        assert r.status_code == 200 and len(queries(statements)) == 4

    async def test_empty_term_skips_the_assessments(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        summer = await factory.term(world.school, start_date=days(61), end_date=days(80))
        with count_queries() as statements:
            r = await client.get(
                url(world.student.id, f"?term_id={summer.id}"), headers=world.admin
            )
        assert r.status_code == 200 and len(queries(statements)) == 3
