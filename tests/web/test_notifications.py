"""The Notifications page: mine, unread first; mark one read, or all of them."""

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from homeroom.models import Notification, School, User
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.ops import data_statements, is_current, signed_in_as, status_of, token_of

ROLES = ("admin", "staff", "teacher", "student", "guardian")


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


async def note(factory: Factory, user: User, title: str) -> Notification:
    return await factory.save(
        Notification(user_id=user.id, kind="job.succeeded", title=title, body=f"About {title}")
    )


async def unread_titles(factory: Factory, user: User) -> list[str]:
    async with factory.db.sessionmaker() as session:
        found = await session.scalars(
            select(Notification.title)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .order_by(Notification.id)
        )
        return list(found.all())


class TestNotifications:
    @pytest.mark.parametrize("role", ROLES)
    async def test_everyone_sees_their_own(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        role: str,
        count_queries: CountQueries,
    ) -> None:
        me = await signed_in_as(client, factory, role, school)
        await note(factory, me, "Export ready")
        await note(factory, await factory.user("staff", school), "Not yours")
        with count_queries() as statements:
            r = await client.get("/notifications")
        assert r.status_code == 200
        assert is_current(r.text, "/notifications")
        assert "Export ready" in r.text and "About Export ready" in r.text
        assert "Not yours" not in r.text
        assert status_of(r.text) == "1 unread of 1."
        assert "<caption>" in r.text
        # The session, the page, the counts.
        assert len(data_statements(statements)) <= 3, statements

    async def test_mark_one_read_then_all(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        me = await signed_in_as(client, factory, "teacher", school)
        first = await note(factory, me, "First")
        await note(factory, me, "Second")
        await note(factory, me, "Third")
        token = await token_of(client, "/notifications")
        r = await client.post(f"/notifications/{first.id}/read", data={"csrf_token": token})
        assert (r.status_code, r.headers["location"]) == (303, "/notifications")
        assert await unread_titles(factory, me) == ["Second", "Third"]
        page = await client.get("/notifications")
        assert status_of(page.text) == "2 unread of 3."
        assert 'aria-label="Mark read: First"' not in page.text
        assert 'aria-label="Mark read: Second"' in page.text
        r = await client.post("/notifications/read-all", data={"csrf_token": token})
        assert r.status_code == 303
        assert await unread_titles(factory, me) == []
        page = await client.get("/notifications")
        assert status_of(page.text) == "Nothing unread of 3."
        assert "Mark all read" not in page.text

    async def test_refusals(self, client: AsyncClient, factory: Factory, school: School) -> None:
        me = await signed_in_as(client, factory, "student", school)
        mine = await note(factory, me, "Mine")
        other = await factory.user("student", school)
        theirs = await note(factory, other, "Theirs")
        token = await token_of(client, "/notifications")
        assert (await client.post(f"/notifications/{mine.id}/read", data={})).status_code == 403
        assert (
            await client.post("/notifications/read-all", data={"csrf_token": "x"})
        ).status_code == 403
        r = await client.post(f"/notifications/{theirs.id}/read", data={"csrf_token": token})
        assert r.status_code == 404 and 'role="alert"' in r.text
        assert await unread_titles(factory, me) == ["Mine"]
        assert await unread_titles(factory, other) == ["Theirs"]

    async def test_pages_of_fifty(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        me = await signed_in_as(client, factory, "staff", school)
        for n in range(55):
            await note(factory, me, f"Note {n:02d}")
        first = await client.get("/notifications")
        assert "Note 54" in first.text and "Note 04" not in first.text
        assert '<a href="/notifications?offset=50">Older</a>' in first.text
        older = await client.get("/notifications?offset=50")
        assert "Note 04" in older.text and "Note 05" not in older.text
        assert '<a href="/notifications?offset=0">Newer</a>' in older.text
        assert (await client.get("/notifications?offset=-1")).status_code == 422
