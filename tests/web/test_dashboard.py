"""The registrar's and administrator's dashboard: charts drawn on the server, their figures
as tables, the students at risk, for the office only."""

import re

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.office import Office, office, signed_in_as


@pytest.fixture
async def world(factory: Factory, app: FastAPI) -> Office:
    return await office(factory, app)


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


class TestDashboard:
    @pytest.mark.parametrize("role", ["staff", "admin"])
    async def test_the_office_sees_the_charts_by_their_names_and_their_figures(
        self, client: AsyncClient, factory: Factory, world: Office, role: str
    ) -> None:
        await signed_in_as(client, factory, getattr(world, role))
        r = await client.get("/dashboard")
        assert r.status_code == 200
        page = main_of(r.text)
        assert '<a href="/dashboard" aria-current="page">Dashboard</a>' in r.text
        for chart in ("attendance-trend", "letter-distribution"):
            assert f'id="{chart}" role="img" aria-labelledby="{chart}-title {chart}-desc"' in page
        assert '<title id="attendance-trend-title">Attendance trend</title>' in page
        assert '<title id="letter-distribution-title">Letter distribution</title>' in page
        # The trend: two school days, 100% then 0% (the figures the table repeats).
        assert "100% on 2026-11-02, 0% on 2026-11-03" in page
        assert re.search(r"2026-11-02</th>.*?100.0%", page)
        assert page.count('<circle class="dot"') == 2
        # One failing final (55%): one F.
        assert "Final grades by letter over 1 graded enrollments" in page
        assert '<tr><th scope="row">F</th><td class="number">1</td></tr>' in page
        assert page.count('<rect class="bar"') == 5
        # Ada is at risk twice over, and her page is a link away.
        assert "1 student is at risk" in page
        assert f'<a href="/students/{world.student.id}">Lovelace, Ada</a>' in page
        assert "BIO101 (55.00%)" in page
        assert "style=" not in page

    async def test_an_empty_school_draws_empty_charts(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        await signed_in_as(client, factory, await factory.user("staff", school))
        r = await client.get("/dashboard")
        assert r.status_code == 200
        page = main_of(r.text)
        assert "No attendance has been taken yet." in page
        assert "No final grades yet." in page
        assert "No student is at risk." in page
        assert "<circle" not in page and "<polyline" not in page

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_other_roles_are_refused(
        self, client: AsyncClient, factory: Factory, world: Office, role: str
    ) -> None:
        await signed_in_as(client, factory, getattr(world, role))
        r = await client.get("/dashboard")
        assert r.status_code == 403
        assert 'role="alert"' in r.text
        assert "<svg" not in r.text

    async def test_without_a_session_the_browser_goes_to_sign_in(self, client: AsyncClient) -> None:
        r = await client.get("/dashboard")
        assert (r.status_code, r.headers["location"]) == (303, "/")

    async def test_an_administrator_of_every_school_picks_one_or_sees_all(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        other = await factory.school(name="Other High")
        await factory.student(other)
        await signed_in_as(client, factory, await factory.user("admin", None))
        everyone = main_of((await client.get("/dashboard")).text)
        assert "All schools" in everyone
        assert '<label for="school">School' in everyone
        assert f'<option value="{other.id}">Other High</option>' in everyone
        assert "<dd>3 active</dd>" in everyone  # both schools together
        one = main_of((await client.get(f"/dashboard?school={other.id}")).text)
        assert f'<option value="{other.id}" selected>Other High</option>' in one
        assert "<dd>1 active</dd>" in one and "No student is at risk." in one
        assert (await client.get("/dashboard?school=999999")).status_code == 404
        # Not an id: all schools, not an error.
        assert (await client.get("/dashboard?school=x")).status_code == 200

    async def test_a_school_admin_gets_no_picker_and_only_their_school(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        other = await factory.school()
        await signed_in_as(client, factory, world.admin)
        r = await client.get(f"/dashboard?school={other.id}")
        assert r.status_code == 200
        assert '<select id="school"' not in r.text
        assert world.school.name in r.text

    async def test_never_stale_after_a_write(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        assert "<dd>2 active</dd>" in (await client.get("/dashboard")).text
        page = await client.get(f"/students/{world.other.id}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        r = await client.post(f"/students/{world.other.id}/archive", data={"csrf_token": csrf[1]})
        assert r.status_code == 303
        assert "<dd>1 active</dd>" in (await client.get("/dashboard")).text

    async def test_a_constant_number_of_statements(
        self, client: AsyncClient, factory: Factory, world: Office, count_queries: CountQueries
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        with count_queries() as built:
            assert (await client.get("/dashboard")).status_code == 200
        # The session, the cache's versions, then the dashboard's three statements.
        assert len(built) <= 6, built
        for _ in range(20):  # twenty more students at risk change nothing
            await factory.student(world.school)
        with count_queries() as again:
            assert (await client.get("/dashboard")).status_code == 200
        assert len(again) == len(built), again
        with count_queries() as cached:
            assert (await client.get("/dashboard")).status_code == 200
        assert len(cached) <= 2, cached  # the session (and PostgreSQL's version read)
