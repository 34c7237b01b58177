from typing import Any

import pytest
from httpx import AsyncClient

from homeroom.models import Course
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = "/api/v1/courses"


def body(term_id: int, **kw: Any) -> dict[str, Any]:
    values = {"term_id": term_id, "code": "BIO-101", "title": "Biology", "credits": 1.5}
    return values | kw


def ids(r: Any) -> list[int]:
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


class TestListCourses:
    @pytest.mark.parametrize("role", ["admin", "staff", "teacher"])
    async def test_school_roles_see_drafts(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school, other = await factory.school(), await factory.school()
        term = await factory.term(school)
        live = await factory.course(term, code="A")
        draft = await factory.course(term, code="B", published=False)
        await factory.course(await factory.term(other))
        headers, _ = await factory.login_as(role, school)
        r = await client.get(URL, headers=headers)
        assert ids(r) == [live.id, draft.id]
        assert r.json()["items"][1]["published"] is False
        assert r.headers["ETag"]

    @pytest.mark.parametrize("role", ["student", "guardian"])
    async def test_students_and_guardians_see_published_only(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)
        live = await factory.course(term)
        draft = await factory.course(term, published=False)
        headers, _ = await factory.login_as(role, school)
        assert ids(await client.get(URL, headers=headers)) == [live.id]
        r = await client.get(URL, headers=headers, params={"published": "false"})
        assert ids(r) == []
        assert (await client.get(f"{URL}/{draft.id}", headers=headers)).status_code == 404
        assert (await client.get(f"{URL}/{live.id}", headers=headers)).status_code == 200

    async def test_filters_and_search(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        fall, spring = await factory.term(school), await factory.term(school)
        bio = await factory.course(fall, code="BIO-1", title="Biology", category="science")
        art = await factory.course(fall, code="ART-1", title="Drawing", category="arts")
        chem = await factory.course(
            spring, code="CHE-1", title="Chemistry", category="science", published=False
        )
        headers, _ = await factory.login_as("staff", school)

        async def get(**params: Any) -> list[int]:
            return ids(await client.get(URL, headers=headers, params=params))

        assert await get(term_id=fall.id) == [art.id, bio.id]
        assert await get(category="science") == [bio.id, chem.id]
        assert await get(published="false") == [chem.id]
        assert await get(q="draw") == [art.id]
        assert await get(q="che") == [chem.id]
        assert await get(q="%") == []
        assert await get(q="_") == []
        assert await get(q="!") == []
        assert await get(sort="title") == [bio.id, chem.id, art.id]
        assert await get(sort="-id") == [chem.id, art.id, bio.id]
        assert await get(category="science", term_id=spring.id) == [chem.id]
        r = await client.get(URL, headers=headers, params={"published": "maybe"})
        assert r.status_code == 422

    async def test_constant_query_count(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)
        for _ in range(3):
            await factory.course(term)
        headers, _ = await factory.login_as("student", school)
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(
                    URL, headers=headers, params={"limit": limit, "offset": 1, "q": "c"}
                )
            assert r.status_code == 200
            assert r.json()["total"] == 3
            counts.append(len(statements))
        assert counts == [2, 2]


class TestCreateCourse:
    @pytest.mark.parametrize("role", ["admin", "staff"])
    async def test_writers_create(self, client: AsyncClient, factory: Factory, role: str) -> None:
        school = await factory.school()
        term = await factory.term(school)
        headers, _ = await factory.login_as(role, school)
        r = await client.post(URL, headers=headers, json=body(term.id))
        assert r.status_code == 201, r.text
        course = r.json()
        assert course["school_id"] == school.id
        assert (course["category"], course["published"], course["credits"]) == (
            "general",
            True,
            1.5,
        )
        assert (await client.get(f"{URL}/{course['id']}", headers=headers)).json() == course

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_others_may_not_write(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)
        headers, _ = await factory.login_as(role, school)
        assert (await client.post(URL, headers=headers, json=body(term.id))).status_code == 403

    async def test_duplicate_code_in_term_is_409(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        fall, spring = await factory.term(school), await factory.term(school)
        await factory.course(fall, code="BIO-101")
        headers, _ = await factory.login_as("staff", school)
        r = await client.post(URL, headers=headers, json=body(fall.id))
        assert r.status_code == 409
        assert "code" in r.json()["detail"]
        r = await client.post(URL, headers=headers, json=body(spring.id))
        assert r.status_code == 201  # unique per term only

    async def test_term_of_another_school_is_422(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        theirs = await factory.term(other)
        headers, _ = await factory.login_as("staff", school)
        for term_id in (theirs.id, 999_999):
            r = await client.post(URL, headers=headers, json=body(term_id))
            assert r.status_code == 422
            assert r.json()["errors"][0]["loc"] == ["body", "term_id"]

    async def test_all_schools_admin_creates_in_the_terms_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)
        headers = factory.headers(await factory.user("admin", None))
        r = await client.post(URL, headers=headers, json=body(term.id))
        assert r.status_code == 201
        assert r.json()["school_id"] == school.id

    async def test_bad_bodies_are_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        term = await factory.term(school)
        headers, _ = await factory.login_as("staff", school)
        for bad in (
            body(term.id, credits=-1),
            body(term.id, code=""),
            body(term.id, code="x" * 33),
            body(term.id, title=""),
            body(term.id, school_id=school.id),
            {"code": "X", "title": "Y"},
        ):
            r = await client.post(URL, headers=headers, json=bad)
            assert r.status_code == 422, bad
            assert r.json()["errors"]


class TestUpdateCourse:
    async def test_patch_fields(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        term = await factory.term(school)
        course = await factory.course(term)
        headers, _ = await factory.login_as("staff", school)
        r = await client.patch(
            f"{URL}/{course.id}", headers=headers, json={"published": False, "title": "New"}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["published"], r.json()["title"]) == (False, "New")

    async def test_patch_code_conflict_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        term, other_term = await factory.term(school), await factory.term(school)
        await factory.course(term, code="TAKEN")
        course = await factory.course(term, code="MINE")
        moving = await factory.course(other_term, code="TAKEN")
        headers, _ = await factory.login_as("staff", school)
        r = await client.patch(f"{URL}/{course.id}", headers=headers, json={"code": "TAKEN"})
        assert r.status_code == 409
        r = await client.patch(f"{URL}/{moving.id}", headers=headers, json={"term_id": term.id})
        assert r.status_code == 409
        r = await client.patch(f"{URL}/{course.id}", headers=headers, json={"code": "MINE"})
        assert r.status_code == 200

    async def test_patch_term_must_be_in_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        term = await factory.term(school)
        course = await factory.course(term)
        headers, _ = await factory.login_as("staff", school)
        theirs = await factory.term(other)
        r = await client.patch(f"{URL}/{course.id}", headers=headers, json={"term_id": theirs.id})
        assert r.status_code == 422
        target = await factory.term(school)
        r = await client.patch(f"{URL}/{course.id}", headers=headers, json={"term_id": target.id})
        assert r.status_code == 200
        assert r.json()["term_id"] == target.id

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        theirs = await factory.course(await factory.term(other))
        headers, _ = await factory.login_as("staff", school)
        r = await client.patch(f"{URL}/{theirs.id}", headers=headers, json={"title": "X"})
        assert r.status_code == 404

    async def test_stale_if_match_is_412(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school))
        headers, _ = await factory.login_as("staff", school)
        etag = (await client.get(f"{URL}/{course.id}", headers=headers)).headers["ETag"]
        await client.patch(f"{URL}/{course.id}", headers=headers, json={"title": "Changed"})
        r = await client.delete(f"{URL}/{course.id}", headers=headers | {"If-Match": etag})
        assert r.status_code == 412


class TestDeleteCourse:
    async def test_deletes_course_without_sections(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school))
        headers, _ = await factory.login_as("staff", school)
        assert (await client.delete(f"{URL}/{course.id}", headers=headers)).status_code == 204
        async with factory.db.sessionmaker() as session:
            assert await session.get(Course, course.id) is None

    async def test_course_with_sections_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school))
        await factory.section(course, None)
        headers, _ = await factory.login_as("staff", school)
        assert (await client.delete(f"{URL}/{course.id}", headers=headers)).status_code == 409

    async def test_teacher_may_not_delete(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school))
        headers, _ = await factory.login_as("teacher", school)
        assert (await client.delete(f"{URL}/{course.id}", headers=headers)).status_code == 403


class TestBoundedIds:
    async def test_ids_beyond_32_bits_are_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        assert (await client.get(f"{URL}/{2**31}", headers=headers)).status_code == 422
        r = await client.get(URL, headers=headers, params={"term_id": 2**31})
        assert r.status_code == 422
        r = await client.post(URL, headers=headers, json=body(2**31))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "term_id"]
