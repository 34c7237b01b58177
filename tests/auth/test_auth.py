import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import jwt
import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select

from homeroom.app import create_app
from homeroom.config import Settings
from homeroom.kit.db import Database
from homeroom.kit.security import hash_password
from homeroom.models import LoginEvent, School, User
from tests.factories import PASSWORD, Factory
from tests.fixture_types import CountQueries


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


async def login(client: AsyncClient, email: str, password: str = PASSWORD) -> Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


class TestLogin:
    async def test_login_returns_a_token_pair_that_works(
        self, client: AsyncClient, factory: Factory, school: School, db: Database
    ) -> None:
        user = await factory.user("staff", school)
        r = await login(client, user.email.upper())
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "bearer" and body["expires_in"] > 0
        assert body["refresh_token"] and body["access_token"]
        assert r.headers["Cache-Control"] == "no-store"
        me = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["email"] == user.email and me.json()["role"] == "staff"
        assert me.json()["last_login_at"] is not None
        async with db.sessionmaker() as session:
            events = (await session.scalars(select(LoginEvent))).all()
        assert [(e.user_id, e.success) for e in events] == [(user.id, True)]

    async def test_me_names_the_profile(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        student = await factory.student(school, with_login=True)
        user = await factory.user_of(student)
        token = (await login(client, user.email)).json()["access_token"]
        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["student_id"] == student.id and me.json()["teacher_id"] is None

    async def test_unknown_user_and_wrong_password_look_the_same(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await factory.user("staff", school)
        wrong = await login(client, user.email, "wrong password")
        unknown = await login(client, "nobody@example.edu", "wrong password")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.headers["content-type"] == "application/problem+json"

    async def test_inactive_user_cannot_log_in(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await factory.user("staff", school, is_active=False)
        assert (await login(client, user.email)).status_code == 401

    async def test_repeated_failures_back_off_with_retry_after(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        user = await factory.user("staff", school)
        for _ in range(settings.login_max_failures):
            assert (await login(client, user.email, "bad")).status_code == 401
        r = await login(client, user.email)  # even the right password waits
        assert r.status_code == 429
        assert 1 <= int(r.headers["Retry-After"]) <= settings.login_base_lockout_seconds
        # Another account is not affected.
        other = await factory.user("staff", school)
        assert (await login(client, other.email)).status_code == 200

    async def test_unknown_accounts_back_off_too(
        self, client: AsyncClient, settings: Settings
    ) -> None:
        for _ in range(settings.login_max_failures):
            await login(client, "ghost@example.edu", "bad")
        assert (await login(client, "ghost@example.edu", "bad")).status_code == 429

    @pytest.mark.parametrize(
        "body", [{}, {"email": "a@b.c"}, {"email": "a@b.c", "password": ""}, {"x": 1}]
    )
    async def test_malformed_login_is_422(
        self, client: AsyncClient, body: dict[str, object]
    ) -> None:
        r = await client.post("/api/v1/auth/login", json=body)
        assert r.status_code == 422

    def test_passwords_use_argon2id_at_owasp_parameters(self) -> None:
        hashed = hash_password("x" * 12)
        assert hashed.startswith("$argon2id$")
        params = dict(p.split("=") for p in hashed.split("$")[3].split(","))
        assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2


class TestRefresh:
    async def _pair(self, client: AsyncClient, factory: Factory, school: School) -> dict[str, Any]:
        user = await factory.user("teacher", school)
        pair: dict[str, Any] = (await login(client, user.email)).json()
        return pair

    async def test_rotation_gives_a_new_pair_and_kills_the_old_token(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        first = await self._pair(client, factory, school)
        r = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert r.status_code == 200
        second = r.json()
        assert second["refresh_token"] != first["refresh_token"]
        me = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"}
        )
        assert me.status_code == 200

    async def test_reuse_revokes_the_whole_family(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        first = await self._pair(client, factory, school)
        second = (
            await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
            )
        ).json()
        reuse = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert reuse.status_code == 401
        # The legitimate holder's newer token died with the family.
        r = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
        )
        assert r.status_code == 401

    async def test_unknown_refresh_token_is_401(self, client: AsyncClient) -> None:
        r = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43})
        assert r.status_code == 401

    async def test_logout_revokes_the_refresh_token(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        pair = await self._pair(client, factory, school)
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        r = await client.post(
            "/api/v1/auth/logout", headers=headers, json={"refresh_token": pair["refresh_token"]}
        )
        assert r.status_code == 204
        r = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 401

    async def test_logout_without_body_ends_every_session(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await factory.user("teacher", school)
        a = (await login(client, user.email)).json()
        b = (await login(client, user.email)).json()
        headers = {"Authorization": f"Bearer {a['access_token']}"}
        assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
        for pair in (a, b):
            r = await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            assert r.status_code == 401

    async def test_logout_needs_a_token(self, client: AsyncClient) -> None:
        assert (await client.post("/api/v1/auth/logout")).status_code == 401


class TestAccessTokens:
    def _claims(self, settings: Settings, user: User, **overrides: object) -> dict[str, object]:
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": str(user.id),
            "role": user.role,
            "sch": user.school_id,
            "pid": None,
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "iat": now,
            "exp": now + 60,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not ...}

    async def _status(self, client: AsyncClient, token: str) -> int:
        r = await client.get("/api/v1/students", headers={"Authorization": f"Bearer {token}"})
        return r.status_code

    async def test_a_valid_token_is_accepted(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        user = await factory.user("admin", school)
        token = jwt.encode(self._claims(settings, user), settings.jwt_secret(), algorithm="HS256")
        assert await self._status(client, token) == 200

    @pytest.mark.parametrize(
        "overrides",
        [
            {"exp": int(time.time()) - 10},
            {"aud": "someone-else"},
            {"iss": "evil"},
            {"exp": ...},
            {"sub": ...},
            {"aud": ...},
        ],
        ids=["expired", "wrong-aud", "wrong-iss", "no-exp", "no-sub", "no-aud"],
    )
    async def test_bad_claims_are_401(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        settings: Settings,
        overrides: dict[str, object],
    ) -> None:
        user = await factory.user("admin", school)
        claims = self._claims(settings, user, **overrides)
        token = jwt.encode(claims, settings.jwt_secret(), algorithm="HS256")
        assert await self._status(client, token) == 401

    async def test_other_algorithms_and_keys_are_401(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        user = await factory.user("admin", school)
        claims = self._claims(settings, user)
        hs512 = jwt.encode(claims, settings.jwt_secret(), algorithm="HS512")
        other_key = jwt.encode(claims, "another-key-of-sufficient-length-0123456789", "HS256")
        unsigned = jwt.encode(claims, None, algorithm="none")
        good = jwt.encode(claims, settings.jwt_secret(), algorithm="HS256")
        tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        for token in (hs512, other_key, unsigned, tampered, "garbage", ""):
            assert await self._status(client, token) == 401, token

    async def test_non_bearer_scheme_is_401(self, client: AsyncClient) -> None:
        r = await client.get("/api/v1/students", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert r.status_code == 401


class TestSecretKey:
    def test_generated_once_and_kept(self, tmp_path: Path) -> None:
        a = Settings(var_dir=tmp_path).jwt_secret()
        b = Settings(var_dir=tmp_path).jwt_secret()
        assert a == b and len(a) >= 32
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0

    def test_environment_wins(self, tmp_path: Path) -> None:
        assert Settings(var_dir=tmp_path, secret_key="k" * 40).jwt_secret() == "k" * 40


class TestSimultaneousLogins:
    """A class of students signing in at once: every login answers 200, and their writes do
    not queue one transaction each on the write connection (SQLite has one per process;
    each statement is a hop to the driver's thread, slow while argon2 fills the cores)."""

    LOGINS = 24

    async def test_all_answer_200_without_waiting_for_the_write_connection(
        self,
        factory: Factory,
        school: School,
        settings: Settings,
        db: Database,
        count_queries: CountQueries,
    ) -> None:
        users = [await factory.user("student", school) for _ in range(self.LOGINS)]
        # A pool timeout far below one login's transaction: any login that waits for another
        # one's transaction to end answers 503.
        impatient = settings.model_copy(update={"db_pool_timeout_seconds": 0.005})
        app = create_app(impatient)
        async with app.router.lifespan_context(app):
            transport = ASGITransport(app=app)
            async with AsyncClient(transport=transport, base_url="http://test") as client:
                # One login alone first: the start-up work (the job sweep) is over by then.
                assert (await login(client, users[0].email)).status_code == 200
                with count_queries() as statements:
                    answers = await asyncio.gather(*(login(client, u.email) for u in users))
        assert [r.status_code for r in answers] == [200] * self.LOGINS, [
            r.text for r in answers if r.status_code != 200
        ][:3]
        async with db.sessionmaker() as session:
            events = (await session.scalars(select(LoginEvent))).all()
            touched = await session.scalar(
                select(func.count()).select_from(User).where(User.last_login_at.is_not(None))
            )
        assert Counter(e.user_id for e in events) == Counter([users[0].id] + [u.id for u in users])
        assert all(e.success for e in events) and touched == self.LOGINS
        # Written together: fewer INSERTs of login rows than logins.
        inserts = [s for s in statements if s.startswith("INSERT INTO login_history")]
        assert 1 <= len(inserts) < self.LOGINS, len(inserts)
