"""The Users page: the school's logins by role, a page at a time; an administrator creates
and deactivates logins by the API's rules."""

import re

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select

from homeroom.kit.security import verify_password
from homeroom.models import School, User
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.ops import alert_of, data_statements, is_current, signed_in_as, status_of, token_of
from tests.web.pages import sign_in

NEW = {
    "full_name": "Mary Jackson",
    "email": "Mary.Jackson@test.example.edu",
    "role": "teacher",
    "password": "a long enough password",
    "profile_id": "",
}


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


async def user_by_email(factory: Factory, email: str) -> User | None:
    async with factory.db.sessionmaker() as session:
        found: User | None = await session.scalar(select(User).where(User.email == email))
        return found


def emails_listed(html: str) -> list[str]:
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<td>([^<@]+@[^<]+)</td>", table)


class TestUsersList:
    async def test_lists_the_schools_logins_by_role(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        count_queries: CountQueries,
    ) -> None:
        me = await signed_in_as(client, factory, "staff", school)
        teacher = await factory.user("teacher", school)
        await factory.user("teacher", await factory.school())  # another school's
        with count_queries() as statements:
            r = await client.get("/users")
        assert r.status_code == 200
        assert is_current(r.text, "/users")
        assert sorted(emails_listed(r.text)) == sorted([me.email, teacher.email])
        assert "2 logins, newest first" in r.text
        # The session and the page (the first page holds the whole list: no count).
        assert len(data_statements(statements)) == 2, statements
        r = await client.get("/users", params={"role": "teacher"})
        assert emails_listed(r.text) == [teacher.email]
        assert '<option value="teacher" selected>' in r.text
        r = await client.get("/users", params={"role": "nonsense"})
        assert r.status_code == 200 and len(emails_listed(r.text)) == 2
        # A registrar reads; only an administrator writes.
        assert "Create login" not in r.text and "Deactivate" not in r.text

    async def test_pages_by_keyset(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        count_queries: CountQueries,
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        for n in range(60):
            await factory.user("student", school, email=f"pupil{n:02d}@test.example.edu")
        first = await client.get("/users", params={"role": "student"})
        listed = emails_listed(first.text)
        assert len(listed) == 50 and listed[0] == "pupil59@test.example.edu"
        assert "60 logins of role Student" in first.text
        link = re.search(
            r'<a href="(/users\?role=student&amp;cursor=[^"]+)">Next page</a>', first.text
        )
        assert link, first.text
        with count_queries() as statements:
            second = await client.get(link[1].replace("&amp;", "&"))
        assert emails_listed(second.text) == [
            f"pupil{n:02d}@test.example.edu" for n in range(9, -1, -1)
        ]
        assert "Next page" not in second.text and "First page" in second.text
        assert len(data_statements(statements)) == 2, statements  # the total rides in the cursor
        bad = await client.get("/users", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422 and 'role="alert"' in bad.text

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_other_roles_are_refused(
        self, client: AsyncClient, factory: Factory, school: School, role: str
    ) -> None:
        await signed_in_as(client, factory, role, school)
        r = await client.get("/users")
        assert r.status_code == 403 and 'role="alert"' in r.text


class TestCreateUser:
    async def test_an_admin_creates_a_login_that_signs_in(
        self, app: FastAPI, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        token = await token_of(client, "/users")
        r = await client.post("/users", data={"csrf_token": token, **NEW})
        assert (r.status_code, r.headers["location"]) == (303, "/users?done=created&role=teacher")
        r = await client.get(r.headers["location"])
        assert status_of(r.text) == "The login was created."
        created = await user_by_email(factory, "mary.jackson@test.example.edu")
        assert created is not None
        assert (created.role, created.school_id, created.full_name) == (
            "teacher",
            school.id,
            "Mary Jackson",
        )
        assert await verify_password(NEW["password"], created.password_hash)
        assert "mary.jackson@test.example.edu" in emails_listed(r.text)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as other:
            assert (await sign_in(other, created.email, NEW["password"])).status_code == 303

    @pytest.mark.parametrize(
        ("change", "status", "message"),
        [
            ({"email": "not an email"}, 422, "email"),
            ({"password": "short"}, 422, "password"),
            ({"role": "wizard"}, 422, "role"),
            ({"full_name": ""}, 422, "full_name"),
            ({"role": "admin", "profile_id": "5"}, 422, "a admin login has no profile"),
            ({"profile_id": "999999"}, 422, "no teacher with this id"),
        ],
    )
    async def test_invalid_input_is_shown_and_kept(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        change: dict[str, str],
        status: int,
        message: str,
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        token = await token_of(client, "/users")
        r = await client.post("/users", data={"csrf_token": token, **NEW, **change})
        assert r.status_code == status
        assert 'role="alert"' in r.text
        assert message in r.text
        assert 'value="Mary Jackson"' in r.text or change.get("full_name") == ""
        assert NEW["password"] not in r.text  # never sent back
        assert await user_by_email(factory, "mary.jackson@test.example.edu") is None

    async def test_a_taken_email_is_a_conflict(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        existing = await factory.user("staff", school)
        token = await token_of(client, "/users")
        r = await client.post("/users", data={"csrf_token": token, **NEW, "email": existing.email})
        assert r.status_code == 409
        assert "already exists" in alert_of(r.text)

    async def test_a_school_admin_cannot_create_in_another_school(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        token = await token_of(client, "/users")
        other = await factory.school()
        r = await client.post(
            "/users", data={"csrf_token": token, **NEW, "school_id": str(other.id)}
        )
        assert r.status_code == 403
        assert await user_by_email(factory, "mary.jackson@test.example.edu") is None

    async def test_a_registrar_may_not_create(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, "/users")
        r = await client.post("/users", data={"csrf_token": token, **NEW, "role": "admin"})
        assert r.status_code == 403 and 'role="alert"' in r.text
        assert await user_by_email(factory, "mary.jackson@test.example.edu") is None

    async def test_without_csrf_it_is_refused(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        r = await client.post("/users", data=NEW)
        assert r.status_code == 403
        assert await user_by_email(factory, "mary.jackson@test.example.edu") is None


class TestDeactivateUser:
    async def test_an_admin_deactivates_and_the_sessions_end(
        self, app: FastAPI, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        me = await signed_in_as(client, factory, "admin", school)
        target = await factory.user("teacher", school)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as theirs:
            assert (await sign_in(theirs, target.email)).status_code == 303
            page = await client.get("/users")
            assert f'aria-label="Deactivate {target.email}"' in page.text
            assert f'aria-label="Deactivate {me.email}"' not in page.text  # never oneself
            r = await client.post(
                f"/users/{target.id}/deactivate",
                data={"csrf_token": await token_of(client, "/users")},
            )
            assert (r.status_code, r.headers["location"]) == (303, "/users?done=deactivated")
            page = await client.get(r.headers["location"])
            assert "deactivated" in status_of(page.text)
            assert f'aria-label="Deactivate {target.email}"' not in page.text
            assert (await theirs.get("/home")).status_code == 303  # signed out
        found = await user_by_email(factory, target.email)
        assert found is not None and found.is_active is False

    async def test_refusals(self, client: AsyncClient, factory: Factory, school: School) -> None:
        me = await signed_in_as(client, factory, "admin", school)
        token = await token_of(client, "/users")
        target = await factory.user("teacher", school)
        stranger = await factory.user("teacher", await factory.school())
        assert (await client.post(f"/users/{target.id}/deactivate", data={})).status_code == 403
        r = await client.post(f"/users/{me.id}/deactivate", data={"csrf_token": token})
        assert r.status_code == 422 and "cannot deactivate yourself" in alert_of(r.text)
        r = await client.post(f"/users/{stranger.id}/deactivate", data={"csrf_token": token})
        assert r.status_code == 404
        for user in (me, target, stranger):
            found = await user_by_email(factory, user.email)
            assert found is not None and found.is_active

    async def test_a_registrar_may_not(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        target = await factory.user("teacher", school)
        token = await token_of(client, "/users")
        r = await client.post(f"/users/{target.id}/deactivate", data={"csrf_token": token})
        assert r.status_code == 403
        found = await user_by_email(factory, target.email)
        assert found is not None and found.is_active
