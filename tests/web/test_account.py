"""The Password page: change one's own password by the API's rules; this browser stays
signed in, every other session ends."""

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select

from homeroom.config import Settings
from homeroom.kit.security import verify_password
from homeroom.models import AuditLog, School, User
from tests.factories import PASSWORD, Factory
from tests.fixture_types import CountQueries
from tests.web.ops import alert_of, data_statements, is_current, signed_in_as, status_of, token_of
from tests.web.pages import sign_in

URL = "/account/password"
NEW = "a brand new passphrase"


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


async def password_hash(factory: Factory, user: User) -> str:
    async with factory.db.sessionmaker() as session:
        found = await session.scalar(select(User.password_hash).where(User.id == user.id))
        assert found is not None
        return found


def form(
    token: str, current: str = PASSWORD, new: str = NEW, confirm: str | None = None
) -> dict[str, str]:
    return {
        "csrf_token": token,
        "current_password": current,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    }


class TestPasswordPage:
    @pytest.mark.parametrize("role", ["admin", "staff", "teacher", "student", "guardian"])
    async def test_everyone_has_the_form(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        role: str,
        count_queries: CountQueries,
    ) -> None:
        await signed_in_as(client, factory, role, school)
        with count_queries() as statements:
            r = await client.get(URL)
        assert r.status_code == 200
        assert is_current(r.text, URL)
        for label in ("Current password", "New password", "Confirm new password"):
            assert f">{label}</label>" in r.text
        assert len(data_statements(statements)) == 1  # the session

    async def test_changes_it_keeps_this_session_and_ends_the_others(
        self, app: FastAPI, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await signed_in_as(client, factory, "teacher", school)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as other:
            assert (await sign_in(other, user.email)).status_code == 303
            api = await client.post(
                "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
            )
            refresh = api.json()["refresh_token"]
            r = await client.post(URL, data=form(await token_of(client, URL)))
            assert r.status_code == 200, r.text
            assert "Your password was changed" in status_of(r.text)
            assert (await client.get("/home")).status_code == 200  # still signed in
            assert (await other.get("/home")).headers["location"] == "/"  # signed out
        assert await verify_password(NEW, await password_hash(factory, user))
        again = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
        assert again.status_code == 401
        async with factory.db.sessionmaker() as session:
            audit = (await session.scalars(select(AuditLog))).all()
        assert [(a.action, a.entity_id, a.details) for a in audit] == [
            ("update", user.id, {"password_changed": True, "by": "self"})
        ]

    @pytest.mark.parametrize(
        ("fields", "status", "alert"),
        [
            ({"current": "wrong one"}, 400, "The current password is incorrect."),
            ({"confirm": "something else"}, 422, "The new passwords do not match."),
            ({"new": "short"}, 422, "at least 8 characters"),
            ({"new": PASSWORD}, 422, "must differ from the current password"),
        ],
    )
    async def test_refusals_leave_the_password(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        fields: dict[str, str],
        status: int,
        alert: str,
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        before = await password_hash(factory, user)
        r = await client.post(URL, data=form(await token_of(client, URL), **fields))
        assert r.status_code == status
        assert alert in alert_of(r.text)
        assert NEW not in r.text and PASSWORD not in r.text
        assert await password_hash(factory, user) == before

    async def test_wrong_current_passwords_lock_out_like_sign_in(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, URL)
        for _ in range(settings.login_max_failures):
            assert (await client.post(URL, data=form(token, current="bad"))).status_code == 400
        r = await client.post(URL, data=form(token))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "Too many failed attempts" in alert_of(r.text)
        api = await client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
        )
        assert api.status_code == 429

    async def test_without_csrf_it_is_refused(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await signed_in_as(client, factory, "guardian", school)
        before = await password_hash(factory, user)
        for token in ("", "0" * 64):
            r = await client.post(URL, data=form(token))
            assert r.status_code == 403
        assert await password_hash(factory, user) == before

    async def test_signed_out_goes_to_sign_in(self, client: AsyncClient) -> None:
        r = await client.get(URL)
        assert (r.status_code, r.headers["location"]) == (303, "/")
