"""GET /analytics/sections/{id}: the roster's grades and attendance, assessment statistics,
attendance per session; the teacher of the section and the school's staff only."""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.analytics.conftest import API, MONDAY, TUESDAY, World
from tests.factories import Factory
from tests.fixture_types import CountQueries


def url(section_id: int) -> str:
    return f"{API}/analytics/sections/{section_id}"


async def section(client: AsyncClient, headers: dict[str, str], section_id: int) -> Any:
    r = await client.get(url(section_id), headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def counts(present: int, absent: int, late: int, excused: int) -> dict[str, Any]:
    total = present + absent + late + excused
    rate = (present + late) / total if total else None
    return {
        "present": present,
        "absent": absent,
        "late": late,
        "excused": excused,
        "total": total,
        "rate": pytest.approx(rate) if rate is not None else None,
    }


class TestFigures:
    async def test_section_x(self, client: AsyncClient, world: World) -> None:
        body = await section(client, world.teacher_a, world.x.id)
        assert {k: body[k] for k in ("section_id", "course_id", "course_code", "teacher_id")} == {
            "section_id": world.x.id,
            "course_id": world.ids["math"],
            "course_code": "MATH1",
            "teacher_id": world.ids["teacher_a"],
        }
        assert body["students"] == 3
        assert body["average_final_percentage"] == pytest.approx(72.67)
        assert body["letters"] == {"A": 1, "B": 0, "C": 1, "D": 0, "F": 1}
        assert body["attendance"] == counts(3, 2, 1, 0)
        roster = {r["student_id"]: r for r in body["roster"]}
        assert [r["student_id"] for r in body["roster"]] == [world.s1.id, world.s2.id, world.s3.id]
        assert roster[world.s1.id] == {
            "student_id": world.s1.id,
            "student_number": world.s1.student_number,
            "first_name": world.s1.first_name,
            "last_name": world.s1.last_name,
            "status": "enrolled",
            "final_percentage": 93.0,
            "letter": "A",
            "attendance": counts(2, 0, 0, 0),
        }
        assert (roster[world.s2.id]["final_percentage"], roster[world.s2.id]["letter"]) == (
            50.0,
            "F",
        )
        assert roster[world.s2.id]["attendance"] == counts(0, 2, 0, 0)
        assert (roster[world.s3.id]["final_percentage"], roster[world.s3.id]["letter"]) == (
            75.0,
            "C",
        )
        assert roster[world.s3.id]["attendance"] == counts(1, 0, 1, 0)

        test, hw1, hw2 = body["assessments"]
        assert test == {
            "assessment_id": world.ids["test"],
            "title": "Test",
            "category": "Tests",
            "max_points": 100.0,
            "due_date": "2026-10-01",
            "graded": 3,
            "mean": 73.33,
            "median": 75.0,
            "min": 50.0,
            "max": 95.0,
            "mean_percentage": 73.33,
        }
        assert {k: hw1[k] for k in ("graded", "mean", "median", "min", "max")} == {
            "graded": 2,
            "mean": 7.0,
            "median": 7.0,
            "min": 5.0,
            "max": 9.0,
        }
        assert hw1["mean_percentage"] == 70.0
        assert hw2["graded"] == 0 and hw2["mean"] is None and hw2["median"] is None
        assert body["attendance_by_session"] == [
            {"date": MONDAY.isoformat(), **counts(1, 1, 1, 0)},
            {"date": TUESDAY.isoformat(), **counts(2, 1, 0, 0)},
        ]

    async def test_dropped_students_leave_the_roster_and_the_statistics(
        self, client: AsyncClient, world: World
    ) -> None:
        body = await section(client, world.staff, world.y.id)
        assert [r["student_id"] for r in body["roster"]] == [world.s1.id]
        project = body["assessments"][0]
        assert (project["graded"], project["mean"], project["mean_percentage"]) == (1, 12.0, 60.0)
        assert body["letters"]["D"] == 1

    async def test_an_empty_section(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        course = await factory.course(await factory.term(world.school))
        empty = await factory.section(course, None)
        body = await section(client, world.staff, empty.id)
        assert body["students"] == 0 and body["roster"] == [] and body["assessments"] == []
        assert body["average_final_percentage"] is None
        assert body["attendance"]["rate"] is None and body["attendance_by_session"] == []


class TestWhoSeesWhat:
    async def test_the_teacher_and_the_schools_staff(
        self, client: AsyncClient, world: World
    ) -> None:
        for headers in (world.teacher_a, world.staff, world.admin):
            assert (await client.get(url(world.x.id), headers=headers)).status_code == 200

    async def test_others_get_404_or_403(self, client: AsyncClient, world: World) -> None:
        # Another teacher of the school, another school's staff: the section is not theirs.
        for headers in (world.teacher_b, world.other_staff):
            r = await client.get(url(world.x.id), headers=headers)
            assert r.status_code == 404, r.text
        assert (await client.get(url(999_999), headers=world.staff)).status_code == 404
        # Students and guardians may not see section analytics at all.
        for headers in (world.s1_headers, world.guardian):
            assert (await client.get(url(world.x.id), headers=headers)).status_code == 403
        assert (await client.get(url(world.x.id))).status_code == 401
        assert (await client.get(url(0), headers=world.staff)).status_code == 422


class TestStatements:
    async def test_four_statements_whatever_the_class_size(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        counts_ = []
        for extra in (0, 30):
            for _ in range(extra):
                student = await factory.student(world.school)
                await factory.enroll(student, world.x)
                await factory.attendance(world.x, student, MONDAY, "present")
            with count_queries() as statements:
                r = await client.get(url(world.x.id), headers=world.teacher_a)
            assert r.status_code == 200
            counts_.append(len(statements))
        assert r.json()["students"] == 33
        assert counts_[0] == counts_[1] <= 4

    async def test_etag_and_304(self, client: AsyncClient, world: World) -> None:
        r = await client.get(url(world.x.id), headers=world.teacher_a)
        assert r.headers["cache-control"] == "private, no-cache"
        again = await client.get(
            url(world.x.id), headers={**world.teacher_a, "If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""
