from typing import Any

import pytest
from sqlalchemy import func, select

from homeroom.models import AuditLog, RefreshToken, Student, User
from tests.factories import PASSWORD, Factory

URL = "/api/v1/users"
NEW_PASSWORD = "a brand new passphrase"


def _body(**kw: Any) -> dict[str, Any]:
    return {
        "email": "new.user@example.edu",
        "password": NEW_PASSWORD,
        "role": "staff",
        "full_name": "New User",
    } | kw


async def _login(client, email: str, password: str = PASSWORD) -> Any:
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
        self, client, factory: Factory, role: str
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
    async def test_other_roles_are_403(self, client, factory: Factory, role: str) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as(role, school)
        assert (await client.get(URL, headers=headers)).status_code == 403
        assert (await client.post(URL, headers=headers, json=_body())).status_code == 403

    async def test_filters_role_active_and_search(self, client, factory: Factory) -> None:
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

    async def test_profile_id_is_shown(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school, with_login=True)
        r = await client.get(f"{URL}/{student.user_id}", headers=headers)
        assert r.status_code == 200
        assert r.json()["profile_id"] == student.id
        assert r.json()["role"] == "student"

    async def test_keyset_paging(self, client, factory: Factory) -> None:
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

    async def test_all_schools_admin_sees_every_school(self, client, factory: Factory) -> None:
        a, b = await factory.school(), await factory.school()
        admin = await factory.user("admin", None)
        await factory.user("staff", a)
        await factory.user("staff", b)
        r = await client.get(URL, headers=factory.headers(admin))
        assert r.json()["total"] == 3

    async def test_query_count_is_constant(self, client, factory: Factory, count_queries) -> None:
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
        assert counts[0] <= 2 and counts[1] <= 2 and len(statements) == 1, counts


class TestReadUser:
    async def test_other_school_is_404(self, client, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("staff", school)
        foreign = await factory.user("staff", other)
        everywhere = await factory.user("admin", None)
        assert (await client.get(f"{URL}/{foreign.id}", headers=headers)).status_code == 404
        assert (await client.get(f"{URL}/{everywhere.id}", headers=headers)).status_code == 404

    async def test_oversized_id_is_422(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        assert (await client.get(f"{URL}/{2**40}", headers=headers)).status_code == 422
        r = await client.post(URL, headers=headers, json=_body(role="student", profile_id=2**40))
        assert r.status_code == 422

    async def test_read_never_returns_hash(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, me = await factory.login_as("admin", school)
        r = await client.get(f"{URL}/{me.id}", headers=headers)
        assert r.status_code == 200
        assert "password_hash" not in r.json()
        _assert_no_secrets(r.json())


class TestCreateUser:
    async def test_admin_creates_login_that_works(self, client, factory: Factory) -> None:
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

    async def test_staff_cannot_create(self, client, factory: Factory) -> None:
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
        self, client, factory: Factory, patch: dict[str, Any], loc: list[str]
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(**patch))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == loc

    async def test_duplicate_email_is_409(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, admin = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(email=admin.email.upper()))
        assert r.status_code == 409

    async def test_bound_admin_stays_in_school(self, client, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(school_id=other.id))
        assert r.status_code == 403

    async def test_all_schools_admin_rules(self, client, factory: Factory) -> None:
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
    async def test_login_for_existing_student(self, client, factory: Factory) -> None:
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

    async def test_already_linked_profile_is_409(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        teacher = await factory.teacher(school, with_login=True)
        r = await client.post(
            URL, headers=headers, json=_body(role="teacher", profile_id=teacher.id)
        )
        assert r.status_code == 409

    async def test_role_without_profile_table_is_422(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school)
        r = await client.post(URL, headers=headers, json=_body(role="staff", profile_id=student.id))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "profile_id"]

    async def test_missing_or_foreign_profile_is_422(self, client, factory: Factory) -> None:
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
    async def test_patch_fields(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", school)
        r = await client.patch(
            f"{URL}/{user.id}", headers=headers, json={"full_name": "Renamed", "role": "admin"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["full_name"] == "Renamed" and r.json()["role"] == "admin"

    async def test_password_change_replaces_login(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", school)
        assert (await _login(client, user.email)).status_code == 200
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"password": NEW_PASSWORD})
        assert r.status_code == 200, r.text
        _assert_no_secrets(r.json())
        assert (await _login(client, user.email)).status_code == 401
        assert (await _login(client, user.email, NEW_PASSWORD)).status_code == 200

    async def test_cannot_deactivate_or_demote_self(self, client, factory: Factory) -> None:
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

    async def test_role_change_of_linked_login_is_422(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        student = await factory.student(school, with_login=True)
        r = await client.patch(f"{URL}/{student.user_id}", headers=headers, json={"role": "staff"})
        assert r.status_code == 422

    async def test_invalid_patch_is_422(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", school)
        for body in ({"password": "1234"}, {"role": None}, {"email": "x@example.edu"}):
            r = await client.patch(f"{URL}/{user.id}", headers=headers, json=body)
            assert r.status_code == 422, body

    async def test_other_school_is_404(self, client, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("staff", other)
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"full_name": "X"})
        assert r.status_code == 404
        assert (await client.delete(f"{URL}/{user.id}", headers=headers)).status_code == 404

    async def test_staff_cannot_write(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        user = await factory.user("teacher", school)
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"full_name": "X"})
        assert r.status_code == 403
        assert (await client.delete(f"{URL}/{user.id}", headers=headers)).status_code == 403


class TestDeactivateUser:
    async def test_delete_deactivates_and_revokes_sessions(self, client, factory: Factory) -> None:
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

    async def test_deactivated_user_cannot_log_in(self, client, factory: Factory) -> None:
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

    async def test_patch_deactivation_also_refuses_login(self, client, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        user = await factory.user("guardian", school)
        r = await client.patch(f"{URL}/{user.id}", headers=headers, json={"is_active": False})
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert (await _login(client, user.email)).status_code == 401
