"""The Exports page: start a background export, follow it live (an htmx row that polls only
while the job runs), download its file through the web session."""

import asyncio
import csv
import io
import re
import time

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from homeroom.models import Job, School, User
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.ops import alert_of, data_statements, is_current, signed_in_as, token_of

POLLING = re.compile(r'hx-get="/exports/(\d+)/row" hx-trigger="every 1s" hx-swap="outerHTML"')


@pytest.fixture
async def school(factory: Factory) -> School:
    school = await factory.school()
    await factory.student(school, first_name="Marie", last_name="Curie")
    return school


async def jobs_of(factory: Factory, user: User) -> list[Job]:
    async with factory.db.sessionmaker() as session:
        found = await session.scalars(select(Job).where(Job.owner_id == user.id))
        return list(found.all())


async def a_job(factory: Factory, user: User, state: str, progress: int = 0) -> Job:
    return await factory.save(
        Job(
            owner_id=user.id,
            school_id=user.school_id,
            kind="export",
            role=user.role,
            params={"kind": "grades", "format": "xlsx"},
            state=state,
            progress=progress,
        )
    )


async def finished_row(client: AsyncClient, job_id: int, timeout: float = 30) -> str:  # noqa: ASYNC109
    """Polls the job's row as htmx does until it no longer asks to be polled."""
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/exports/{job_id}/row", headers={"hx-request": "true"})
        assert r.status_code == 200, r.text
        if "hx-trigger" not in r.text:
            return r.text
        assert time.monotonic() < deadline, r.text
        await asyncio.sleep(0.05)


class TestExportsPage:
    async def test_the_form_and_my_jobs(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        count_queries: CountQueries,
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        await a_job(factory, user, "running", 40)
        other = await factory.user("staff", school)
        await a_job(factory, other, "running")
        with count_queries() as statements:
            r = await client.get("/exports")
        assert r.status_code == 200
        assert is_current(r.text, "/exports")
        assert '<label for="kind">' in r.text and '<label for="format">' in r.text
        assert "<caption>Your exports, newest first</caption>" in r.text
        assert len(POLLING.findall(r.text)) == 1  # mine only
        assert 'value="40">40%</progress>' in r.text
        # The session, the jobs' page and their count.
        assert len(data_statements(statements)) <= 3, statements

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_other_roles_are_refused(
        self, client: AsyncClient, factory: Factory, school: School, role: str
    ) -> None:
        user = await signed_in_as(client, factory, role, school)
        r = await client.get("/exports")
        assert r.status_code == 403 and 'role="alert"' in r.text
        token = await token_of(client, "/home")
        r = await client.post(
            "/exports", data={"csrf_token": token, "kind": "students", "format": "csv"}
        )
        assert r.status_code == 403
        assert await jobs_of(factory, user) == []


class TestStartExport:
    async def test_runs_shows_progress_then_the_download(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, "/exports")
        form = {"csrf_token": token, "kind": "students", "format": "csv"}
        r = await client.post("/exports", data=form)
        assert (r.status_code, r.headers["location"]) == (303, "/exports")
        [job] = await jobs_of(factory, user)
        assert job.params == {"kind": "students", "format": "csv", "archived": "exclude"}
        row = await finished_row(client, job.id)
        assert "Finished: 1 rows" in row
        link = re.search(r'<a href="(/exports/\d+/download)" download>', row)
        assert link, row
        file = await client.get(link[1])
        assert file.status_code == 200
        assert file.headers["content-type"].startswith("text/csv")
        assert "attachment" in file.headers["content-disposition"]
        assert file.headers["cache-control"] == "private, no-cache"
        names = [
            r["last_name"] for r in csv.DictReader(io.StringIO(file.content.decode("utf-8-sig")))
        ]
        assert names == ["Curie"]
        again = await client.get(link[1], headers={"if-none-match": file.headers["etag"]})
        assert (again.status_code, again.content) == (304, b"")
        # The full page shows it finished, no longer polled.
        page = await client.get("/exports")
        assert POLLING.search(page.text) is None and link[1] in page.text

    async def test_by_htmx_it_answers_a_redirect_header(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        token = await token_of(client, "/exports")
        r = await client.post(
            "/exports",
            data={"kind": "enrollments", "format": "xlsx"},
            headers={"hx-request": "true", "x-csrf-token": token},
        )
        assert (r.status_code, r.headers["hx-redirect"]) == (200, "/exports")

    async def test_choices_off_the_lists_are_refused(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, "/exports")
        for form in ({"kind": "secrets", "format": "csv"}, {"kind": "grades", "format": "pdf"}, {}):
            r = await client.post("/exports", data={"csrf_token": token, **form})
            assert r.status_code == 422
            assert "Choose what to export" in alert_of(r.text)
        assert await jobs_of(factory, user) == []

    async def test_without_csrf_it_is_refused(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        for form in ({}, {"csrf_token": "f" * 64}):
            r = await client.post("/exports", data={**form, "kind": "students", "format": "csv"})
            assert r.status_code == 403
        assert await jobs_of(factory, user) == []


class TestJobRow:
    async def test_an_unfinished_job_polls_and_a_finished_one_stops(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        job = await a_job(factory, user, "queued")
        r = await client.get(f"/exports/{job.id}/row", headers={"hx-request": "true"})
        assert r.status_code == 200
        assert r.text.startswith(f'<tr id="export-{job.id}"')
        assert POLLING.search(r.text) and "Queued, 0%" in r.text
        assert "<html" not in r.text  # a fragment
        failed = await a_job(factory, user, "failed")
        async with factory.db.sessionmaker() as session:
            row = await session.get(Job, failed.id)
            assert row is not None
            row.error = "the disk is full"
            await session.commit()
        r = await client.get(f"/exports/{failed.id}/row")
        assert "hx-get" not in r.text and "hx-trigger" not in r.text
        assert "Failed: the disk is full" in r.text and "download" not in r.text

    async def test_anothers_job_is_not_found_and_an_unfinished_file_is_a_conflict(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        theirs = await a_job(factory, await factory.user("staff", school), "succeeded")
        for url in (f"/exports/{theirs.id}/row", f"/exports/{theirs.id}/download"):
            r = await client.get(url)
            assert r.status_code == 404 and 'role="alert"' in r.text
        mine = await a_job(factory, user, "running")
        assert (await client.get(f"/exports/{mine.id}/download")).status_code == 409

    async def test_the_row_costs_two_statements(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        count_queries: CountQueries,
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        job = await a_job(factory, user, "running")
        with count_queries() as statements:
            await client.get(f"/exports/{job.id}/row", headers={"hx-request": "true"})
        assert len(data_statements(statements)) == 2, statements  # the session, the job
