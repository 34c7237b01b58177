from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select

from homeroom.config import Settings
from homeroom.kit.db import Database
from homeroom.models import AuditLog, RefreshToken, School, Student, User
from homeroom.users.commands import create_user_command
from tests.factories import PASSWORD, Factory
from tests.fixture_types import CountQueries
from tests.kit.test_cache import hits, misses

URL = "/api/v1/users"
NEW_PASSWORD = "a brand new passphrase"


def _body(**kw: Any) -> dict[str, Any]:
    return {
        "email": "new.user@example.edu",
        "password": NEW_PASSWORD,
        "role": "staff",
        "full_name": "New User",
    } | kw


async def _login(client: AsyncClient, email: str, password: str = PASSWORD) -> Any:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def _load(factory: Factory, model: Any, key: Any) -> Any:
    async with factory.db.sessionmaker() as session:
        return await session.get(model, key)


def _assert_no_secrets(payload: Any) -> None:
    text = str(payload)
    assert "password" not in text and "argon2" not in text


class TestListUsers:
    @pytest.mark.parametrize("role", ["admin", "staff"])
    async def test_admin_and_staff_list_own_school(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as(role, school)
        await factory.student(school, with_login=True)
        await factory.user("teacher", other)
        await factory.user("admin", None)
        r = await client.get(URL, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 2
        assert {i["school_id"] for i in body["items"]} == {school.id}
        assert "ETag" in r.headers
        _assert_no_secrets(body)

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_other_roles_are_403(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as(role, school)
        assert (await client.get(URL, headers=headers)).status_code == 403
        assert (await client.post(URL, headers=headers, json=_body())).status_code == 403

    async def test_filters_role_active_and_search(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        await factory.user("teacher", school, full_name="Katherine Johnson")
        await factory.user("teacher", school, email="dorothy_v@example.edu", is_active=False)
        await factory.user("teacher", school, email="dorothyxv@example.edu")
        cases: list[tuple[dict[str, str], int]] = [
            ({"role": "teacher"}, 3),
            ({"role": "admin"}, 1),
            ({"is_active": "false"}, 1),
            ({"q": "KATHERINE"}, 1),
            ({"q": "dorothy_v"}, 1),
            ({"q": "dorothy", "role": "teacher", "is_active": "true"}, 1),
        ]
        for params, expected in cases:
            r = await client.get(URL, headers=headers, params=params)
            assert r.status_code == 200, r.text
            assert r.json()["total"] == expected, params
        r = await client.get(URL, headers=headers, params={"role": "janitor"})
        assert r.status_code == 422

    async def test_profile_id_is_shown(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school, with_login=True)
        r = await client.get(f"{URL}/{student.user_id}", headers=headers)
        assert r.status_code == 200
        assert r.json()["profile_id"] == student.id
        assert r.json()["role"] == "student"

    async def test_keyset_paging(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        for _ in range(4):
            await factory.user("staff", school)
        seen: list[int] = []
        params: dict[str, Any] = {"limit": 2, "sort": "created_at"}
        while True:
            body = (await client.get(URL, headers=headers, params=params)).json()
            assert body["total"] == 5
            seen += [i["id"] for i in body["items"]]
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]
        assert len(seen) == len(set(seen)) == 5

    async def test_all_schools_admin_sees_every_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        a, b = await factory.school(), await factory.school()
        admin = await factory.user("admin", None)
        await factory.user("staff", a)
        await factory.user("staff", b)
        r = await client.get(URL, headers=factory.headers(admin))
        assert r.json()["total"] == 3

    async def test_query_count_is_constant(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        headers, admin = await factory.login_as("admin", school)
        for _ in range(3):
            await factory.teacher(school, with_login=True)
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(URL, headers=headers, params={"limit": limit})
            assert r.status_code == 200
            counts.append(len(statements))
        with count_queries() as statements:
            assert (await client.get(f"{URL}/{admin.id}", headers=headers)).status_code == 200
        # The page, the cache's versions of the total, the COUNT (a miss: no epoch here).
        assert counts[0] <= 3 and counts[1] <= 3 and len(statements) == 1, counts


class TestCachedTotal:
    """The listing's total comes from the response cache (a COUNT scans every login of the
    school): a repeated first page costs the page query alone, and the total is right after
    every kind of write that creates or changes logins."""

    @pytest.fixture
    async def school(self, factory: Factory, app: FastAPI) -> School:
        school = await factory.school()
        for _ in range(3):
            await factory.teacher(school, with_login=True)
        # The per-test cleanup empties cache_versions; a serving process writes its epoch at
        # start (without one nothing is cached).
        await app.state.cache.ensure_epoch()
        return school

    async def total(self, client: AsyncClient, headers: dict[str, str], **params: Any) -> int:
        r = await client.get(URL, headers=headers, params={"limit": 1, **params})
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    async def test_a_repeated_first_page_does_not_count_again(
        self,
        client: AsyncClient,
        factory: Factory,
        db: Database,
        school: School,
        count_queries: CountQueries,
    ) -> None:
        headers, _ = await factory.login_as("admin", school)
        assert await self.total(client, headers) == 4
        before = hits("users_total"), misses("users_total")
        for limit in (1, 2, 200):
            with count_queries() as statements:
                r = await client.get(URL, headers=headers, params={"limit": limit})
            assert r.status_code == 200 and r.json()["total"] == 4
            if limit < 4:
                # The page alone (PostgreSQL also reads the tags' versions).
                assert len(statements) == (1 if db.is_sqlite else 2), statements
                assert not any("count(" in s.lower() for s in statements), statements
        # limit 200 holds the whole list: its total needs no COUNT, hence no cache.
        assert (hits("users_total"), misses("users_total")) == (before[0] + 2, before[1])

    async def test_after_each_write_through_the_api(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        headers, _ = await factory.login_as("admin", school)
        assert await self.total(client, headers) == 4
        assert await self.total(client, headers, role="teacher") == 3
        assert await self.total(client, headers, is_active="true") == 4
        assert await self.total(client, headers, q="Renamed") == 0

        r = await client.post(URL, headers=headers, json=_body())
        assert r.status_code == 201, r.text
        new_id = r.json()["id"]
        assert await self.total(client, headers) == 5

        r = await client.patch(f"{URL}/{new_id}", headers=headers, json={"role": "teacher"})
        assert r.status_code == 200, r.text
        assert await self.total(client, headers, role="teacher") == 4

        r = await client.patch(f"{URL}/{new_id}", headers=headers, json={"full_name": "Renamed"})
        assert r.status_code == 200, r.text
        assert await self.total(client, headers, q="Renamed") == 1

        r = await client.patch(f"{URL}/{new_id}", headers=headers, json={"is_active": False})
        assert r.status_code == 200, r.text
        assert await self.total(client, headers, is_active="true") == 4
        r = await client.patch(f"{URL}/{new_id}", headers=headers, json={"is_active": True})
        assert r.status_code == 200, r.text
        assert await self.total(client, headers, is_active="true") == 5

        assert (await client.delete(f"{URL}/{new_id}", headers=headers)).status_code == 204
        assert await self.total(client, headers, is_active="true") == 4
        assert await self.total(client, headers) == 5

    async def test_a_login_keeps_the_cached_total(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", school)
        assert await self.total(client, headers) == 5
        assert (await _login(client, user.email)).status_code == 200  # writes last_login_at
        before = hits("users_total")
        assert await self.total(client, headers) == 5
        assert hits("users_total") == before + 1

    async def test_after_the_create_user_command(
        self, client: AsyncClient, factory: Factory, settings: Settings, school: School
    ) -> None:
        headers, _ = await factory.login_as("admin", school)
        everywhere = factory.headers(await factory.user("admin", None))
        assert await self.total(client, headers) == 4
        assert await self.total(client, everywhere) == 5
        await create_user_command(
            settings, "cli@example.edu", NEW_PASSWORD, "staff", school.code, "From The CLI"
        )
        assert await self.total(client, headers) == 5
        assert await self.total(client, everywhere) == 6
        await create_user_command(settings, "root@example.edu", NEW_PASSWORD, "admin", None, "")
        assert await self.total(client, headers) == 5
        assert await self.total(client, everywhere) == 7

    async def test_schools_and_the_all_schools_admin(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        other = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        other_headers, _ = await factory.login_as("admin", other)
        root = await factory.user("admin", None)
        everywhere = factory.headers(root)
        await factory.user("staff", other)
        assert (await self.total(client, headers), await self.total(client, other_headers)) == (
            4,
            2,
        )
        assert await self.total(client, everywhere) == 7
        r = await client.post(URL, headers=other_headers, json=_body())
        assert r.status_code == 201, r.text
        assert await self.total(client, other_headers) == 3
        assert await self.total(client, everywhere) == 8
        assert await self.total(client, headers) == 4
        r = await client.post(URL, headers=everywhere, json=_body(email="a2@x.org", role="admin"))
        assert r.status_code == 201, r.text
        assert r.json()["school_id"] is None
        assert await self.total(client, everywhere) == 9
        assert await self.total(client, headers) == 4


class TestReadUser:
    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("staff", school)
        foreign = await factory.user("staff", other)
        everywhere = await factory.user("admin", None)
        assert (await client.get(f"{URL}/{foreign.id}", headers=headers)).status_code == 404
        assert (await client.get(f"{URL}/{everywhere.id}", headers=headers)).status_code == 404

    async def test_oversized_id_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        assert (await client.get(f"{URL}/{2**40}", headers=headers)).status_code == 422
        r = await client.post(URL, headers=headers, json=_body(role="student", profile_id=2**40))
        assert r.status_code == 422

    async def test_read_never_returns_hash(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, me = await factory.login_as("admin", school)
        r = await client.get(f"{URL}/{me.id}", headers=headers)
        assert r.status_code == 200
        assert "password_hash" not in r.json()
        _assert_no_secrets(r.json())


class TestCreateUser:
    async def test_admin_creates_login_that_works(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, admin = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(email="New.User@Example.edu"))
        assert r.status_code == 201, r.text
        body = r.json()
        _assert_no_secrets(body)
        assert body["email"] == "new.user@example.edu"
        assert body["school_id"] == school.id and body["is_active"] is True
        user = await _load(factory, User, body["id"])
        assert user.password_hash.startswith("$argon2") and NEW_PASSWORD not in user.password_hash
        login = await _login(client, "new.user@example.edu", NEW_PASSWORD)
        assert login.status_code == 200, login.text
        async with factory.db.sessionmaker() as session:
            audit = (
                await session.execute(
                    select(AuditLog).where(AuditLog.entity == "user", AuditLog.action == "create")
                )
            ).scalar_one()
        assert audit.actor_id == admin.id and audit.entity_id == body["id"]
        _assert_no_secrets(audit.details)

    async def test_staff_cannot_create(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        assert (await client.post(URL, headers=headers, json=_body())).status_code == 403

    @pytest.mark.parametrize(
        ("patch", "loc"),
        [
            ({"password": "short"}, ["body", "password"]),
            ({"role": "superuser"}, ["body", "role"]),
            ({"email": "no-at-sign"}, ["body", "email"]),
            ({"full_name": ""}, ["body", "full_name"]),
            ({"password_hash": "x"}, ["body", "password_hash"]),
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

    async def test_duplicate_email_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, admin = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(email=admin.email.upper()))
        assert r.status_code == 409

    async def test_bound_admin_stays_in_school(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(school_id=other.id))
        assert r.status_code == 403

    async def test_all_schools_admin_rules(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers = factory.headers(await factory.user("admin", None))
        r = await client.post(URL, headers=headers, json=_body(role="admin"))
        assert r.status_code == 201, r.text
        assert r.json()["school_id"] is None
        r = await client.post(URL, headers=headers, json=_body(email="t@example.edu"))
        assert r.status_code == 422  # a staff login needs a school
        r = await client.post(
            URL, headers=headers, json=_body(email="t@example.edu", school_id=987_654)
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "school_id"]
        r = await client.post(
            URL, headers=headers, json=_body(email="t@example.edu", school_id=school.id)
        )
        assert r.status_code == 201
        assert r.json()["school_id"] == school.id


class TestProfiles:
    async def test_login_for_existing_student(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school)
        r = await client.post(
            URL,
            headers=headers,
            json=_body(email=student.email, role="student", profile_id=student.id),
        )
        assert r.status_code == 201, r.text
        assert r.json()["profile_id"] == student.id
        assert (await _load(factory, Student, student.id)).user_id == r.json()["id"]
        login = await _login(client, student.email, NEW_PASSWORD)
        me = await client.get(
            "/api/v1/auth/me",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert me.json()["student_id"] == student.id

    async def test_already_linked_profile_is_409(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        teacher = await factory.teacher(school, with_login=True)
        r = await client.post(
            URL, headers=headers, json=_body(role="teacher", profile_id=teacher.id)
        )
        assert r.status_code == 409

    async def test_role_without_profile_table_is_422(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school)
        r = await client.post(URL, headers=headers, json=_body(role="staff", profile_id=student.id))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "profile_id"]

    async def test_missing_or_foreign_profile_is_422(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        foreign = await factory.guardian(other)
        for profile_id in (foreign.id, 999_999):
            r = await client.post(
                URL, headers=headers, json=_body(role="guardian", profile_id=profile_id)
            )
            assert r.status_code == 422, profile_id
        async with factory.db.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(User)) == 1


class TestUpdateUser:
    async def test_patch_fields(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", school)
        r = await client.patch(
            f"{URL}/{user.id}", headers=headers, json={"full_name": "Renamed", "role": "admin"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["full_name"] == "Renamed" and r.json()["role"] == "admin"

    async def test_password_change_replaces_login(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", school)
        assert (await _login(client, user.email)).status_code == 200
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"password": NEW_PASSWORD})
        assert r.status_code == 200, r.text
        _assert_no_secrets(r.json())
        assert (await _login(client, user.email)).status_code == 401
        assert (await _login(client, user.email, NEW_PASSWORD)).status_code == 200

    async def test_cannot_deactivate_or_demote_self(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, me = await factory.login_as("admin", school)
        r = await client.patch(f"{URL}/{me.id}", headers=headers, json={"is_active": False})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "is_active"]
        r = await client.patch(f"{URL}/{me.id}", headers=headers, json={"role": "staff"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "role"]
        assert (await client.delete(f"{URL}/{me.id}", headers=headers)).status_code == 422
        r = await client.patch(f"{URL}/{me.id}", headers=headers, json={"full_name": "Still Me"})
        assert r.status_code == 200
        assert (await _load(factory, User, me.id)).is_active is True

    async def test_role_change_of_linked_login_is_422(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school, with_login=True)
        r = await client.patch(f"{URL}/{student.user_id}", headers=headers, json={"role": "staff"})
        assert r.status_code == 422

    async def test_invalid_patch_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", school)
        for body in ({"password": "1234"}, {"role": None}, {"email": "x@example.edu"}):
            r = await client.patch(f"{URL}/{user.id}", headers=headers, json=body)
            assert r.status_code == 422, body

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", other)
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"full_name": "X"})
        assert r.status_code == 404
        assert (await client.delete(f"{URL}/{user.id}", headers=headers)).status_code == 404

    async def test_staff_cannot_write(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        user = await factory.user("teacher", school)
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"full_name": "X"})
        assert r.status_code == 403
        assert (await client.delete(f"{URL}/{user.id}", headers=headers)).status_code == 403


class TestDeactivateUser:
    async def test_delete_deactivates_and_revokes_sessions(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("teacher", school)
        login = await _login(client, user.email)
        assert login.status_code == 200
        refresh_token = login.json()["refresh_token"]
        r = await client.delete(f"{URL}/{user.id}", headers=headers)
        assert r.status_code == 204
        r = await client.get(f"{URL}/{user.id}", headers=headers)
        assert r.status_code == 200 and r.json()["is_active"] is False
        async with factory.db.sessionmaker() as session:
            tokens = (
                await session.execute(select(RefreshToken).where(RefreshToken.user_id == user.id))
            ).scalars()
            assert all(t.revoked_at is not None for t in tokens)
            audits = await session.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.entity_id == user.id, AuditLog.action == "deactivate")
            )
        assert audits == 1
        r = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
        assert r.status_code == 401

    async def test_deactivated_user_cannot_log_in(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", school)
        assert (await _login(client, user.email)).status_code == 200
        assert (await client.delete(f"{URL}/{user.id}", headers=headers)).status_code == 204
        r = await _login(client, user.email)
        assert r.status_code == 401
        # reactivating lets them back in
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"is_active": True})
        assert r.status_code == 200
        assert (await _login(client, user.email)).status_code == 200

    async def test_patch_deactivation_also_refuses_login(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("guardian", school)
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"is_active": False})
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert (await _login(client, user.email)).status_code == 401
