"""GET /analytics/me is served from the cache for a student and never stale after grade,
attendance and assessment writes; a guardian's page is built each time and shows them too."""

from typing import Any

from httpx import AsyncClient
from prometheus_client import REGISTRY

from tests.analytics.conftest import API, TUESDAY, World

URL = f"{API}/analytics/me"
PARAMS = {"date": TUESDAY.isoformat()}


def hits() -> float:
    return REGISTRY.get_sample_value("homeroom_cache_hits_total", {"region": "analytics_me"}) or 0.0


async def warm(client: AsyncClient, headers: dict[str, str]) -> Any:
    """Reads twice; the second read must be a hit, so a write that failed to invalidate would
    show as a stale answer on the next read."""
    first = await client.get(URL, headers=headers, params=PARAMS)
    assert first.status_code == 200, first.text
    before = hits()
    again = await client.get(URL, headers=headers, params=PARAMS)
    assert hits() == before + 1, "not served from the cache"
    assert again.content == first.content
    return again.json()


async def read(client: AsyncClient, headers: dict[str, str]) -> Any:
    r = await client.get(URL, headers=headers, params=PARAMS)
    assert r.status_code == 200, r.text
    return r.json()


def student(body: Any, student_id: int) -> Any:
    return next(s for s in body["students"] if s["student_id"] == student_id)


def section(entry: Any, section_id: int) -> Any:
    return next(g for g in entry["grades"] if g["section_id"] == section_id)


async def ok(response: Any) -> None:
    r = await response
    assert r.status_code < 300, r.text


class TestMeNeverStale:
    async def test_grades_and_attendance_reach_the_student_and_the_guardian(
        self, client: AsyncClient, world: World
    ) -> None:
        mine = student(await warm(client, world.s1_headers), world.s1.id)
        theirs = student(await read(client, world.guardian), world.s2.id)
        assert section(mine, world.x.id)["final_percentage"] is not None
        await ok(
            client.post(
                f"{API}/grades/bulk",
                headers=world.teacher_a,
                json={
                    "assessment_id": world.ids["hw2"],
                    "grades": [
                        {"student_id": world.s1.id, "score": 0},
                        {"student_id": world.s2.id, "score": 10},
                    ],
                },
            )
        )
        after = student(await warm(client, world.s1_headers), world.s1.id)
        assert (
            section(after, world.x.id)["final_percentage"]
            < section(mine, world.x.id)["final_percentage"]
        )
        child = student(await read(client, world.guardian), world.s2.id)
        assert (
            section(child, world.x.id)["final_percentage"]
            > section(theirs, world.x.id)["final_percentage"]
        )
        await ok(
            client.post(
                f"{API}/attendance/bulk",
                headers=world.teacher_a,
                json={
                    "section_id": world.x.id,
                    "date": TUESDAY.isoformat(),
                    "records": [{"student_id": world.s1.id, "status": "absent"}],
                },
            )
        )
        marked = student(await warm(client, world.s1_headers), world.s1.id)
        assert marked["attendance"]["absent"] == after["attendance"]["absent"] + 1

    async def test_an_assessment_change_shows(self, client: AsyncClient, world: World) -> None:
        mine = student(await warm(client, world.s1_headers), world.s1.id)
        titles = {a["title"] for a in mine["upcoming"]}
        await ok(
            client.patch(
                f"{API}/assessments/{world.ids['hw2']}",
                headers=world.teacher_a,
                json={"title": "Renamed homework"},
            )
        )
        after = student(await warm(client, world.s1_headers), world.s1.id)
        assert "Renamed homework" in {a["title"] for a in after["upcoming"]} - titles

    async def test_a_guardian_page_is_not_cached(self, client: AsyncClient, world: World) -> None:
        before = hits()
        await read(client, world.guardian)
        await read(client, world.guardian)
        assert hits() == before
