import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.attendance.conftest import API, DAY, NEXT_DAY, World, bulk_body
from tests.factories import Factory
from tests.fixture_types import CountQueries

THIRD_DAY = dt.date(2026, 9, 16)


async def take(client: AsyncClient, world: World, section: Any, day: dt.date, rows: Any) -> None:
    r = await client.post(
        f"{API}/attendance/bulk", headers=world.admin, json=bulk_body(section, day, rows)
    )
    assert r.status_code == 200, r.text


@pytest.fixture
async def history(client: AsyncClient, world: World) -> World:
    """students[0]: MATH present, late, absent; BIO excused. students[1]: MATH present x3.
    students[2]: MATH absent, absent, excused."""
    me, b, c = (s.id for s in world.students)
    await take(client, world, world.section, DAY, [(me, "present"), (b, "present"), (c, "absent")])
    await take(
        client, world, world.section, NEXT_DAY, [(me, "late"), (b, "present"), (c, "absent")]
    )
    await take(
        client, world, world.section, THIRD_DAY, [(me, "absent"), (b, "present"), (c, "excused")]
    )
    await take(
        client, world, world.other_section, DAY, [(me, "excused"), (world.outsider.id, "present")]
    )
    return world


class TestStudentAttendance:
    async def test_counts_and_rates_by_section(self, client: AsyncClient, history: World) -> None:
        me = history.students[0].id
        r = await client.get(f"{API}/students/{me}/attendance", headers=history.staff)
        assert r.status_code == 200, r.text
        assert "ETag" in r.headers
        body = r.json()
        assert body == {
            "student_id": me,
            "total": 4,
            "present": 1,
            "absent": 1,
            "late": 1,
            "excused": 1,
            "rate": 0.5,
            "by_section": [
                {
                    "section_id": history.other_section.id,
                    "course_code": "BIO-201",
                    "total": 1,
                    "present": 0,
                    "absent": 0,
                    "late": 0,
                    "excused": 1,
                    "rate": 0.0,
                },
                {
                    "section_id": history.section.id,
                    "course_code": "MATH-101",
                    "total": 3,
                    "present": 1,
                    "absent": 1,
                    "late": 1,
                    "excused": 0,
                    "rate": pytest.approx(2 / 3),
                },
            ],
        }

    async def test_date_range(self, client: AsyncClient, history: World) -> None:
        me = history.students[0].id
        r = await client.get(
            f"{API}/students/{me}/attendance",
            headers=history.admin,
            params={"date_from": NEXT_DAY.isoformat(), "date_to": NEXT_DAY.isoformat()},
        )
        body = r.json()
        assert (body["total"], body["late"], body["rate"]) == (1, 1, 1.0)
        assert [s["section_id"] for s in body["by_section"]] == [history.section.id]

    async def test_no_records_gives_null_rate(self, client: AsyncClient, world: World) -> None:
        r = await client.get(
            f"{API}/students/{world.students[1].id}/attendance", headers=world.staff
        )
        assert r.status_code == 200
        body = r.json()
        assert (body["total"], body["rate"], body["by_section"]) == (0, None, [])

    async def test_who_sees_what(self, client: AsyncClient, history: World) -> None:
        me, classmate = history.students[0].id, history.students[1].id

        async def get(student_id: int, headers: dict[str, str]) -> Any:
            return await client.get(f"{API}/students/{student_id}/attendance", headers=headers)

        for headers in (history.student_h, history.guardian_h):
            assert (await get(me, headers)).json()["total"] == 4
            assert (await get(classmate, headers)).status_code == 404
        assert (await get(me, history.foreign_staff)).status_code == 404
        assert (await get(999_999, history.admin)).status_code == 404
        # A teacher sees the student's attendance in their own sections only.
        mine = (await get(me, history.teacher_h)).json()
        assert [s["section_id"] for s in mine["by_section"]] == [history.section.id]
        assert mine["total"] == 3
        theirs = (await get(me, history.other_teacher_h)).json()
        assert [s["section_id"] for s in theirs["by_section"]] == [history.other_section.id]
        assert (await get(history.outsider.id, history.teacher_h)).status_code == 404

    async def test_at_most_two_statements(
        self, client: AsyncClient, history: World, count_queries: CountQueries
    ) -> None:
        with count_queries() as statements:
            r = await client.get(
                f"{API}/students/{history.students[0].id}/attendance",
                headers=history.guardian_h,
                params={"date_from": DAY.isoformat()},
            )
        assert r.status_code == 200
        assert len(statements) <= 3  # + the cache's version lookup on a miss

    def test_openapi_states_the_rate_definition(self, app: FastAPI) -> None:
        paths = app.openapi()["paths"]
        for path in (
            "/api/v1/students/{student_id}/attendance",
            "/api/v1/sections/{section_id}/attendance",
        ):
            assert "(present + late) / total" in paths[path]["get"]["description"]


class TestSectionAttendance:
    async def test_summary(self, client: AsyncClient, history: World) -> None:
        r = await client.get(
            f"{API}/sections/{history.section.id}/attendance", headers=history.teacher_h
        )
        assert r.status_code == 200, r.text
        assert "ETag" in r.headers
        body = r.json()
        assert body["section_id"] == history.section.id
        assert body["sessions"] == 3
        assert body["rate"] == pytest.approx(5 / 9)
        students = {s["student_id"]: s for s in body["by_student"]}
        me, b, c = (s.id for s in history.students)
        assert set(students) == {me, b, c}
        assert students[me] | {"rate": None} == {
            "student_id": me,
            "first_name": history.students[0].first_name,
            "last_name": history.students[0].last_name,
            "present": 1,
            "absent": 1,
            "late": 1,
            "excused": 0,
            "rate": None,
        }
        assert students[me]["rate"] == pytest.approx(2 / 3)
        assert students[b]["rate"] == 1.0 and students[c]["rate"] == 0.0
        assert body["by_date"] == [
            {"date": DAY.isoformat(), "present": 2, "absent": 1, "late": 0, "excused": 0},
            {"date": NEXT_DAY.isoformat(), "present": 1, "absent": 1, "late": 1, "excused": 0},
            {"date": THIRD_DAY.isoformat(), "present": 1, "absent": 1, "late": 0, "excused": 1},
        ]

    async def test_date_range(self, client: AsyncClient, history: World) -> None:
        r = await client.get(
            f"{API}/sections/{history.section.id}/attendance",
            headers=history.staff,
            params={"date_from": NEXT_DAY.isoformat()},
        )
        body = r.json()
        assert body["sessions"] == 2
        assert [d["date"] for d in body["by_date"]] == [NEXT_DAY.isoformat(), THIRD_DAY.isoformat()]

    async def test_empty_section(self, client: AsyncClient, world: World) -> None:
        r = await client.get(f"{API}/sections/{world.section.id}/attendance", headers=world.admin)
        assert r.json() == {
            "section_id": world.section.id,
            "sessions": 0,
            "rate": None,
            "by_student": [],
            "by_date": [],
        }

    async def test_who_may_see_it(self, client: AsyncClient, history: World) -> None:
        url = f"{API}/sections/{history.section.id}/attendance"
        assert (await client.get(url, headers=history.admin)).status_code == 200
        assert (await client.get(url, headers=history.staff)).status_code == 200
        assert (await client.get(url, headers=history.teacher_h)).status_code == 200
        # A student of the section (and their guardian) can see the section, not its summary.
        assert (await client.get(url, headers=history.student_h)).status_code == 403
        assert (await client.get(url, headers=history.guardian_h)).status_code == 403
        assert (await client.get(url, headers=history.other_teacher_h)).status_code == 404
        assert (await client.get(url, headers=history.foreign_staff)).status_code == 404
        missing = f"{API}/sections/999999/attendance"
        assert (await client.get(missing, headers=history.admin)).status_code == 404

    async def test_student_of_another_section_gets_404(
        self, client: AsyncClient, factory: Factory, history: World
    ) -> None:
        headers, _ = await factory.login_as("student", history.school)
        url = f"{API}/sections/{history.section.id}/attendance"
        assert (await client.get(url, headers=headers)).status_code == 404

    async def test_statements_do_not_grow_with_the_class(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        url = f"{API}/sections/{world.section.id}/attendance"
        counts = []
        for size in (1, 60):
            students = [await factory.student(world.school) for _ in range(size)]
            for s in students:
                await factory.enroll(s, world.section)
            day = DAY if size == 1 else NEXT_DAY
            await take(client, world, world.section, day, [(s.id, "present") for s in students])
            with count_queries() as statements:
                r = await client.get(url, headers=world.teacher_h)
            assert r.status_code == 200
            counts.append(len(statements))
        assert len(r.json()["by_student"]) == 61
        assert counts[0] == counts[1] <= 4
