"""The response cache: hits cost (almost) no SQL, and no answer is ever older than the last
acknowledged write. Every cached endpoint: read (fills the cache), write through the API,
read again -> the new value."""

import datetime as dt
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import structlog
from fastapi import FastAPI
from httpx import AsyncClient
from prometheus_client import REGISTRY
from sqlalchemy import delete

from homeroom.config import Settings
from homeroom.kit import tags as tag
from homeroom.kit.cache import EPOCH, ResponseCache
from homeroom.kit.db import Database
from homeroom.models import CacheVersion, School
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.live import free_port

API = "/api/v1"
REDIS_URL = os.environ.get("HOMEROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
DAY = dt.date(2026, 10, 5)


@dataclass
class World:
    staff: dict[str, str]
    teacher: dict[str, str]
    teacher_id: int
    student: dict[str, str]
    student_id: int
    guardian: dict[str, str]
    guardian_id: int
    other_teacher_id: int
    course_id: int
    section_id: int
    assessment_id: int

    def urls(self) -> dict[str, str]:
        return {
            "course": f"{API}/courses/{self.course_id}",
            "section": f"{API}/sections/{self.section_id}",
            "student_grades": f"{API}/students/{self.student_id}/grades",
            "student_attendance": f"{API}/students/{self.student_id}/attendance",
            "section_attendance": f"{API}/sections/{self.section_id}/attendance",
        }


@pytest.fixture
async def world(factory: Factory, db: Database, app: FastAPI) -> World:
    school = await factory.school()
    staff, _ = await factory.login_as("staff", school)
    teacher_headers, teacher = await factory.login_as("teacher", school)
    student_headers, student = await factory.login_as("student", school)
    guardian_headers, guardian = await factory.login_as("guardian", school)
    other = await factory.teacher(school)
    async with db.sessionmaker() as session:
        from homeroom.models import StudentGuardian

        session.add(StudentGuardian(guardian_id=guardian.id, student_id=student.id))
        await session.commit()
    course = await factory.course(await factory.term(school), published=True)
    section = await factory.section(course, teacher)
    enrollment = await factory.enroll(student, section)
    category = await factory.category(section, "Tests", 1.0)
    assessment = await factory.assessment(section, category, max_points=10)
    await factory.grade(enrollment, assessment, 5)
    await factory.attendance(section, student, DAY, "present")
    # The per-test cleanup empties cache_versions, epoch included; a serving process writes
    # its epoch at start. Without one nothing is cached, so these tests put it back.
    await app.state.cache.ensure_epoch()
    return World(
        staff=staff,
        teacher=teacher_headers,
        teacher_id=teacher.id,
        student=student_headers,
        student_id=student.id,
        guardian=guardian_headers,
        guardian_id=guardian.id,
        other_teacher_id=other.id,
        course_id=course.id,
        section_id=section.id,
        assessment_id=assessment.id,
    )


def hits(region: str) -> float:
    return REGISTRY.get_sample_value("homeroom_cache_hits_total", {"region": region}) or 0.0


def misses(region: str) -> float:
    return REGISTRY.get_sample_value("homeroom_cache_misses_total", {"region": region}) or 0.0


async def read(client: AsyncClient, url: str, headers: dict[str, str]) -> Any:
    r = await client.get(url, headers=headers)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


async def warm(client: AsyncClient, url: str, headers: dict[str, str], region: str) -> Any:
    """Reads twice; the second read must be a hit (so the next read would be stale if a
    write forgot to invalidate)."""
    await read(client, url, headers)
    before = hits(region)
    body = await read(client, url, headers)
    assert hits(region) == before + 1, f"{url} was not served from the cache"
    return body


class TestHits:
    async def test_a_hit_issues_no_statement_on_sqlite_and_one_on_postgresql(
        self, client: AsyncClient, db: Database, world: World, count_queries: CountQueries
    ) -> None:
        for region, url in world.urls().items():
            first = await client.get(url, headers=world.staff)
            assert first.status_code == 200, first.text
            before = hits(region), misses(region)
            with count_queries() as statements:
                again = await client.get(url, headers=world.staff)
            assert (hits(region), misses(region)) == (before[0] + 1, before[1])
            assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
            assert len(statements) == (0 if db.is_sqlite else 1), (url, statements)

    async def test_if_none_match_from_the_cache_is_a_304(
        self, client: AsyncClient, world: World
    ) -> None:
        url = world.urls()["student_grades"]
        etag = (await client.get(url, headers=world.staff)).headers["etag"]
        r = await client.get(url, headers={**world.staff, "If-None-Match": etag})
        assert r.status_code == 304 and r.headers["etag"] == etag and r.content == b""
        assert r.headers["cache-control"] == "private, no-cache"

    async def test_the_callers_scope_is_in_the_key(
        self, client: AsyncClient, factory: Factory, db: Database, world: World
    ) -> None:
        """Staff filled the cache; a teacher of other sections and another student still get
        404, and the student and guardian get their own view."""
        urls = world.urls()
        await warm(client, urls["student_grades"], world.staff, "student_grades")
        await warm(client, urls["student_attendance"], world.staff, "student_attendance")
        school_id = (await read(client, urls["section"], world.staff))["school_id"]
        school = await _school(factory, school_id)
        outsider_headers, _ = await factory.login_as("teacher", school)
        stranger_headers, _ = await factory.login_as("student", school)
        for url in (urls["student_grades"], urls["student_attendance"], urls["section"]):
            assert (await client.get(url, headers=outsider_headers)).status_code == 404
            assert (await client.get(url, headers=stranger_headers)).status_code == 404
        own = await read(client, urls["student_grades"], world.student)
        assert own["student_id"] == world.student_id
        assert (await read(client, urls["student_grades"], world.guardian)) == own

    async def test_without_an_epoch_nothing_is_cached(
        self, client: AsyncClient, db: Database, world: World
    ) -> None:
        async with db.engine.begin() as conn:
            await conn.execute(delete(CacheVersion).where(CacheVersion.tag == EPOCH))
        url = world.urls()["course"]
        before = hits("course"), misses("course")
        for _ in range(3):
            await read(client, url, world.staff)
        assert (hits("course"), misses("course")) == (before[0], before[1] + 3)


async def _school(factory: Factory, school_id: int) -> School:
    async with factory.db.sessionmaker() as session:
        school = await session.get(School, school_id)
    assert school is not None
    return school


class TestNeverStale:
    async def test_course_page_after_a_course_change(
        self, client: AsyncClient, world: World
    ) -> None:
        url = world.urls()["course"]
        await warm(client, url, world.student, "course")
        r = await client.patch(url, headers=world.staff, json={"title": "Renamed course"})
        assert r.status_code == 200, r.text
        assert (await read(client, url, world.student))["title"] == "Renamed course"
        r = await client.patch(url, headers=world.staff, json={"published": False})
        assert r.status_code == 200, r.text
        assert (await client.get(url, headers=world.student)).status_code == 404

    async def test_section_page_after_section_course_teacher_and_enrollment_writes(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        urls = world.urls()
        url = urls["section"]
        await warm(client, url, world.staff, "section")
        r = await client.patch(url, headers=world.staff, json={"room": "B-12"})
        assert r.status_code == 200, r.text
        assert (await warm(client, url, world.staff, "section"))["room"] == "B-12"

        r = await client.patch(urls["course"], headers=world.staff, json={"title": "New title"})
        assert r.status_code == 200, r.text
        assert (await warm(client, url, world.staff, "section"))["course_title"] == "New title"

        r = await client.patch(
            f"{API}/teachers/{world.teacher_id}", headers=world.staff, json={"last_name": "Newname"}
        )
        assert r.status_code == 200, r.text
        body = await warm(client, url, world.staff, "section")
        assert body["teacher_name"].endswith("Newname")

        newcomer = await factory.student(await _school(factory, body["school_id"]))
        count = body["enrolled_count"]
        r = await client.post(
            f"{API}/enrollments",
            headers=world.staff,
            json={"student_id": newcomer.id, "section_id": world.section_id},
        )
        assert r.status_code == 201, r.text
        assert (await read(client, url, world.staff))["enrolled_count"] == count + 1

    async def test_student_grades_after_grade_assessment_and_course_writes(
        self, client: AsyncClient, world: World
    ) -> None:
        url = world.urls()["student_grades"]

        def line(body: dict[str, Any]) -> dict[str, Any]:
            grades: list[dict[str, Any]] = body["sections"][0]["grades"]
            return grades[0]

        assert line(await warm(client, url, world.student, "student_grades"))["score"] == 5
        r = await client.post(
            f"{API}/grades/bulk",
            headers=world.teacher,
            json={
                "assessment_id": world.assessment_id,
                "grades": [{"student_id": world.student_id, "score": 9}],
            },
        )
        assert r.status_code == 200, r.text
        assert line(await warm(client, url, world.student, "student_grades"))["score"] == 9

        r = await client.patch(
            f"{API}/assessments/{world.assessment_id}",
            headers=world.teacher,
            json={"title": "Renamed quiz"},
        )
        assert r.status_code == 200, r.text
        body = await warm(client, url, world.student, "student_grades")
        assert line(body)["title"] == "Renamed quiz"

        r = await client.patch(
            world.urls()["course"], headers=world.staff, json={"code": "NEW-101"}
        )
        assert r.status_code == 200, r.text
        body = await read(client, url, world.student)
        assert body["sections"][0]["course_code"] == "NEW-101"

    async def test_student_grades_after_enrollment_and_guardian_link_changes(
        self, client: AsyncClient, world: World
    ) -> None:
        url = world.urls()["student_grades"]
        await warm(client, url, world.guardian, "student_grades")
        r = await client.delete(
            f"{API}/guardians/{world.guardian_id}/students/{world.student_id}",
            headers=world.staff,
        )
        assert r.status_code == 204, r.text
        assert (await client.get(url, headers=world.guardian)).status_code == 404

        assert len((await warm(client, url, world.staff, "student_grades"))["sections"]) == 1
        enrollments = await read(
            client, f"{API}/enrollments?student_id={world.student_id}", world.staff
        )
        enrollment_id = enrollments["items"][0]["id"]
        r = await client.patch(
            f"{API}/enrollments/{enrollment_id}", headers=world.staff, json={"status": "dropped"}
        )
        assert r.status_code == 200, r.text
        assert (await read(client, url, world.staff))["sections"] == []

    async def test_teacher_view_after_the_section_changes_teacher(
        self, client: AsyncClient, world: World
    ) -> None:
        url = world.urls()["student_grades"]
        assert len((await warm(client, url, world.teacher, "student_grades"))["sections"]) == 1
        r = await client.patch(
            world.urls()["section"],
            headers=world.staff,
            json={"teacher_id": world.other_teacher_id},
        )
        assert r.status_code == 200, r.text
        assert (await client.get(url, headers=world.teacher)).status_code == 404

    async def test_student_attendance_after_attendance_writes(
        self, client: AsyncClient, world: World
    ) -> None:
        url = world.urls()["student_attendance"]
        body = await warm(client, url, world.student, "student_attendance")
        assert (body["total"], body["absent"]) == (1, 0)
        r = await client.post(
            f"{API}/attendance",
            headers=world.teacher,
            json={
                "section_id": world.section_id,
                "student_id": world.student_id,
                "date": str(DAY + dt.timedelta(days=1)),
                "status": "absent",
            },
        )
        assert r.status_code == 201, r.text
        record_id = r.json()["id"]
        body = await warm(client, url, world.student, "student_attendance")
        assert (body["total"], body["absent"]) == (2, 1)
        r = await client.patch(
            f"{API}/attendance/{record_id}", headers=world.teacher, json={"status": "late"}
        )
        assert r.status_code == 200, r.text
        body = await warm(client, url, world.student, "student_attendance")
        assert (body["absent"], body["late"]) == (0, 1)
        r = await client.delete(f"{API}/attendance/{record_id}", headers=world.teacher)
        assert r.status_code == 204, r.text
        assert (await read(client, url, world.student))["total"] == 1

    async def test_section_attendance_after_bulk_attendance_and_a_renamed_student(
        self, client: AsyncClient, world: World
    ) -> None:
        url = world.urls()["section_attendance"]
        body = await warm(client, url, world.teacher, "section_attendance")
        assert body["sessions"] == 1
        r = await client.post(
            f"{API}/attendance/bulk",
            headers=world.teacher,
            json={
                "section_id": world.section_id,
                "date": str(DAY + dt.timedelta(days=2)),
                "records": [{"student_id": world.student_id, "status": "excused"}],
            },
        )
        assert r.status_code == 200, r.text
        body = await warm(client, url, world.teacher, "section_attendance")
        assert body["sessions"] == 2 and body["by_student"][0]["excused"] == 1
        r = await client.patch(
            f"{API}/students/{world.student_id}", headers=world.staff, json={"first_name": "Zed"}
        )
        assert r.status_code == 200, r.text
        assert (await read(client, url, world.teacher))["by_student"][0]["first_name"] == "Zed"


# --- Redis --------------------------------------------------------------------------------------


def _redis_settings(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"redis_url": url})


async def _counted_build() -> tuple[list[int], Callable[[], Awaitable[bytes]]]:
    calls: list[int] = []

    async def build() -> bytes:
        calls.append(1)
        return b'{"n":%d}' % len(calls)

    return calls, build


@pytest.mark.xdist_group("redis")
class TestRedis:
    async def test_entries_are_shared_through_redis(
        self, settings: Settings, db: Database, world: World
    ) -> None:
        redis.Redis.from_url(REDIS_URL).flushdb()
        one, two = (ResponseCache(db, _redis_settings(settings, REDIS_URL)) for _ in range(2))
        await one.start()
        await two.start()
        try:
            calls, build = await _counted_build()
            first = await one.cached("course", ("k",), (tag.course(1),), build)
            # Another process (its own memory store) finds the entry in Redis.
            assert await two.cached("course", ("k",), (tag.course(1),), build) == first
            assert len(calls) == 1
        finally:
            await one.close()
            await two.close()

    async def test_redis_down_means_misses_and_one_warning_never_an_error(
        self, settings: Settings, db: Database, world: World
    ) -> None:
        down = ResponseCache(db, _redis_settings(settings, f"redis://127.0.0.1:{free_port()}/1"))
        with structlog.testing.capture_logs() as logs:
            await down.start()
            try:
                calls, build = await _counted_build()
                for _ in range(3):
                    await down.clear_local()
                    entry = await down.cached("course", ("k",), (tag.course(1),), build)
                    assert entry[1].startswith(b'{"n":')
            finally:
                await down.close()
        assert len(calls) == 3
        warnings = [e for e in logs if e["log_level"] == "warning"]
        assert len(warnings) == 1 and "redis" in warnings[0]["event"]

    async def test_the_app_serves_with_redis_down(
        self, settings: Settings, app: FastAPI, client: AsyncClient, db: Database, world: World
    ) -> None:
        """The app's own cache pointed at a closed port: every cached endpoint still answers."""
        original = app.state.cache
        down = ResponseCache(db, _redis_settings(settings, f"redis://127.0.0.1:{free_port()}/1"))
        app.state.cache = down
        await down.start()
        try:
            for url in world.urls().values():
                for _ in range(2):
                    assert (await client.get(url, headers=world.staff)).status_code == 200
        finally:
            await down.close()
            app.state.cache = original
