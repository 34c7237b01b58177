"""A student's own pages and a guardian's for each child: grades, attendance, courses, reports
(the report card and transcript as PDF); who sees which student."""

import html
import re

import pytest
from httpx import AsyncClient

from homeroom.web.my import routes as my_routes
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.own import World, make_world
from tests.web.pages import sign_in, sign_out

API = "/api/v1"
PAGES = ("/my/grades", "/my/attendance", "/my/courses", "/my/reports")


@pytest.fixture
async def world(factory: Factory) -> World:
    return await make_world(factory)


async def _as_guardian(client: AsyncClient, world: World) -> None:
    assert (await sign_in(client, world.guardian_email)).status_code == 303


async def _as_ada(client: AsyncClient, world: World) -> None:
    assert (await sign_in(client, world.ada_email)).status_code == 303


def _text(page: str) -> str:
    """The page's main text, tags dropped, entities read and spaces folded."""
    main = page.split('<main id="main">', 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main))).strip()


class TestWhoseRecord:
    @pytest.mark.parametrize("path", PAGES)
    async def test_a_student_opens_their_own_page(
        self, client: AsyncClient, world: World, path: str
    ) -> None:
        await _as_ada(client, world)
        page = await client.get(path)
        assert page.status_code == 200, page.text
        assert 'aria-current="page"' in page.text
        assert "Ada Lovelace" in page.text
        assert 'name="student"' not in page.text  # no child switcher
        same = await client.get(f"{path}?student={world.ada.id}")
        assert same.status_code == 200
        assert same.text == page.text

    @pytest.mark.parametrize("path", PAGES)
    async def test_a_student_cannot_open_another_students_page(
        self, client: AsyncClient, world: World, path: str
    ) -> None:
        await _as_ada(client, world)
        for other in (world.cleo.id, world.ben.id, 999_999):
            page = await client.get(f"{path}?student={other}")
            assert page.status_code == 404, (path, other)
            assert "Not found" in page.text
            assert "Cleo" not in page.text and "Zebra" not in page.text
            assert "Ben " not in page.text

    @pytest.mark.parametrize("path", PAGES)
    async def test_a_guardian_sees_their_first_child_and_switches(
        self, client: AsyncClient, world: World, path: str
    ) -> None:
        await _as_guardian(client, world)
        page = await client.get(path)
        assert page.status_code == 200, page.text
        text = _text(page.text)
        assert "Ada Lovelace · grade 9" in text  # first by first name
        # The switcher: a labelled select with exactly the guardian's two children.
        assert '<label for="child">Child' in page.text
        options = re.findall(r'<option value="(\d+)"( selected)?>([^<]+)</option>', page.text)
        assert options == [
            (str(world.ada.id), " selected", "Ada Lovelace"),
            (str(world.ben.id), "", "Ben Lovelace"),
        ]
        assert "Cleo" not in page.text
        ben = await client.get(f"{path}?student={world.ben.id}")
        assert ben.status_code == 200
        assert "Ben Lovelace · grade 9" in _text(ben.text)
        assert f'<option value="{world.ben.id}" selected>' in ben.text
        # The child's own links keep the child.
        assert f'href="{path}?student={world.ben.id}" aria-current="page"' in ben.text

    @pytest.mark.parametrize("path", PAGES)
    @pytest.mark.parametrize("bad", ["other", "abc", "0", "-1", "99999999999", "1e3", "٣"])
    async def test_a_guardian_gets_404_for_anyone_but_their_children(
        self, client: AsyncClient, world: World, path: str, bad: str
    ) -> None:
        await _as_guardian(client, world)
        wanted = str(world.cleo.id) if bad == "other" else bad
        page = await client.get(path, params={"student": wanted})
        assert page.status_code == 404, page.text
        assert "student not found" in page.text
        assert "Cleo" not in page.text and "Zebra" not in page.text

    async def test_a_guardian_without_children_is_told_so(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        lonely = await factory.guardian(world.school, with_login=True)
        await sign_in(client, (await factory.user_of(lonely)).email)
        for path in PAGES:
            page = await client.get(path)
            assert page.status_code == 200
            assert "No children are linked to your account yet" in page.text
            assert 'role="status"' in page.text
        assert (await client.get(f"{PAGES[0]}?student={world.ada.id}")).status_code == 404
        pdf = await client.get("/my/reports/transcript.pdf")
        assert pdf.status_code == 404

    @pytest.mark.parametrize("role", ["teacher", "staff", "admin"])
    async def test_other_roles_are_refused(
        self, client: AsyncClient, factory: Factory, world: World, role: str
    ) -> None:
        _, who = await factory.login_as(role, world.school)
        email = who.email if role in ("staff", "admin") else (await factory.user_of(who)).email
        await sign_in(client, email)
        for path in PAGES:
            page = await client.get(f"{path}?student={world.ada.id}")
            assert page.status_code == 403
            assert "Ada" not in page.text

    async def test_without_a_session_the_pages_go_to_sign_in(self, client: AsyncClient) -> None:
        for path in (*PAGES, "/my/reports/transcript.pdf"):
            page = await client.get(path)
            assert (page.status_code, page.headers["location"]) == (303, "/")


class TestGrades:
    async def test_each_section_with_teacher_final_letter_and_assessments(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        await _as_ada(client, world)
        page = await client.get("/my/grades")
        text = _text(page.text)
        # Latest term first; in it, sections by course code.
        assert text.index("Fall 2026") < text.index("HIST9") < text.index("MATH9")
        assert text.index("MATH9") < text.index("Spring 2026") < text.index("SCI8")
        math = text[text.index("MATH9 Algebra") : text.index("Spring 2026")]
        assert "Teacher Grace Hopper" in math
        assert "Final grade 76.00% Letter C" in math
        assert "Fractions Homework 2026-09-10 80 / 100" in math
        assert "Midterm Exams 2026-10-15 35 / 50" in math
        assert "Final exam Exams 2027-01-20 Not graded / 100" in math
        history = text[text.index("HIST9 World History") : text.index("MATH9")]
        assert "Teacher Not assigned" in history and "Final grade — Letter —" in history
        assert "SCI8 Earth Science Teacher Grace Hopper Final grade 95.00% Letter A" in text
        # The same figures as the API's (grades.service: one rounding rule).
        user = await factory.user_of(world.ada)
        api = await client.get(
            f"{API}/students/{world.ada.id}/grades", headers=factory.headers(user, world.ada.id)
        )
        finals = {s["course_code"]: s["final_percentage"] for s in api.json()["sections"]}
        assert finals == {"MATH9": 76.0, "HIST9": None, "SCI8": 95.0}

    async def test_a_guardian_sees_the_chosen_childs_grades_only(
        self, client: AsyncClient, world: World
    ) -> None:
        await _as_guardian(client, world)
        ben = _text((await client.get(f"/my/grades?student={world.ben.id}")).text)
        assert "MATH9 Algebra" in ben and "Final grade 100.00% Letter A" in ben
        assert "Midterm Exams 2026-10-15 50 / 50" in ben
        assert "Fractions Homework 2026-09-10 Not graded / 100" in ben
        assert "HIST9" not in ben  # dropped
        assert "76.00%" not in ben
        ada = _text((await client.get("/my/grades")).text)
        assert "Final grade 76.00% Letter C" in ada

    async def test_a_new_grade_shows_at_once(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        await _as_ada(client, world)
        before = await client.get("/my/grades")
        assert "Final exam Exams 2027-01-20 Not graded" in _text(before.text)
        staff, _ = await factory.login_as("admin", world.school)
        final = await client.get(
            f"{API}/assessments", headers=staff, params={"section_id": world.math.id}
        )
        final_id = next(a["id"] for a in final.json()["items"] if a["title"] == "Final exam")
        r = await client.post(
            f"{API}/grades",
            headers=staff,
            json={"assessment_id": final_id, "student_id": world.ada.id, "score": 100},
        )
        assert r.status_code == 201, r.text
        after = _text((await client.get("/my/grades")).text)
        # Exams: 35 + 100 of 150; 0.4 * 85 + 0.6 * 90 = 88.00 %.
        assert "Final exam Exams 2027-01-20 100 / 100" in after
        assert "Final grade 88.00% Letter B" in after

    async def test_the_page_revalidates_with_its_etag(
        self, client: AsyncClient, world: World
    ) -> None:
        await _as_ada(client, world)
        page = await client.get("/my/grades")
        assert page.headers["cache-control"] == "private, no-cache"
        again = await client.get("/my/grades", headers={"if-none-match": page.headers["etag"]})
        assert again.status_code == 304


class TestAttendance:
    async def test_the_rate_and_the_days_missed(self, client: AsyncClient, world: World) -> None:
        await _as_ada(client, world)
        text = _text((await client.get("/my/attendance")).text)
        # 5 sessions: 3 present or late -> 60.0 %.
        assert "Attendance rate 60.0% Present 2 Late 1 Absent 1 Excused 1 Sessions 5" in text
        assert "MATH9 50.0% 1 1 1 4" in text and "HIST9 100.0% 0 0 0 1" in text
        missed = text[text.index("Days missed") :]
        assert re.findall(r"2026-10-0\d \w+", missed) == [
            "2026-10-08 Excused",
            "2026-10-07 Late",
            "2026-10-06 Absent",
        ]
        assert "MATH9 Algebra (section A) doctor" in missed
        assert "2026-10-05" not in missed and "2026-10-09" not in missed  # present
        assert "Earlier days" not in missed

    async def test_a_guardians_child_without_days_missed(
        self, client: AsyncClient, world: World
    ) -> None:
        await _as_guardian(client, world)
        text = _text((await client.get(f"/my/attendance?student={world.ben.id}")).text)
        assert "Attendance rate 100.0% Present 1" in text
        assert "No days missed." in text
        assert "2026-10-06 Absent" not in text  # Ada's and Cleo's, not Ben's

    async def test_the_days_missed_page_by_keyset(
        self, client: AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(my_routes, "MISSED_PER_PAGE", 2)
        await _as_ada(client, world)
        first = await client.get("/my/attendance")
        earlier = re.search(r'href="([^"]+)">Earlier days', first.text)
        assert earlier
        assert re.findall(r"2026-10-0\d \w+", _text(first.text)) == [
            "2026-10-08 Excused",
            "2026-10-07 Late",
        ]
        second = await client.get(earlier[1].replace("&amp;", "&"))
        assert second.status_code == 200
        assert re.findall(r"2026-10-0\d \w+", _text(second.text)) == ["2026-10-06 Absent"]
        assert "Earlier days" not in second.text and "Latest days" in second.text

    @pytest.mark.parametrize(
        "before", ["x", "2026-13-01.4", "2026-10-01.x", "2026-10-01.0", "9" * 40]
    )
    async def test_a_bad_page_link_is_refused_plainly(
        self, client: AsyncClient, world: World, before: str
    ) -> None:
        await _as_ada(client, world)
        page = await client.get("/my/attendance", params={"before": before})
        assert page.status_code == 422
        assert "start again from the latest days" in page.text


class TestCourses:
    async def test_the_sections_by_term_with_teacher_room_and_meeting_times(
        self, client: AsyncClient, world: World
    ) -> None:
        await _as_ada(client, world)
        text = _text((await client.get("/my/courses")).text)
        assert "Fall 2026 (2026-09-01 to 2027-01-31)" in text
        assert "HIST9 World History B Not assigned — Not scheduled 1" in text
        assert "MATH9 Algebra A Grace Hopper R12 MWF 09:00-09:50 1" in text
        assert text.index("Fall 2026") < text.index("Spring 2026") < text.index("SCI8")

    async def test_a_dropped_section_is_not_listed(self, client: AsyncClient, world: World) -> None:
        await _as_guardian(client, world)
        text = _text((await client.get(f"/my/courses?student={world.ben.id}")).text)
        assert "MATH9" in text and "HIST9" not in text


class TestReports:
    async def test_a_link_per_term_and_the_transcript(
        self, client: AsyncClient, world: World
    ) -> None:
        await _as_guardian(client, world)
        page = await client.get(f"/my/reports?student={world.ada.id}")
        links = re.findall(r'<a href="(/my/reports/[^"]+)" download>([^<]+)</a>', page.text)
        ada = world.ada.id
        assert links == [
            (
                f"/my/reports/report-card.pdf?student={ada}&amp;term_id={world.fall.id}",
                "Report card, Fall 2026 (PDF)",
            ),
            (
                f"/my/reports/report-card.pdf?student={ada}&amp;term_id={world.spring.id}",
                "Report card, Spring 2026 (PDF)",
            ),
            (f"/my/reports/transcript.pdf?student={ada}", "Transcript (PDF)"),
        ]

    async def test_the_report_card_and_transcript_as_pdf(
        self, client: AsyncClient, world: World
    ) -> None:
        await _as_guardian(client, world)
        card = await client.get(
            "/my/reports/report-card.pdf",
            params={"student": world.ada.id, "term_id": world.spring.id},
        )
        assert card.status_code == 200, card.text
        assert card.headers["content-type"] == "application/pdf"
        assert card.content.startswith(b"%PDF") and len(card.content) > 1000
        number = world.ada.student_number
        assert card.headers["content-disposition"] == (
            f'attachment; filename="report-card-{number}-Spring_2026.pdf"'
        )
        assert card.headers["x-content-type-options"] == "nosniff"
        # Unchanged: 304 without rendering.
        again = await client.get(
            "/my/reports/report-card.pdf",
            params={"student": world.ada.id, "term_id": world.spring.id},
            headers={"if-none-match": card.headers["etag"]},
        )
        assert again.status_code == 304
        transcript = await client.get(f"/my/reports/transcript.pdf?student={world.ben.id}")
        assert transcript.status_code == 200
        assert transcript.headers["content-type"] == "application/pdf"
        assert transcript.content.startswith(b"%PDF")
        assert transcript.headers["content-disposition"] == (
            f'attachment; filename="transcript-{world.ben.student_number}.pdf"'
        )

    async def test_the_default_report_card_is_the_current_terms(
        self, client: AsyncClient, world: World
    ) -> None:
        await _as_ada(client, world)
        card = await client.get("/my/reports/report-card.pdf")
        assert card.status_code == 200
        assert "Fall_2026" in card.headers["content-disposition"]

    @pytest.mark.parametrize("document", ["report-card.pdf", "transcript.pdf"])
    async def test_nobody_elses_documents(
        self, client: AsyncClient, world: World, document: str
    ) -> None:
        await _as_guardian(client, world)
        other = await client.get(f"/my/reports/{document}?student={world.cleo.id}")
        assert other.status_code == 404
        assert other.headers["content-type"].startswith("text/html")
        assert "Cleo" not in other.text
        assert (await sign_out(client)).status_code == 303
        await sign_in(client, world.cleo_email)
        mine = await client.get(f"/my/reports/{document}")
        assert mine.status_code == 200
        ada = await client.get(f"/my/reports/{document}?student={world.ada.id}")
        assert ada.status_code == 404

    @pytest.mark.parametrize(("term", "status"), [("abc", 404), ("0", 404), ("999999", 422)])
    async def test_a_bad_term_is_a_page_not_a_500(
        self, client: AsyncClient, world: World, term: str, status: int
    ) -> None:
        await _as_ada(client, world)
        card = await client.get("/my/reports/report-card.pdf", params={"term_id": term})
        assert card.status_code == status
        assert card.headers["content-type"].startswith("text/html")


class TestQueryCounts:
    @pytest.mark.parametrize("path", PAGES)
    async def test_a_page_costs_a_few_statements_whatever_the_record(
        self,
        client: AsyncClient,
        world: World,
        count_queries: CountQueries,
        path: str,
    ) -> None:
        await _as_guardian(client, world)
        await client.get(path)  # the cached parts filled
        counts = []
        for student in (world.ada, world.ben):
            with count_queries() as statements:
                page = await client.get(f"{path}?student={student.id}")
            assert page.status_code == 200
            counts.append(len(statements))
        assert max(counts) <= LIMITS[path], (path, counts)


# Statements per page, a guardian's (a student's are the same), the cached parts built (the
# tests' emptied tables hold no cache epoch, so nothing is served from the cache here): the
# session and the children (2), then grades: the student check and the summary's two reads,
# the sections (4); attendance: the summary's check and counts, the missed days' check and
# rows (4); courses and reports: the sections (1). PostgreSQL reads a cached summary's
# versions too (+1 where there is one, within the limits).
LIMITS = {"/my/grades": 7, "/my/attendance": 7, "/my/courses": 3, "/my/reports": 3}
