"""A section's gradebook: the grid, the finals, saving scores, weights and assessments."""

import re
from html import unescape as html_unescape

from httpx import AsyncClient

from homeroom.grades import calculation
from homeroom.kit.db import Database
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.pages import csrf_of, sign_in
from tests.web.teaching import API, Class, api_headers, signed_in_teacher


def _cell(html: str, student_id: int, assessment_id: int) -> str:
    name = f"s{student_id}-a{assessment_id}"
    found = re.search(rf'id="{name}" name="{name}" type="number"[^>]* value="([^"]*)"', html)
    assert found, name
    return found[1]


def _final(html: str, student_id: int) -> tuple[str, str]:
    found = re.search(
        rf'<td class="number" data-final="{student_id}">([^<]*)</td>\s*<td>([^<]*)</td>', html
    )
    assert found, student_id
    return found[1], found[2]


def _scores_form(world: Class, html: str, **cells: str) -> dict[str, str]:
    """The grid's form as the page fills it, with `cells` ("s<id>-a<id>") changed."""
    form = {"csrf_token": csrf_of(html)}
    form["seen"] = html_unescape(re.findall(r'name="seen" value="([^"]*)"', html)[0])
    for s in world.students:
        for a in (world.quiz, world.exam):
            form[f"s{s.id}-a{a.id}"] = _cell(html, s.id, a.id)
    return form | cells


async def _grades(
    client: AsyncClient, factory: Factory, world: Class
) -> dict[tuple[int, int], float]:
    r = await client.get(
        f"{API}/grades",
        params={"section_id": world.section.id, "limit": 100},
        headers=api_headers(factory, world),
    )
    assert r.status_code == 200, r.text
    return {(g["student_id"], g["assessment_id"]): g["score"] for g in r.json()["items"]}


class TestChoose:
    async def test_offers_the_teachers_sections(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        r = await client.get("/gradebook")
        assert r.status_code == 200
        assert '<a href="/gradebook" aria-current="page">Gradebook</a>' in r.text
        assert f'<option value="{world.section.id}">BIO101 Biology, section A</option>' in r.text
        r = await client.get("/gradebook", params={"section_id": world.section.id})
        assert (r.status_code, r.headers["location"]) == (
            303,
            f"/sections/{world.section.id}/gradebook",
        )


class TestGrid:
    async def test_shows_scores_finals_and_weights(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada, ben, cleo = world.students
        ada_e, ben_e, _ = world.enrollments
        await factory.grade(ada_e, world.quiz, 9.0)
        await factory.grade(ada_e, world.exam, 40.0)
        await factory.grade(ben_e, world.quiz, 7.5)
        with count_queries() as statements:
            r = await client.get(f"/sections/{world.section.id}/gradebook")
        assert r.status_code == 200, r.text
        # The session; the section with its categories, its students, its scores.
        assert len(statements) == 4, statements
        assert '<a href="/gradebook" aria-current="page">Gradebook</a>' in r.text
        assert (_cell(r.text, ada.id, world.quiz.id), _cell(r.text, ada.id, world.exam.id)) == (
            "9",
            "40",
        )
        assert _cell(r.text, ben.id, world.quiz.id) == "7.5"
        assert _cell(r.text, cleo.id, world.exam.id) == ""
        label = f'<label class="sr-only" for="s{ada.id}-a{world.quiz.id}">'
        assert label + "Score of Ada Adams on Quiz 1</label>" in r.text
        # 0.4 * 90% + 0.6 * 80% = 84%; Ben has homework only: 75%; Cleo nothing.
        assert _final(r.text, ada.id) == ("84.00", "B")
        assert _final(r.text, ben.id) == ("75.00", "C")
        assert _final(r.text, cleo.id) == ("\N{EM DASH}", "\N{EM DASH}")
        assert f"s{world.dropped.id}-" not in r.text
        assert 'value="Homework"' in r.text and 'value="40"' in r.text
        assert 'value="Tests"' in r.text and 'value="60"' in r.text

    async def test_the_final_is_the_student_grades_pages(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        """One rounding rule: the grid shows what GET /students/{id}/grades answers."""
        world = await signed_in_teacher(client, factory)
        ada = world.students[0]
        await factory.grade(world.enrollments[0], world.quiz, 8.9995)
        await factory.grade(world.enrollments[0], world.exam, 44.99)
        r = await client.get(f"/sections/{world.section.id}/gradebook")
        api = await client.get(
            f"{API}/students/{ada.id}/grades", headers=api_headers(factory, world)
        )
        section = api.json()["sections"][0]
        assert _final(r.text, ada.id) == (f"{section['final_percentage']:.2f}", section["letter"])


class TestSaveScores:
    async def test_enters_and_corrects_scores_and_the_final_follows(
        self,
        client: AsyncClient,
        factory: Factory,
        count_queries: CountQueries,
        db: Database,
        ending: int,
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada, ben, _ = world.students
        await factory.grade(world.enrollments[0], world.quiz, 5.0)
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        form = _scores_form(
            world,
            page.text,
            **{f"s{ada.id}-a{world.quiz.id}": "10", f"s{ben.id}-a{world.exam.id}": "25"},
        )
        with count_queries() as statements:
            r = await client.post(url, data=form)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"{url}?saved=2"
        # The session, the grid (three), and for each of the two columns its bulk write's read
        # and upsert; the ending (and SQLite's BEGIN IMMEDIATE).
        assert len(statements) == 8 + ending + db.is_sqlite, statements
        assert await _grades(client, factory, world) == {
            (ada.id, world.quiz.id): 10.0,
            (ben.id, world.exam.id): 25.0,
        }
        after = await client.get(r.headers["location"])
        assert '<p class="status" role="status">Scores saved: 2 changes</p>' in after.text
        assert _final(after.text, ada.id) == ("100.00", "A")
        assert _final(after.text, ben.id) == ("50.00", "F")

    async def test_clearing_a_score_deletes_its_grade(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada = world.students[0]
        await factory.grade(world.enrollments[0], world.quiz, 5.0)
        await factory.grade(world.enrollments[0], world.exam, 50.0)
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        form = _scores_form(world, page.text, **{f"s{ada.id}-a{world.quiz.id}": ""})
        r = await client.post(url, data=form)
        assert (r.status_code, r.headers["location"]) == (303, f"{url}?saved=1")
        assert await _grades(client, factory, world) == {(ada.id, world.exam.id): 50.0}
        after = await client.get(url)
        assert _final(after.text, ada.id) == ("100.00", "A")

    async def test_bad_scores_write_nothing_and_say_which(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada, ben, cleo = world.students
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        form = _scores_form(
            world,
            page.text,
            **{
                f"s{ada.id}-a{world.quiz.id}": "11",
                f"s{ben.id}-a{world.quiz.id}": "-1",
                f"s{cleo.id}-a{world.quiz.id}": "abc",
                f"s{cleo.id}-a{world.exam.id}": "30",
            },
        )
        r = await client.post(url, data=form)
        assert r.status_code == 422
        assert 'role="alert"' in r.text and "Nothing was saved" in r.text
        assert "Score of Ada Adams on Quiz 1: score must be between 0 and the assessment" in r.text
        assert "Score of Ben Baker on Quiz 1" in r.text
        assert "Score of Cleo Clark on Quiz 1: &#39;abc&#39; is not a number" in r.text
        assert _cell(r.text, ada.id, world.quiz.id) == "11"  # as typed
        assert await _grades(client, factory, world) == {}

    async def test_a_save_writes_only_what_was_typed_and_never_over_a_newer_score(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada, ben, _ = world.students
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        # Someone else, meanwhile: Ada's midterm, and Ben's quiz.
        await factory.grade(world.enrollments[0], world.exam, 20.0)
        await factory.grade(world.enrollments[1], world.quiz, 6.0)
        # Another cell than theirs: saved, and theirs kept (the page's blank is no clearing).
        form = _scores_form(world, page.text, **{f"s{ada.id}-a{world.quiz.id}": "3"})
        assert (await client.post(url, data=form)).status_code == 303
        both = {(ada.id, world.exam.id): 20.0, (ben.id, world.quiz.id): 6.0}
        assert await _grades(client, factory, world) == both | {(ada.id, world.quiz.id): 3.0}
        # The same cell as theirs: nothing saved, theirs shown, what was typed kept elsewhere.
        form = _scores_form(
            world,
            page.text,
            **{f"s{ben.id}-a{world.quiz.id}": "9", f"s{ben.id}-a{world.exam.id}": "41"},
        )
        r = await client.post(url, data=form)
        assert r.status_code == 409
        assert 'role="alert"' in r.text
        assert "Score of Ben Baker on Quiz 1: changed to 6 by someone else" in r.text
        assert (_cell(r.text, ben.id, world.quiz.id), _cell(r.text, ben.id, world.exam.id)) == (
            "6",
            "41",
        )
        assert await _grades(client, factory, world) == both | {(ada.id, world.quiz.id): 3.0}
        # Saved from the page it answered: Ben's midterm written, Ben's quiz left at 6.
        assert (await client.post(url, data=_scores_form(world, r.text))).status_code == 303
        assert await _grades(client, factory, world) == both | {
            (ada.id, world.quiz.id): 3.0,
            (ben.id, world.exam.id): 41.0,
        }

    async def test_csrf_another_teacher_and_a_student(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada = world.students[0]
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        form = _scores_form(world, page.text, **{f"s{ada.id}-a{world.quiz.id}": "3"})
        without = {k: v for k, v in form.items() if k != "csrf_token"}
        assert (await client.post(url, data=without)).status_code == 403
        other = f"/sections/{world.other_section.id}/gradebook"
        assert (await client.post(other, data=form)).status_code == 404
        for suffix in ("/categories", "/assessments"):
            assert (await client.post(other + suffix, data=form)).status_code == 404
        await client.post("/sign-out", data={"csrf_token": form["csrf_token"]})
        student = await factory.student(world.school, with_login=True)
        await factory.enroll(student, world.section)
        await sign_in(client, (await factory.user_of(student)).email)
        form["csrf_token"] = csrf_of((await client.get("/home")).text)
        assert (await client.post(url, data=form)).status_code == 403
        assert (await client.get(url)).status_code == 403
        assert await _grades(client, factory, world) == {}


class TestCategories:
    async def test_reweighs_adds_and_the_finals_follow(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada = world.students[0]
        await factory.grade(world.enrollments[0], world.quiz, 10.0)
        await factory.grade(world.enrollments[0], world.exam, 25.0)
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        form = {
            "csrf_token": csrf_of(page.text),
            "cat-0-id": str(world.homework.id),
            "cat-0-name": "Homework",
            "cat-0-weight": "50",
            "cat-1-id": str(world.tests.id),
            "cat-1-name": "Exams",
            "cat-1-weight": "40",
            "cat-2-name": "Projects",
            "cat-2-weight": "10",
        }
        r = await client.post(url + "/categories", data=form)
        assert (r.status_code, r.headers["location"]) == (303, f"{url}?weights=1")
        api = await client.get(
            f"{API}/sections/{world.section.id}/categories", headers=api_headers(factory, world)
        )
        assert [(c["name"], c["weight"]) for c in api.json()] == [
            ("Homework", 50.0),
            ("Exams", 40.0),
            ("Projects", 10.0),
        ]
        after = await client.get(r.headers["location"])
        assert '<p class="status" role="status">Category weights saved</p>' in after.text
        # (50 * 100% + 40 * 50%) / 90 = 77.78%; Projects has nothing graded.
        final = calculation.to_cents(100 * (50 * 1.0 + 40 * 0.5) / 90)
        assert _final(after.text, ada.id) == (f"{final:.2f}", "C")

    async def test_weights_not_adding_to_100_or_a_used_category_removed_write_nothing(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        base = {"csrf_token": csrf_of(page.text), "cat-0-id": str(world.homework.id)}
        form = base | {
            "cat-0-name": "Homework",
            "cat-0-weight": "40",
            "cat-1-id": str(world.tests.id),
            "cat-1-name": "Tests",
            "cat-1-weight": "50",
        }
        r = await client.post(url + "/categories", data=form)
        assert r.status_code == 422
        assert 'role="alert"' in r.text and "add up to 100" in r.text
        assert 'value="50"' in r.text  # as typed
        form = base | {"cat-0-name": "Homework", "cat-0-weight": "100"}  # Tests removed
        r = await client.post(url + "/categories", data=form)
        assert r.status_code == 409
        assert "still have assessments" in r.text
        form = base | {"cat-0-name": "Homework", "cat-0-weight": "abc"}
        r = await client.post(url + "/categories", data=form)
        assert r.status_code == 422 and "Homework (weight)" in r.text
        api = await client.get(
            f"{API}/sections/{world.section.id}/categories", headers=api_headers(factory, world)
        )
        assert [(c["name"], c["weight"]) for c in api.json()] == [
            ("Homework", 40.0),
            ("Tests", 60.0),
        ]


class TestAddAssessment:
    async def test_adds_a_column(self, client: AsyncClient, factory: Factory) -> None:
        world = await signed_in_teacher(client, factory)
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        form = {
            "csrf_token": csrf_of(page.text),
            "title": "Lab report",
            "category_id": str(world.homework.id),
            "max_points": "20",
            "due_date": "2026-11-02",
        }
        r = await client.post(url + "/assessments", data=form)
        assert (r.status_code, r.headers["location"]) == (303, f"{url}?added=1")
        api = await client.get(
            f"{API}/assessments",
            params={"section_id": world.section.id},
            headers=api_headers(factory, world),
        )
        added = [a for a in api.json()["items"] if a["title"] == "Lab report"]
        assert [(a["max_points"], a["due_date"]) for a in added] == [(20.0, "2026-11-02")]
        after = await client.get(r.headers["location"])
        assert '<p class="status" role="status">Assessment added</p>' in after.text
        aid = added[0]["id"]
        assert _cell(after.text, world.students[0].id, aid) == ""

    async def test_bad_fields_write_nothing(self, client: AsyncClient, factory: Factory) -> None:
        world = await signed_in_teacher(client, factory)
        url = f"/sections/{world.section.id}/gradebook"
        page = await client.get(url)
        for label, bad in (
            ("Title", {"title": "", "max_points": "10"}),
            ("Max points", {"title": "Essay", "max_points": "-5"}),
            ("Due date", {"title": "Essay", "max_points": "10", "due_date": "soon"}),
            ("Category", {"title": "Essay", "max_points": "10", "category_id": "999999"}),
        ):
            form = {"csrf_token": csrf_of(page.text), "category_id": str(world.tests.id)} | bad
            r = await client.post(url + "/assessments", data=form)
            assert r.status_code == 422, (bad, r.text[:300])
            assert 'role="alert"' in r.text and "Nothing was saved" in r.text
            assert "<li>" + label + ": " in r.text
        api = await client.get(
            f"{API}/assessments",
            params={"section_id": world.section.id},
            headers=api_headers(factory, world),
        )
        assert sorted(a["title"] for a in api.json()["items"]) == ["Midterm", "Quiz 1"]
