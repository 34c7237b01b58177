"""Changing one's own password: auth.service.change_password and POST /auth/me/password."""

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from homeroom.auth import service as auth_service
from homeroom.config import Settings
from homeroom.kit.db import Database
from homeroom.kit.errors import NotFound, ValidationFailed
from homeroom.kit.security import AccessClaims, verify_password
from homeroom.models import AuditLog, LoginEvent, RefreshToken, School, User
from tests.factories import PASSWORD, Factory

NEW = "a brand new passphrase"
URL = "/api/v1/auth/me/password"


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


def _claims(user: User) -> AccessClaims:
    return AccessClaims(user.id, user.role, user.school_id, None)


async def _change(
    db: Database,
    settings: Settings,
    user: User,
    current: str,
    new: str,
    keep: str | None = None,
) -> auth_service.Refused | None:
    change = auth_service.PasswordChange(current, new, "127.0.0.1", "tests")
    async with db.sessionmaker() as session:
        result = await auth_service.change_password(
            db, session, settings, _claims(user), change, keep_web_session=keep
        )
        await session.commit()
    return result


async def _hash(db: Database, user: User) -> str:
    async with db.sessionmaker() as session:
        found = await session.scalar(select(User.password_hash).where(User.id == user.id))
    assert found is not None
    return found


async def _live_tokens(db: Database, user: User) -> int:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(RefreshToken.id).where(
                RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None)
            )
        )
        return len(rows.all())


async def _api_login(client: AsyncClient, email: str, password: str = PASSWORD) -> int:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return r.status_code


class TestChangePassword:
    async def test_sets_the_new_hash_ends_every_session_and_audits(
        self,
        client: AsyncClient,
        db: Database,
        settings: Settings,
        factory: Factory,
        school: School,
    ) -> None:
        user = await factory.user("staff", school)
        assert await _api_login(client, user.email) == 200
        assert await _api_login(client, user.email) == 200
        assert await _live_tokens(db, user) == 2
        assert await _change(db, settings, user, PASSWORD, NEW) is None
        assert await verify_password(NEW, await _hash(db, user))
        assert await _live_tokens(db, user) == 0
        assert await _api_login(client, user.email) == 401
        assert await _api_login(client, user.email, NEW) == 200
        async with db.sessionmaker() as session:
            audit = (await session.scalars(select(AuditLog))).all()
        assert [(a.action, a.entity, a.entity_id, a.actor_id) for a in audit] == [
            ("update", "user", user.id, user.id)
        ]
        assert audit[0].details == {"password_changed": True, "by": "self"}

    async def test_keeps_the_web_session_that_asked(
        self, db: Database, settings: Settings, factory: Factory, school: School
    ) -> None:
        user = await factory.user("teacher", school)
        secrets = []
        for _ in range(2):
            attempt = auth_service.Attempt(user.email, PASSWORD, None, None)
            secret = await auth_service.sign_in(db, settings, attempt)
            assert isinstance(secret, str)
            secrets.append(secret)
        kept, other = secrets
        assert await _change(db, settings, user, PASSWORD, NEW, keep=kept) is None
        assert await auth_service.web_session(db, kept) is not None
        assert await auth_service.web_session(db, other) is None

    async def test_a_wrong_current_password_is_refused_and_counts_as_a_failed_login(
        self, db: Database, settings: Settings, factory: Factory, school: School
    ) -> None:
        user = await factory.user("staff", school)
        before = await _hash(db, user)
        refused = await _change(db, settings, user, "not it", NEW)
        assert refused == auth_service.Refused(400, auth_service.BAD_CURRENT_PASSWORD)
        assert await _hash(db, user) == before
        async with db.sessionmaker() as session:
            events = (await session.scalars(select(LoginEvent))).all()
        assert [(e.user_id, e.email, e.success) for e in events] == [(user.id, user.email, False)]

    async def test_the_sign_in_lockout_applies(
        self,
        client: AsyncClient,
        db: Database,
        settings: Settings,
        factory: Factory,
        school: School,
    ) -> None:
        user = await factory.user("staff", school)
        for _ in range(settings.login_max_failures):
            refused = await _change(db, settings, user, "not it", NEW)
            assert refused is not None and refused.status == 400
        locked = await _change(db, settings, user, PASSWORD, NEW)  # even the right one waits
        assert locked is not None and locked.status == 429 and locked.retry_after
        assert await _api_login(client, user.email) == 429  # one count with sign-in
        assert await verify_password(PASSWORD, await _hash(db, user))

    @pytest.mark.parametrize(
        ("new", "message"),
        [
            ("short", "at least 8 characters"),
            ("x" * 257, "at most 256 characters"),
            (PASSWORD, "must differ from the current password"),
        ],
    )
    async def test_the_policy_is_enforced(
        self,
        db: Database,
        settings: Settings,
        factory: Factory,
        school: School,
        new: str,
        message: str,
    ) -> None:
        user = await factory.user("staff", school)
        with pytest.raises(ValidationFailed) as failed:
            await _change(db, settings, user, PASSWORD, new)
        assert failed.value.errors is not None
        assert failed.value.errors[0]["loc"] == ["body", "new_password"]
        assert message in failed.value.errors[0]["msg"]
        assert await verify_password(PASSWORD, await _hash(db, user))

    async def test_a_deactivated_user_cannot(
        self, db: Database, settings: Settings, factory: Factory, school: School
    ) -> None:
        user = await factory.user("staff", school, is_active=False)
        with pytest.raises(NotFound):
            await _change(db, settings, user, PASSWORD, NEW)


class TestChangePasswordEndpoint:
    async def test_204_and_the_new_password_works(
        self, client: AsyncClient, db: Database, factory: Factory, school: School
    ) -> None:
        student = await factory.student(school, with_login=True)
        user = await factory.user_of(student)
        body = {"current_password": PASSWORD, "new_password": NEW}
        r = await client.post(URL, json=body, headers=factory.headers(user, student.id))
        assert r.status_code == 204, r.text
        assert r.headers["cache-control"] == "no-store"
        assert await _api_login(client, user.email, NEW) == 200
        assert await _live_tokens(db, user) == 1  # only the login just made

    async def test_refusals_are_problems(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        user = await factory.user("teacher", school)
        headers = factory.headers(user)
        wrong = await client.post(
            URL, json={"current_password": "nope", "new_password": NEW}, headers=headers
        )
        assert wrong.status_code == 400
        assert wrong.headers["content-type"] == "application/problem+json"
        assert wrong.json()["detail"] == auth_service.BAD_CURRENT_PASSWORD
        short = await client.post(
            URL, json={"current_password": PASSWORD, "new_password": "short"}, headers=headers
        )
        assert short.status_code == 422
        assert short.json()["errors"][0]["loc"] == ["body", "new_password"]
        missing = await client.post(URL, json={"new_password": NEW}, headers=headers)
        assert missing.status_code == 422
        assert (await client.post(URL, json={})).status_code == 401
        for _ in range(settings.login_max_failures):
            await client.post(
                URL, json={"current_password": "nope", "new_password": NEW}, headers=headers
            )
        locked = await client.post(
            URL, json={"current_password": PASSWORD, "new_password": NEW}, headers=headers
        )
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1

    async def test_it_is_documented(self, client: AsyncClient) -> None:
        operation = (await client.get("/openapi.json")).json()["paths"][URL]["post"]
        assert set(operation["responses"]) >= {"204", "400", "422", "429"}
        assert operation["summary"]
