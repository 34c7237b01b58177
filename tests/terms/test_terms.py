from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient

from homeroom.models import Term
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = "/api/v1/terms"
ROLES = ("admin", "staff", "teacher", "student", "guardian")


def body(**kw: Any) -> dict[str, Any]:
    return {"name": "Fall 2026", "start_date": "2026-09-01", "end_date": "2027-01-31"} | kw


class TestListTerms:
    @pytest.mark.parametrize("role", ROLES)
    async def test_every_role_reads_own_school_only(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school, other = await factory.school(), await factory.school()
        mine = await factory.term(school)
        await factory.term(other)
        headers, _ = await factory.login_as(role, school)
        r = await client.get(URL, headers=headers)
        assert r.status_code == 200, r.text
        assert [t["id"] for t in r.json()["items"]] == [mine.id]
        assert r.headers["ETag"]

    async def test_sorts_by_start_date_name_and_id(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        b = await factory.term(school, name="B", start_date=date(2026, 1, 1))
        a = await factory.term(school, name="A", start_date=date(2027, 1, 1))
        headers, _ = await factory.login_as("staff", school)
        r = await client.get(URL, headers=headers)
        assert [t["id"] for t in r.json()["items"]] == [b.id, a.id]
        r = await client.get(URL, headers=headers, params={"sort": "name"})
        assert [t["id"] for t in r.json()["items"]] == [a.id, b.id]
        r = await client.get(URL, headers=headers, params={"sort": "-id"})
        assert [t["id"] for t in r.json()["items"]] == [a.id, b.id]
        r = await client.get(URL, headers=headers, params={"sort": "nope"})
        assert r.status_code == 422

    async def test_keyset_paging_walks_every_term(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        ids = {(await factory.term(school)).id for _ in range(5)}
        headers, _ = await factory.login_as("staff", school)
        seen: list[int] = []
        params: dict[str, Any] = {"limit": 2}
        while True:
            r = await client.get(URL, headers=headers, params=params)
            page = r.json()
            assert page["total"] == 5
            seen += [t["id"] for t in page["items"]]
            if page["next_cursor"] is None:
                break
            assert 'rel="next"' in r.headers["Link"]
            params = {"limit": 2, "cursor": page["next_cursor"]}
        assert sorted(seen) == sorted(ids)

    async def test_constant_query_count(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        for _ in range(3):
            await factory.term(school)
        headers, _ = await factory.login_as("staff", school)
        counts = []
        for params in (
            {"limit": 1},
            {"limit": 200},
            {"limit": 1, "offset": 1},
            {"limit": 200, "offset": 1},
        ):
            with count_queries() as statements:
                r = await client.get(URL, headers=headers, params=params)
            assert r.status_code == 200
            counts.append(len(statements))
        # page + count; the count is skipped when the first page holds the whole list
        assert counts == [2, 1, 2, 2]


class TestReadTerm:
    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        theirs = await factory.term(other)
        headers, _ = await factory.login_as("student", school)
        r = await client.get(f"{URL}/{theirs.id}", headers=headers)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"

    async def test_reads_with_etag_and_304(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        term = await factory.term(school, name="Spring")
        headers, _ = await factory.login_as("teacher", school)
        r = await client.get(f"{URL}/{term.id}", headers=headers)
        assert r.status_code == 200
        assert r.json()["name"] == "Spring"
        assert r.json()["start_date"] == "2026-09-01"
        r2 = await client.get(
            f"{URL}/{term.id}", headers=headers | {"If-None-Match": r.headers["ETag"]}
        )
        assert r2.status_code == 304


class TestCreateTerm:
    @pytest.mark.parametrize("role", ["admin", "staff"])
    async def test_writers_create(self, client: AsyncClient, factory: Factory, role: str) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as(role, school)
        r = await client.post(URL, headers=headers, json=body())
        assert r.status_code == 201, r.text
        assert r.json()["school_id"] == school.id
        assert r.json()["end_date"] == "2027-01-31"
        r = await client.get(f"{URL}/{r.json()['id']}", headers=headers)
        assert r.status_code == 200

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_others_may_not_write(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as(role, school)
        r = await client.post(URL, headers=headers, json=body())
        assert r.status_code == 403

    async def test_end_before_start_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        r = await client.post(URL, headers=headers, json=body(end_date="2026-08-31"))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "end_date"]
        r = await client.post(URL, headers=headers, json=body(end_date="2026-09-01"))
        assert r.status_code == 201  # a one-day term is fine

    async def test_bad_bodies_are_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        for bad in (body(name=""), body(start_date="soon"), body(extra=1), {"name": "X"}):
            r = await client.post(URL, headers=headers, json=bad)
            assert r.status_code == 422, bad
            assert r.json()["errors"]

    async def test_duplicate_name_in_school_is_409(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        await factory.term(school, name="Fall 2026")
        await factory.term(other, name="Winter")
        headers, _ = await factory.login_as("staff", school)
        r = await client.post(URL, headers=headers, json=body())
        assert r.status_code == 409
        assert "name" in r.json()["detail"]
        r = await client.post(URL, headers=headers, json=body(name="Winter"))
        assert r.status_code == 201  # unique per school only

    async def test_all_schools_admin_names_the_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        admin = await factory.user("admin", None)
        headers = factory.headers(admin)
        r = await client.post(URL, headers=headers, json=body())
        assert r.status_code == 422
        r = await client.post(URL, headers=headers, json=body(school_id=school.id))
        assert r.status_code == 201
        assert r.json()["school_id"] == school.id

    async def test_staff_may_not_create_in_another_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("staff", school)
        r = await client.post(URL, headers=headers, json=body(school_id=other.id))
        assert r.status_code == 403

    async def test_create_writes_an_audit_row(self, client: AsyncClient, factory: Factory) -> None:
        from sqlalchemy import select

        from homeroom.models import AuditLog

        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        r = await client.post(URL, headers=headers, json=body())
        async with factory.db.sessionmaker() as session:
            rows = (await session.scalars(select(AuditLog))).all()
        assert [(a.action, a.entity, a.entity_id) for a in rows] == [
            ("create", "term", r.json()["id"])
        ]


class TestUpdateTerm:
    async def test_patch_changes_fields(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        term = await factory.term(school)
        headers, _ = await factory.login_as("staff", school)
        r = await client.patch(f"{URL}/{term.id}", headers=headers, json={"name": "Renamed"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "Renamed"
        assert r.json()["start_date"] == "2026-09-01"

    async def test_patch_checks_dates_against_stored_values(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)  # 2026-09-01 .. 2027-01-31
        headers, _ = await factory.login_as("staff", school)
        r = await client.patch(f"{URL}/{term.id}", headers=headers, json={"end_date": "2026-01-01"})
        assert r.status_code == 422
        r = await client.patch(f"{URL}/{term.id}", headers=headers, json={"end_date": None})
        assert r.status_code == 422

    async def test_patch_duplicate_name_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        await factory.term(school, name="Taken")
        term = await factory.term(school, name="Mine")
        headers, _ = await factory.login_as("staff", school)
        r = await client.patch(f"{URL}/{term.id}", headers=headers, json={"name": "Taken"})
        assert r.status_code == 409
        r = await client.patch(f"{URL}/{term.id}", headers=headers, json={"name": "Mine"})
        assert r.status_code == 200

    async def test_stale_if_match_is_412(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        term = await factory.term(school)
        headers, _ = await factory.login_as("staff", school)
        etag = (await client.get(f"{URL}/{term.id}", headers=headers)).headers["ETag"]
        r = await client.patch(
            f"{URL}/{term.id}", headers=headers | {"If-Match": etag}, json={"name": "One"}
        )
        assert r.status_code == 200
        r = await client.patch(
            f"{URL}/{term.id}", headers=headers | {"If-Match": etag}, json={"name": "Two"}
        )
        assert r.status_code == 412

    async def test_other_school_is_404_and_teacher_403(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        theirs = await factory.term(other)
        headers, _ = await factory.login_as("staff", school)
        r = await client.patch(f"{URL}/{theirs.id}", headers=headers, json={"name": "X"})
        assert r.status_code == 404
        teacher, _ = await factory.login_as("teacher", other)
        r = await client.patch(f"{URL}/{theirs.id}", headers=teacher, json={"name": "X"})
        assert r.status_code == 403


class TestDeleteTerm:
    async def test_deletes_an_empty_term(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        term = await factory.term(school)
        headers, _ = await factory.login_as("admin", school)
        r = await client.delete(f"{URL}/{term.id}", headers=headers)
        assert r.status_code == 204
        async with factory.db.sessionmaker() as session:
            assert await session.get(Term, term.id) is None

    async def test_term_with_courses_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        term = await factory.term(school)
        await factory.course(term)
        headers, _ = await factory.login_as("staff", school)
        r = await client.delete(f"{URL}/{term.id}", headers=headers)
        assert r.status_code == 409
        assert (await client.get(f"{URL}/{term.id}", headers=headers)).status_code == 200

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        theirs = await factory.term(other)
        headers, _ = await factory.login_as("staff", school)
        r = await client.delete(f"{URL}/{theirs.id}", headers=headers)
        assert r.status_code == 404


class TestBoundedIds:
    async def test_ids_beyond_32_bits_are_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        for method in ("GET", "PATCH", "DELETE"):
            r = await client.request(method, f"{URL}/{2**31}", headers=headers, json={})
            assert r.status_code == 422, method
        r = await client.post(URL, headers=headers, json=body(school_id=2**31))
        assert r.status_code == 422
