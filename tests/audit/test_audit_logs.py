from typing import Any

import pytest
from httpx import AsyncClient

from homeroom.models import AuditLog
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = "/api/v1/audit-logs"


async def _entry(factory: Factory, school: Any, **kw: Any) -> AuditLog:
    values = {
        "school_id": school.id if school else None,
        "action": "update",
        "entity": "course",
        "entity_id": 1,
        "details": {"title": "x"},
    }
    return await factory.save(AuditLog(**(values | kw)))


class TestWritesLeaveAuditRows:
    async def test_student_create_and_patch_are_listed(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, admin = await factory.login_as("admin", school)
        r = await client.post(
            "/api/v1/students",
            headers=headers,
            json={
                "student_number": "A-1",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.edu",
                "date_of_birth": "2011-02-03",
                "grade_level": 8,
            },
        )
        assert r.status_code == 201, r.text
        student_id = r.json()["id"]
        r = await client.patch(
            f"/api/v1/students/{student_id}", headers=headers, json={"grade_level": 9}
        )
        assert r.status_code == 200, r.text
        r = await client.get(
            URL, headers=headers, params={"entity": "student", "entity_id": student_id}
        )
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [i["action"] for i in items] == ["update", "create"]  # newest first
        assert all(i["actor_id"] == admin.id and i["school_id"] == school.id for i in items)
        assert items[0]["details"] == {"grade_level": 9}
        assert items[1]["details"]["email"] == "ada@example.edu"
        detail = await client.get(f"{URL}/{items[0]['id']}", headers=headers)
        assert detail.status_code == 200
        assert detail.json() == items[0]
        assert "ETag" in detail.headers

    async def test_staff_sees_teacher_writes(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, staff = await factory.login_as("staff", school)
        r = await client.post(
            "/api/v1/teachers",
            headers=headers,
            json={"first_name": "A", "last_name": "B", "email": "ab@example.edu"},
        )
        assert r.status_code == 201, r.text
        r = await client.get(URL, headers=headers, params={"actor_id": staff.id})
        assert [(i["entity"], i["action"]) for i in r.json()["items"]] == [("teacher", "create")]


class TestListAuditLogs:
    async def test_scoped_to_school(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("staff", school)
        mine = await _entry(factory, school)
        foreign = await _entry(factory, other)
        global_entry = await _entry(factory, None)
        r = await client.get(URL, headers=headers)
        assert [i["id"] for i in r.json()["items"]] == [mine.id]
        assert (await client.get(f"{URL}/{foreign.id}", headers=headers)).status_code == 404
        assert (await client.get(f"{URL}/{global_entry.id}", headers=headers)).status_code == 404

    async def test_all_schools_admin_sees_everything(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers = factory.headers(await factory.user("admin", None))
        for s in (school, other, None):
            await _entry(factory, s)
        r = await client.get(URL, headers=headers)
        assert r.json()["total"] == 3

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_other_roles_are_403(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as(role, school)
        entry = await _entry(factory, school)
        assert (await client.get(URL, headers=headers)).status_code == 403
        assert (await client.get(f"{URL}/{entry.id}", headers=headers)).status_code == 403

    async def test_filters(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, admin = await factory.login_as("admin", school)
        await _entry(factory, school, entity="grade", entity_id=5, action="create")
        await _entry(factory, school, entity="grade", entity_id=6, action="update")
        await _entry(factory, school, entity="course", entity_id=5, actor_id=admin.id)
        cases: list[tuple[dict[str, Any], int]] = [
            ({"entity": "grade"}, 2),
            ({"entity": "grade", "entity_id": 5}, 1),
            ({"action": "update"}, 2),
            ({"actor_id": admin.id}, 1),
            ({"entity": "grade", "action": "delete"}, 0),
        ]
        for params, expected in cases:
            r = await client.get(URL, headers=headers, params=params)
            assert r.status_code == 200, r.text
            assert r.json()["total"] == expected, params
        for bad in ("abc", str(2**40)):
            r = await client.get(URL, headers=headers, params={"entity_id": bad})
            assert r.status_code == 422
            assert r.json()["errors"][0]["loc"] == ["query", "entity_id"]

    async def test_keyset_newest_first(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        ids = [(await _entry(factory, school)).id for _ in range(5)]
        seen: list[int] = []
        params: dict[str, Any] = {"limit": 2}
        while True:
            r = await client.get(URL, headers=headers, params=params)
            body = r.json()
            assert body["total"] == 5
            seen += [i["id"] for i in body["items"]]
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]
        assert seen == sorted(ids, reverse=True)
        r = await client.get(URL, headers=headers, params={"sort": "created_at", "limit": 5})
        assert [i["id"] for i in r.json()["items"]] == ids

    async def test_unknown_sort_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.get(URL, headers=headers, params={"sort": "action"})
        assert r.status_code == 422

    async def test_query_count_is_constant(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        entries = [await _entry(factory, school) for _ in range(3)]
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(URL, headers=headers, params={"limit": limit})
            assert r.status_code == 200
            counts.append(len(statements))
        with count_queries() as statements:
            assert (await client.get(f"{URL}/{entries[0].id}", headers=headers)).status_code == 200
        assert counts[0] <= 2 and counts[1] <= 2 and len(statements) == 1, counts
