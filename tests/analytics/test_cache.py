"""The cached dashboard is never stale: read it (a hit the second time), write through the API,
read again -> the new figures. In one process, and across two processes sharing Redis."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis
from httpx import AsyncClient
from prometheus_client import REGISTRY

from homeroom.app import create_app
from homeroom.config import Settings
from tests.analytics.conftest import API, MONDAY, TUESDAY, World

URL = f"{API}/analytics/dashboard"
PARAMS = {"date": TUESDAY.isoformat()}
REDIS_URL = os.environ.get("HOMEROOM_TEST_REDIS_URL")


def hits() -> float:
    return REGISTRY.get_sample_value("homeroom_cache_hits_total", {"region": "dashboard"}) or 0.0


async def read(client: AsyncClient, headers: dict[str, str]) -> Any:
    r = await client.get(URL, headers=headers, params=PARAMS)
    assert r.status_code == 200, r.text
    return r.json()


async def warm(client: AsyncClient, headers: dict[str, str]) -> Any:
    """Reads twice; the second read must come from the cache, so a write that failed to
    invalidate would show as a stale answer on the next read."""
    await read(client, headers)
    before = hits()
    body = await read(client, headers)
    assert hits() == before + 1, "the dashboard was not served from the cache"
    return body


async def ok(response: Any) -> Any:
    r = await response
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


class TestNeverStale:
    async def test_after_bulk_attendance(self, client: AsyncClient, world: World) -> None:
        before = await warm(client, world.staff)
        assert before["attendance"]["today"]["absent"] == 1
        await ok(
            client.post(
                f"{API}/attendance/bulk",
                headers=world.teacher_a,
                json={
                    "section_id": world.x.id,
                    "date": TUESDAY.isoformat(),
                    "records": [
                        {"student_id": world.s1.id, "status": "present"},
                        {"student_id": world.s2.id, "status": "present"},
                        {"student_id": world.s3.id, "status": "present"},
                    ],
                },
            )
        )
        after = await warm(client, world.staff)
        assert after["attendance"]["today"]["absent"] == 0
        assert after["attendance"]["today"]["present"] == 3
        # s2 now attended 1 of 2: still below 0.9, still failing.
        risk = {s["student_id"]: s for s in after["at_risk"]["students"]}
        assert risk[world.s2.id]["attendance"]["present"] == 1
        assert after["recent_activity"][0]["entity"] == "attendance_session"

    async def test_after_grade_writes(self, client: AsyncClient, world: World) -> None:
        def math(body: Any) -> Any:
            return next(c for c in body["grades_by_course"] if c["code"] == "MATH1")["letters"]

        assert math(await warm(client, world.staff))["F"] == 1
        # s2: 90 on the test, 5/10 homework -> 60*.9 + 40*.5 = 74 -> C.
        await ok(
            client.post(
                f"{API}/grades/bulk",
                headers=world.teacher_a,
                json={
                    "assessment_id": world.ids["test"],
                    "grades": [{"student_id": world.s2.id, "score": 90}],
                },
            )
        )
        body = await warm(client, world.staff)
        assert math(body) == {"A": 1, "B": 0, "C": 2, "D": 0, "F": 0}
        assert world.s2.id in {s["student_id"] for s in body["at_risk"]["students"]}
        assert body["at_risk"]["students"][0]["failing"] == []
        # A single grade, then its deletion.
        grade = await ok(
            client.post(
                f"{API}/grades",
                headers=world.teacher_a,
                json={"assessment_id": world.ids["hw2"], "student_id": world.s3.id, "score": 0},
            )
        )
        # s3: 75 test, 0/10 homework -> 60*.75 = 45 -> F.
        assert math(await warm(client, world.staff))["F"] == 1
        await ok(client.delete(f"{API}/grades/{grade['id']}", headers=world.teacher_a))
        assert math(await warm(client, world.staff))["F"] == 0

    async def test_after_assessment_and_category_writes(
        self, client: AsyncClient, world: World
    ) -> None:
        def math(body: Any) -> Any:
            return next(c for c in body["grades_by_course"] if c["code"] == "MATH1")["letters"]

        assert math(await warm(client, world.staff)) == {"A": 1, "B": 0, "C": 1, "D": 0, "F": 1}
        # Out of 190 instead of 100: s1 60*95/190 + 40*.9 = 66 D, s2 35.79 F, s3 39.47 F.
        await ok(
            client.patch(
                f"{API}/assessments/{world.ids['test']}",
                headers=world.teacher_a,
                json={"max_points": 190},
            )
        )
        assert math(await warm(client, world.staff)) == {"A": 0, "B": 0, "C": 0, "D": 1, "F": 2}
        await ok(client.delete(f"{API}/assessments/{world.ids['test']}", headers=world.teacher_a))
        # Homework alone: s1 90 A, s2 50 F, s3 nothing graded.
        body = await warm(client, world.staff)
        assert math(body) == {"A": 1, "B": 0, "C": 0, "D": 0, "F": 1}
        assert next(c for c in body["grades_by_course"] if c["code"] == "MATH1")["graded"] == 2

    async def test_after_a_new_student_an_archive_and_a_restore(
        self, client: AsyncClient, world: World
    ) -> None:
        assert (await warm(client, world.staff))["students"]["active"] == 3
        created = await ok(
            client.post(
                f"{API}/students",
                headers=world.staff,
                json={
                    "student_number": "N-1",
                    "first_name": "New",
                    "last_name": "Comer",
                    "email": "new.comer@example.edu",
                    "date_of_birth": "2011-02-03",
                    "grade_level": 9,
                },
            )
        )
        assert (await warm(client, world.staff))["students"]["active"] == 4
        await ok(client.delete(f"{API}/students/{world.s2.id}", headers=world.staff))
        body = await warm(client, world.staff)
        assert (body["students"]["active"], body["students"]["archived"]) == (3, 2)
        # An archived student is no longer at risk.
        assert [s["student_id"] for s in body["at_risk"]["students"]] == [world.s1.id]
        await ok(client.post(f"{API}/students/{world.s2.id}/restore", headers=world.staff))
        body = await warm(client, world.staff)
        assert body["students"]["archived"] == 1 and body["at_risk"]["total"] == 2
        await ok(
            client.patch(
                f"{API}/students/{created['id']}", headers=world.staff, json={"status": "withdrawn"}
            )
        )
        assert (await read(client, world.staff))["students"]["withdrawn"] == 1

    async def test_after_enrollment_writes(self, client: AsyncClient, world: World) -> None:
        def term(body: Any) -> Any:
            return body["enrollments_by_term"][0]

        assert term(await warm(client, world.staff))["enrolled"] == 4
        await ok(
            client.post(
                f"{API}/enrollments",
                headers=world.staff,
                json={"student_id": world.s2.id, "section_id": world.y.id},
            )
        )
        body = await warm(client, world.staff)
        assert term(body)["enrolled"] == 5
        enrollment = (
            await ok(client.get(f"{API}/enrollments?student_id={world.s1.id}", headers=world.staff))
        )["items"]
        x = next(e for e in enrollment if e["section_id"] == world.x.id)
        await ok(
            client.patch(
                f"{API}/enrollments/{x['id']}", headers=world.staff, json={"status": "completed"}
            )
        )
        body = await warm(client, world.staff)
        assert (term(body)["enrolled"], term(body)["completed"]) == (4, 1)

    async def test_after_a_course_rename(self, client: AsyncClient, world: World) -> None:
        await warm(client, world.staff)
        await ok(
            client.patch(
                f"{API}/courses/{world.ids['math']}", headers=world.staff, json={"code": "MATH9"}
            )
        )
        codes = {c["code"] for c in (await read(client, world.staff))["grades_by_course"]}
        assert codes == {"ART1", "MATH9"}

    async def test_an_admin_of_every_school_is_never_stale_either(
        self, client: AsyncClient, world: World
    ) -> None:
        assert (await warm(client, world.admin))["students"]["total"] == 5
        await ok(
            client.post(
                f"{API}/students",
                headers=world.other_staff,
                json={
                    "student_number": "O-1",
                    "first_name": "Other",
                    "last_name": "Student",
                    "email": "other.student@example.edu",
                    "date_of_birth": "2011-02-03",
                    "grade_level": 9,
                },
            )
        )
        assert (await read(client, world.admin))["students"]["total"] == 6


# --- two processes sharing Redis ---------------------------------------------------------------


@asynccontextmanager
async def process(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another Homeroom process on the same database: its own app, memory store and reader."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@pytest.mark.skipif(REDIS_URL is None, reason="HOMEROOM_TEST_REDIS_URL is not set")
@pytest.mark.xdist_group("redis")
class TestRedis:
    async def test_two_processes_share_entries_and_neither_is_ever_stale(
        self, settings: Settings, world: World
    ) -> None:
        assert REDIS_URL is not None
        redis.Redis.from_url(REDIS_URL).flushdb()
        shared = settings.model_copy(update={"redis_url": REDIS_URL})
        async with process(shared) as one, process(shared) as two:
            first = await read(one, world.staff)
            # The second process's memory is empty: its hit comes from Redis.
            before = hits()
            assert await read(two, world.staff) == first
            assert hits() == before + 1
            r = await one.post(
                f"{API}/attendance/bulk",
                headers=world.teacher_a,
                json={
                    "section_id": world.x.id,
                    "date": TUESDAY.isoformat(),
                    "records": [{"student_id": world.s2.id, "status": "late"}],
                },
            )
            assert r.status_code == 200, r.text
            for client in (two, one):
                today = (await read(client, world.staff))["attendance"]["today"]
                assert (today["absent"], today["late"]) == (0, 1)
            r = await two.post(
                f"{API}/grades/bulk",
                headers=world.teacher_a,
                json={
                    "assessment_id": world.ids["hw1"],
                    "grades": [{"student_id": world.s1.id, "score": 0}],
                },
            )
            assert r.status_code == 200, r.text
            # s1: 60*.95 + 40*0 = 57 -> F.
            for client in (one, two):
                body = await read(client, world.staff)
                math = next(c for c in body["grades_by_course"] if c["code"] == "MATH1")
                assert math["letters"]["F"] == 2


class TestDeletedAttendance:
    async def test_a_day_whose_records_are_all_deleted_leaves_the_trend(
        self, client: AsyncClient, world: World
    ) -> None:
        body = await warm(client, world.staff)
        assert [d["date"] for d in body["attendance"]["trend"]] == [
            MONDAY.isoformat(),
            TUESDAY.isoformat(),
        ]
        records = await ok(
            client.get(
                f"{API}/attendance",
                headers=world.staff,
                params={"date": MONDAY.isoformat(), "limit": 10},
            )
        )
        assert len(records["items"]) == 3
        for record in records["items"]:
            await ok(client.delete(f"{API}/attendance/{record['id']}", headers=world.teacher_a))
        body = await warm(client, world.staff)
        assert [d["date"] for d in body["attendance"]["trend"]] == [TUESDAY.isoformat()]
        assert body["attendance"]["week"]["days"] == 1
