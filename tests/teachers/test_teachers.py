from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from homeroom.models import AuditLog, Teacher
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = "/api/v1/teachers"
ROLES = ["admin", "staff", "teacher", "student", "guardian"]


def _body(**kw: Any) -> dict[str, Any]:
    return {
        "first_name": "Alan",
        "last_name": "Turing",
        "email": "alan@example.edu",
        "department": "Mathematics",
    } | kw


async def _audits(factory: Factory, entity_id: int, action: str) -> int:
    async with factory.db.sessionmaker() as session:
        stmt = (
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity == "teacher", AuditLog.entity_id == entity_id)
            .where(AuditLog.action == action)
        )
        return int(await session.scalar(stmt) or 0)


class TestListTeachers:
    @pytest.mark.parametrize("role", ROLES)
    async def test_every_role_reads_own_school(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as(role, school)
        await factory.teacher(school)
        foreign = await factory.teacher(other)
        r = await client.get(URL, headers=headers)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert items and {i["school_id"] for i in items} == {school.id}
        assert "ETag" in r.headers
        assert (await client.get(f"{URL}/{foreign.id}", headers=headers)).status_code == 404

    async def test_search_and_department_filter(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        await factory.teacher(school, last_name="Noether", department="Mathematics")
        await factory.teacher(school, first_name="Marie", department="Science")
        await factory.teacher(school, email="ada_l@example.edu", department="Computing")
        await factory.teacher(school, email="adaxl@example.edu", department="Computing")
        cases: list[tuple[dict[str, str], int]] = [
            ({"q": "noeth"}, 1),
            ({"q": "MARIE"}, 1),
            ({"q": "ada_l"}, 1),
            ({"department": "Computing"}, 2),
            ({"department": "Computing", "q": "adax"}, 1),
            ({"department": "Art"}, 0),
        ]
        for params, expected in cases:
            r = await client.get(URL, headers=headers, params=params)
            assert r.status_code == 200, r.text
            assert r.json()["total"] == expected, params

    async def test_sort_and_keyset(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        for name in ("Cole", "Adams", "Baker", "Adams"):
            await factory.teacher(school, last_name=name)
        r = await client.get(URL, headers=headers, params={"sort": "last_name"})
        assert [i["last_name"] for i in r.json()["items"]] == ["Adams", "Adams", "Baker", "Cole"]
        seen: list[int] = []
        params: dict[str, Any] = {"sort": "-id", "limit": 3}
        while True:
            body = (await client.get(URL, headers=headers, params=params)).json()
            assert body["total"] == 4
            seen += [i["id"] for i in body["items"]]
            if not body["next_cursor"]:
                break
            params["cursor"] = body["next_cursor"]
        assert seen == sorted(seen, reverse=True) and len(set(seen)) == 4

    async def test_limit_over_max_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        assert (await client.get(URL, headers=headers, params={"limit": 1001})).status_code == 422
        r = await client.get(URL, headers=headers, params={"sort": "department"})
        assert r.status_code == 422

    async def test_query_count_is_constant(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        teachers = [await factory.teacher(school) for _ in range(3)]
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(URL, headers=headers, params={"limit": limit})
            assert r.status_code == 200
            counts.append(len(statements))
        with count_queries() as statements:
            r = await client.get(f"{URL}/{teachers[0].id}", headers=headers)
        assert r.status_code == 200
        assert counts[0] <= 2 and counts[1] <= 2 and len(statements) == 1, counts


class TestCreateTeacher:
    async def test_staff_creates_with_audit(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        r = await client.post(URL, headers=headers, json=_body(email="Alan@Example.edu"))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["email"] == "alan@example.edu"
        assert body["school_id"] == school.id and body["user_id"] is None
        assert await _audits(factory, body["id"], "create") == 1
        r = await client.get(f"{URL}/{body['id']}", headers=headers)
        assert r.json() == body

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_other_roles_cannot_write(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as(role, school)
        t = await factory.teacher(school)
        assert (await client.post(URL, headers=headers, json=_body())).status_code == 403
        r = await client.patch(f"{URL}/{t.id}", headers=headers, json={"department": "Art"})
        assert r.status_code == 403
        assert (await client.delete(f"{URL}/{t.id}", headers=headers)).status_code == 403

    async def test_duplicate_email_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        await factory.teacher(other, email="alan@example.edu")
        r = await client.post(URL, headers=headers, json=_body(email="ALAN@example.edu"))
        assert r.status_code == 409
        assert r.json()["errors"][0]["loc"] == ["body", "email"]

    @pytest.mark.parametrize(
        ("patch", "loc"),
        [
            ({"email": "nope"}, ["body", "email"]),
            ({"last_name": "  "}, ["body", "last_name"]),
            ({"department": "x" * 101}, ["body", "department"]),
            ({"salary": 1}, ["body", "salary"]),
        ],
    )
    async def test_invalid_body_is_422(
        self, client: AsyncClient, factory: Factory, patch: dict[str, Any], loc: list[str]
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(**patch))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == loc

    async def test_missing_field_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json={"first_name": "A"})
        assert r.status_code == 422
        locs = {tuple(e["loc"]) for e in r.json()["errors"]}
        assert ("body", "email") in locs and ("body", "last_name") in locs


class TestUpdateTeacher:
    async def test_patch_and_clear_department(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        t = await factory.teacher(school)
        r = await client.patch(
            f"{URL}/{t.id}", headers=headers, json={"first_name": "Ida", "department": None}
        )
        assert r.status_code == 200, r.text
        assert r.json()["first_name"] == "Ida" and r.json()["department"] is None
        assert await _audits(factory, t.id, "update") == 1

    async def test_email_conflict_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        t, other = await factory.teacher(school), await factory.teacher(school)
        r = await client.patch(f"{URL}/{t.id}", headers=headers, json={"email": other.email})
        assert r.status_code == 409

    async def test_stale_if_match_is_412(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        t = await factory.teacher(school)
        etag = (await client.get(f"{URL}/{t.id}", headers=headers)).headers["ETag"]
        await client.patch(f"{URL}/{t.id}", headers=headers, json={"first_name": "Changed"})
        r = await client.patch(
            f"{URL}/{t.id}", headers=headers | {"If-Match": etag}, json={"first_name": "Late"}
        )
        assert r.status_code == 412

    async def test_oversized_id_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.patch(f"{URL}/{2**40}", headers=headers, json={"first_name": "X"})
        assert r.status_code == 422
        r = await client.post(URL, headers=headers, json=_body(school_id=2**40))
        assert r.status_code == 422

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        t = await factory.teacher(other)
        r = await client.patch(f"{URL}/{t.id}", headers=headers, json={"first_name": "X"})
        assert r.status_code == 404


class TestDeleteTeacher:
    async def test_delete_without_sections(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        t = await factory.teacher(school)
        assert (await client.delete(f"{URL}/{t.id}", headers=headers)).status_code == 204
        assert (await client.get(f"{URL}/{t.id}", headers=headers)).status_code == 404
        assert await _audits(factory, t.id, "delete") == 1

    async def test_delete_with_sections_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        t = await factory.teacher(school)
        course = await factory.course(await factory.term(school))
        await factory.section(course, t)
        r = await client.delete(f"{URL}/{t.id}", headers=headers)
        assert r.status_code == 409
        assert "section" in r.json()["detail"]
        async with factory.db.sessionmaker() as session:
            assert await session.get(Teacher, t.id) is not None

    async def test_delete_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("staff", school)
        t = await factory.teacher(other)
        assert (await client.delete(f"{URL}/{t.id}", headers=headers)).status_code == 404
