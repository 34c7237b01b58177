"""GET /analytics/me: a student's own grades, attendance and upcoming work; a guardian's for
each child; nobody else's."""

from typing import Any

import pytest
from httpx import AsyncClient

from homeroom.models import StudentGuardian
from tests.analytics.conftest import API, TUESDAY, World
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = f"{API}/analytics/me"


async def me(client: AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    params.setdefault("date", TUESDAY.isoformat())
    r = await client.get(URL, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


class TestStudent:
    async def test_own_figures(self, client: AsyncClient, world: World) -> None:
        body = await me(client, world.s1_headers)
        assert body["date"] == TUESDAY.isoformat()
        (mine,) = body["students"]
        assert mine["student_id"] == world.s1.id
        assert mine["grades"] == [
            {
                "section_id": world.y.id,
                "course_code": "ART1",
                "course_title": "Studio Art",
                "term_id": world.ids["term"],
                "final_percentage": 60.0,
                "letter": "D",
            },
            {
                "section_id": world.x.id,
                "course_code": "MATH1",
                "course_title": "Algebra",
                "term_id": world.ids["term"],
                "final_percentage": 93.0,
                "letter": "A",
            },
        ]
        attendance = mine["attendance"]
        assert {k: attendance[k] for k in ("present", "excused", "total")} == {
            "present": 2,
            "excused": 1,
            "total": 3,
        }
        assert attendance["rate"] == pytest.approx(2 / 3)
        assert [(s["course_code"], s["total"]) for s in attendance["by_section"]] == [
            ("ART1", 1),
            ("MATH1", 2),
        ]
        assert mine["upcoming"] == [
            {
                "assessment_id": world.ids["project"],
                "section_id": world.y.id,
                "course_code": "ART1",
                "title": "Project",
                "due_date": "2026-10-10",
                "max_points": 20.0,
                "score": 12.0,
            },
            {
                "assessment_id": world.ids["hw2"],
                "section_id": world.x.id,
                "course_code": "MATH1",
                "title": "HW2",
                "due_date": "2026-10-20",
                "max_points": 10.0,
                "score": None,
            },
        ]

    async def test_upcoming_depends_on_the_date_and_the_limit(
        self, client: AsyncClient, world: World
    ) -> None:
        (mine,) = (await me(client, world.s1_headers, upcoming_limit=1))["students"]
        assert [a["title"] for a in mine["upcoming"]] == ["Project"]
        (mine,) = (await me(client, world.s1_headers, date="2026-10-11"))["students"]
        assert [a["title"] for a in mine["upcoming"]] == ["HW2"]
        (mine,) = (await me(client, world.s1_headers, date="2026-10-01"))["students"]
        assert [a["title"] for a in mine["upcoming"]] == ["Test", "HW1", "Project", "HW2"]
        r = await client.get(URL, headers=world.s1_headers, params={"upcoming_limit": 101})
        assert r.status_code == 422

    async def test_a_dropped_section_is_not_in_the_grades(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        headers, student = await factory.login_as("student", world.school)
        await factory.enroll(student, world.x, status="dropped")
        (mine,) = (await me(client, headers))["students"]
        assert mine["grades"] == [] and mine["upcoming"] == []
        assert mine["attendance"]["total"] == 0 and mine["attendance"]["rate"] is None


class TestGuardian:
    async def test_each_child(self, client: AsyncClient, world: World) -> None:
        body = await me(client, world.guardian)
        by_id = {s["student_id"]: s for s in body["students"]}
        assert set(by_id) == {world.s1.id, world.s2.id}
        s2 = by_id[world.s2.id]
        assert [(g["course_code"], g["final_percentage"], g["letter"]) for g in s2["grades"]] == [
            ("MATH1", 50.0, "F")
        ]
        assert (s2["attendance"]["absent"], s2["attendance"]["rate"]) == (2, 0.0)
        assert [a["title"] for a in s2["upcoming"]] == ["HW2"]
        own = (await me(client, world.s1_headers))["students"][0]
        assert by_id[world.s1.id] == own

    async def test_a_guardian_without_children(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        headers, _ = await factory.login_as("guardian", world.school)
        assert (await me(client, headers))["students"] == []


class TestWhoSeesWhat:
    async def test_other_roles_get_403(self, client: AsyncClient, world: World) -> None:
        for headers in (world.teacher_a, world.staff):
            assert (await client.get(URL, headers=headers)).status_code == 403
        assert (await client.get(URL)).status_code == 401

    async def test_an_administrator_has_no_students_of_their_own(
        self, client: AsyncClient, world: World, count_queries: CountQueries
    ) -> None:
        """Never every student of the school: an admin holds every permission, not a child."""
        with count_queries() as statements:
            body = await me(client, world.admin)
        assert body == {"date": TUESDAY.isoformat(), "students": []}
        assert statements == []


class TestStatements:
    async def test_four_statements_whatever_the_number_of_children(
        self,
        client: AsyncClient,
        factory: Factory,
        world: World,
        count_queries: CountQueries,
    ) -> None:
        headers, guardian = await factory.login_as("guardian", world.school)
        counts = []
        for children in (1, 4):
            while len(await _children(client, headers)) < children:
                child = await factory.student(world.school)
                await factory.enroll(child, world.x)
                await factory.save(StudentGuardian(student_id=child.id, guardian_id=guardian.id))
            with count_queries() as statements:
                r = await client.get(URL, headers=headers)
            assert r.status_code == 200
            counts.append(len(statements))
        assert len(r.json()["students"]) == 4
        assert counts[0] == counts[1] <= 4

    async def test_etag_and_304(self, client: AsyncClient, world: World) -> None:
        r = await client.get(URL, headers=world.guardian)
        assert r.headers["cache-control"] == "private, no-cache"
        again = await client.get(
            URL, headers={**world.guardian, "If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""


async def _children(client: AsyncClient, headers: dict[str, str]) -> list[Any]:
    children: list[Any] = (await me(client, headers))["students"]
    return children
