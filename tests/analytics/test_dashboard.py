"""GET /analytics/dashboard: every figure of the hand-built school, who may see which school,
parameters, statement counts."""

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from homeroom.kit.db import Database
from tests.analytics.conftest import API, MONDAY, TUESDAY, World
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = f"{API}/analytics/dashboard"


async def dashboard(client: AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    params.setdefault("date", TUESDAY.isoformat())
    r = await client.get(URL, headers=headers, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def day(date: str, present: int, absent: int, late: int, excused: int) -> dict[str, Any]:
    total = present + absent + late + excused
    return {
        "date": date,
        "present": present,
        "absent": absent,
        "late": late,
        "excused": excused,
        "total": total,
        "rate": pytest.approx((present + late) / total),
    }


class TestFigures:
    async def test_the_hand_built_school(self, client: AsyncClient, world: World) -> None:
        body = await dashboard(client, world.staff)
        assert body["school_id"] == world.school.id
        assert body["school_name"] == world.school.name
        assert body["date"] == TUESDAY.isoformat()
        assert body["students"] == {
            "active": 3,
            "inactive": 1,
            "graduated": 0,
            "withdrawn": 0,
            "archived": 1,
            "total": 5,
        }
        assert body["enrollments_by_term"] == [
            {
                "term_id": world.ids["term"],
                "name": body["enrollments_by_term"][0]["name"],
                "start_date": "2026-09-01",
                "end_date": "2027-01-31",
                "enrolled": 4,
                "completed": 0,
                "dropped": 1,
            }
        ]
        attendance = body["attendance"]
        monday = day(MONDAY.isoformat(), 1, 1, 1, 0)
        tuesday = day(TUESDAY.isoformat(), 2, 1, 0, 1)
        assert attendance["today"] == tuesday
        assert attendance["trend"] == [monday, tuesday]
        week = day(MONDAY.isoformat(), 3, 2, 1, 1)
        del week["date"]
        assert attendance["week"] == {
            **week,
            "date_from": MONDAY.isoformat(),
            "date_to": TUESDAY.isoformat(),
            "days": 2,
        }
        assert body["grades_by_course"] == [
            {
                "course_id": world.ids["art"],
                "code": "ART1",
                "title": "Studio Art",
                "term_id": world.ids["term"],
                "students": 1,
                "graded": 1,
                "letters": {"A": 0, "B": 0, "C": 0, "D": 1, "F": 0},
            },
            {
                "course_id": world.ids["math"],
                "code": "MATH1",
                "title": "Algebra",
                "term_id": world.ids["term"],
                "students": 3,
                "graded": 3,
                "letters": {"A": 1, "B": 0, "C": 1, "D": 0, "F": 1},
            },
        ]

    async def test_students_at_risk(self, client: AsyncClient, world: World) -> None:
        risk = (await dashboard(client, world.staff))["at_risk"]
        assert risk["attendance_threshold"] == 0.9
        assert risk["total"] == 2
        s2, s1 = risk["students"]  # the failing one first
        assert s2 == {
            "student_id": world.s2.id,
            "student_number": world.s2.student_number,
            "first_name": world.s2.first_name,
            "last_name": world.s2.last_name,
            "grade_level": 9,
            "attendance": {
                "present": 0,
                "absent": 2,
                "late": 0,
                "excused": 0,
                "total": 2,
                "rate": 0.0,
            },
            "failing": [
                {"section_id": world.x.id, "course_code": "MATH1", "final_percentage": 50.0}
            ],
            "reasons": ["attendance", "failing"],
        }
        assert s1["student_id"] == world.s1.id
        assert s1["attendance"]["rate"] == pytest.approx(2 / 3)
        assert (s1["failing"], s1["reasons"]) == ([], ["attendance"])

    async def test_threshold_and_limits(self, client: AsyncClient, world: World) -> None:
        body = await dashboard(
            client, world.staff, attendance_threshold=0.5, at_risk_limit=0, activity_limit=0
        )
        # s1's 2/3 is no longer below the threshold: only the failing s2 is left.
        assert body["at_risk"]["total"] == 1 and body["at_risk"]["students"] == []
        assert body["recent_activity"] == []
        body = await dashboard(client, world.staff, attendance_threshold=0.5, at_risk_limit=5)
        assert [s["student_id"] for s in body["at_risk"]["students"]] == [world.s2.id]
        body = await dashboard(client, world.staff, days=1)
        assert [d["date"] for d in body["attendance"]["trend"]] == [TUESDAY.isoformat()]
        # The week still counts Monday.
        assert body["attendance"]["week"]["days"] == 2

    async def test_a_day_without_attendance(self, client: AsyncClient, world: World) -> None:
        body = await dashboard(client, world.staff, date="2026-10-12")
        attendance = body["attendance"]
        assert attendance["today"] == {
            "date": "2026-10-12",
            "present": 0,
            "absent": 0,
            "late": 0,
            "excused": 0,
            "total": 0,
            "rate": None,
        }
        assert attendance["week"]["days"] == 0 and attendance["week"]["rate"] is None
        assert [d["date"] for d in attendance["trend"]] == [
            MONDAY.isoformat(),
            TUESDAY.isoformat(),
        ]
        # Before any attendance: an empty trend.
        early = await dashboard(client, world.staff, date="2026-10-02")
        assert early["attendance"]["trend"] == []

    async def test_recent_activity_lists_the_schools_writes(
        self, client: AsyncClient, world: World
    ) -> None:
        r = await client.patch(
            f"{API}/students/{world.s3.id}", headers=world.staff, json={"first_name": "Ada"}
        )
        assert r.status_code == 200, r.text
        r = await client.post(
            f"{API}/students",
            headers=world.other_staff,
            json={
                "student_number": "T-1",
                "first_name": "Other",
                "last_name": "School",
                "email": "other.school@example.edu",
                "date_of_birth": "2011-02-03",
                "grade_level": 8,
            },
        )
        assert r.status_code == 201, r.text
        activity = (await dashboard(client, world.staff))["recent_activity"]
        assert [(a["action"], a["entity"], a["entity_id"]) for a in activity] == [
            ("update", "student", world.s3.id)
        ]
        assert activity[0]["actor_name"] and activity[0]["actor_id"]


class TestWhoSeesWhat:
    async def test_teachers_students_and_guardians_get_403(
        self, client: AsyncClient, world: World
    ) -> None:
        for headers in (world.teacher_a, world.s1_headers, world.guardian):
            r = await client.get(URL, headers=headers)
            assert r.status_code == 403, r.text
            assert r.headers["content-type"] == "application/problem+json"
        assert (await client.get(URL)).status_code == 401

    async def test_staff_see_their_own_school_only(self, client: AsyncClient, world: World) -> None:
        mine = await dashboard(client, world.staff, school_id=world.school.id)
        assert mine["students"]["total"] == 5
        theirs = await dashboard(client, world.other_staff)
        assert theirs["school_id"] == world.other_school.id
        assert theirs["students"]["total"] == 0 and theirs["grades_by_course"] == []
        assert theirs["at_risk"] == {"attendance_threshold": 0.9, "total": 0, "students": []}
        r = await client.get(URL, headers=world.other_staff, params={"school_id": world.school.id})
        assert r.status_code == 404

    async def test_an_admin_of_every_school(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        await factory.student(world.other_school)
        every = await dashboard(client, world.admin)
        assert every["school_id"] is None and every["school_name"] is None
        assert every["students"]["total"] == 6
        assert len(every["grades_by_course"]) == 2
        assert every["attendance"]["today"]["total"] == 4
        one = await dashboard(client, world.admin, school_id=world.other_school.id)
        assert one["school_id"] == world.other_school.id and one["students"]["total"] == 1
        r = await client.get(URL, headers=world.admin, params={"school_id": 999_999})
        assert r.status_code == 404


class TestParameters:
    @pytest.mark.parametrize(
        "params",
        [
            {"days": 0},
            {"days": 61},
            {"attendance_threshold": 0},
            {"attendance_threshold": 1.5},
            {"at_risk_limit": -1},
            {"activity_limit": 201},
            {"date": "2026-13-01"},
            {"school_id": "x"},
            {"school_id": 0},
        ],
    )
    async def test_bad_parameters_are_422(
        self, client: AsyncClient, world: World, params: dict[str, Any]
    ) -> None:
        r = await client.get(URL, headers=world.staff, params=params)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"][0] == "query"


class TestStatements:
    async def test_a_miss_is_at_most_four_statements_a_hit_none_on_sqlite(
        self, client: AsyncClient, db: Database, world: World, count_queries: CountQueries
    ) -> None:
        with count_queries() as statements:
            first = await client.get(URL, headers=world.staff)
        assert first.status_code == 200
        assert len(statements) <= 4, statements
        with count_queries() as statements:
            again = await client.get(URL, headers=world.staff)
        assert again.content == first.content
        assert len(statements) == (0 if db.is_sqlite else 1), statements

    async def test_the_count_does_not_grow_with_the_school(
        self,
        app: FastAPI,
        client: AsyncClient,
        factory: Factory,
        db: Database,
        world: World,
        count_queries: CountQueries,
    ) -> None:
        counts = []
        for extra in (0, 25):
            for _ in range(extra):
                student = await factory.student(world.school)
                await factory.enroll(student, world.x)
                await factory.attendance(world.x, student, TUESDAY, "absent")
            await app.state.cache.clear_local()
            with count_queries() as statements:
                r = await client.get(URL, headers=world.staff, params={"at_risk_limit": 100})
            assert r.status_code == 200
            counts.append(len(statements))
        assert r.json()["at_risk"]["total"] == 27
        assert counts[0] == counts[1] <= 4

    async def test_etag_and_304(self, client: AsyncClient, world: World) -> None:
        r = await client.get(URL, headers=world.staff)
        assert r.headers["cache-control"] == "private, no-cache"
        again = await client.get(URL, headers={**world.staff, "If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == r.headers["etag"]
