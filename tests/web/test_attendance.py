"""Taking a section's attendance for a day in the browser's forms."""

import datetime as dt
import re

from httpx import AsyncClient

from homeroom.kit.db import Database
from homeroom.models import School
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.pages import csrf_of, sign_in
from tests.web.teaching import API, Class, api_headers, signed_in_teacher

TODAY = dt.date.today()
YESTERDAY = TODAY - dt.timedelta(days=1)


def _checked(html: str, student_id: int) -> str:
    """The status checked for the student on the form."""
    found = re.findall(rf'name="status-{student_id}" value="(\w+)" checked', html)
    assert len(found) == 1, found
    return str(found[0])


def _form(world: Class, html: str, day: dt.date, **statuses: str) -> dict[str, str]:
    """The form as the page fills it, with `statuses` (by first name) changed."""
    form = {"csrf_token": csrf_of(html), "date": day.isoformat()}
    for s in world.students:
        form[f"status-{s.id}"] = statuses.get(str(s.first_name), _checked(html, s.id))
        form[f"note-{s.id}"] = ""
    return form


async def _records(
    client: AsyncClient, factory: Factory, world: Class
) -> dict[int, tuple[str, str, str]]:
    """student id -> (date, status, note) of the section's records, read through the API."""
    r = await client.get(
        f"{API}/attendance",
        params={"section_id": world.section.id, "limit": 100},
        headers=api_headers(factory, world),
    )
    assert r.status_code == 200, r.text
    return {i["student_id"]: (i["date"], i["status"], i["note"]) for i in r.json()["items"]}


class TestChoose:
    async def test_offers_the_teachers_sections_and_today(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        world = await signed_in_teacher(client, factory)
        with count_queries() as statements:
            r = await client.get("/attendance")
        assert r.status_code == 200
        assert len(statements) == 3, statements
        assert '<a href="/attendance" aria-current="page">Attendance</a>' in r.text
        assert '<label for="section_id">Section' in r.text
        assert f'<option value="{world.section.id}">BIO101 Biology, section A</option>' in r.text
        assert f'value="{TODAY.isoformat()}"' in r.text
        assert f'<option value="{world.other_section.id}"' not in r.text

    async def test_choosing_opens_the_sections_day(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        params = {"section_id": str(world.section.id), "date": YESTERDAY.isoformat()}
        r = await client.get("/attendance", params=params)
        assert r.status_code == 303
        url = f"/sections/{world.section.id}/attendance?date={YESTERDAY.isoformat()}"
        assert r.headers["location"] == url

    async def test_a_bad_date_is_explained(self, client: AsyncClient, factory: Factory) -> None:
        world = await signed_in_teacher(client, factory)
        r = await client.get("/attendance", params={"section_id": world.section.id, "date": "x"})
        assert r.status_code == 422
        assert 'role="alert"' in r.text and "YYYY-MM-DD" in r.text


class TestSheet:
    async def test_everyone_is_present_by_default_and_the_days_records_fill_the_form(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada, ben, cleo = world.students
        await factory.attendance(world.section, ben, YESTERDAY, "late", note="bus")
        url = f"/sections/{world.section.id}/attendance"
        with count_queries() as statements:
            r = await client.get(url, params={"date": YESTERDAY.isoformat()})
        assert r.status_code == 200, r.text
        assert len(statements) == 2, statements  # the session, the day's sheet
        assert '<a href="/attendance" aria-current="page">Attendance</a>' in r.text
        assert (_checked(r.text, ada.id), _checked(r.text, ben.id)) == ("present", "late")
        assert _checked(r.text, cleo.id) == "present"
        assert f'id="note-{ben.id}" name="note-{ben.id}" maxlength="500" value="bus"' in r.text
        assert f"status-{world.dropped.id}" not in r.text  # dropped: not on the sheet
        assert '<legend class="sr-only">Attendance of Ada Adams</legend>' in r.text
        assert '<label class="sr-only" for="note-' in r.text
        # Today by default.
        today = await client.get(url)
        assert f'name="date" value="{TODAY.isoformat()}"' in today.text
        assert _checked(today.text, ben.id) == "present"

    async def test_a_future_or_bad_date_is_explained_and_offers_no_form(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        url = f"/sections/{world.section.id}/attendance"
        tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
        for day, words in ((tomorrow, "in the future"), ("2026-02-30", "YYYY-MM-DD")):
            r = await client.get(url, params={"date": day})
            assert r.status_code == 422
            assert 'role="alert"' in r.text and words in r.text
            assert "Save attendance" not in r.text

    async def test_the_office_may_take_any_section_of_its_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        staff = await factory.user("staff", world.school)
        await client.post(
            "/sign-out", data={"csrf_token": csrf_of((await client.get("/home")).text)}
        )
        await sign_in(client, staff.email)
        r = await client.get(f"/sections/{world.other_section.id}/attendance")
        assert r.status_code == 200
        assert "No students are enrolled in this section." in r.text

    async def test_another_schools_staff_gets_404(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        other: School = await factory.school()
        staff = await factory.user("staff", other)
        await client.post(
            "/sign-out", data={"csrf_token": csrf_of((await client.get("/home")).text)}
        )
        await sign_in(client, staff.email)
        r = await client.get(f"/sections/{world.section.id}/attendance")
        assert r.status_code == 404


class TestSave:
    async def test_saves_every_student_in_one_write_and_says_so(
        self,
        client: AsyncClient,
        factory: Factory,
        count_queries: CountQueries,
        db: Database,
        ending: int,
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada, ben, cleo = world.students
        url = f"/sections/{world.section.id}/attendance"
        page = await client.get(url, params={"date": YESTERDAY.isoformat()})
        form = _form(world, page.text, YESTERDAY, Ben="absent", Cleo="late")
        form[f"note-{cleo.id}"] = "  doctor  "
        with count_queries() as statements:
            r = await client.post(url, data=form)
        assert r.status_code == 303, r.text
        # The session; the bulk write's read, the day's session, the upsert; its ending (and
        # SQLite's BEGIN IMMEDIATE).
        assert len(statements) == 4 + ending + db.is_sqlite, statements
        assert r.headers["location"] == f"{url}?date={YESTERDAY.isoformat()}&saved=3"
        after = await client.get(r.headers["location"])
        assert '<p class="status" role="status">Attendance saved for 3 students</p>' in after.text
        assert _checked(after.text, ben.id) == "absent"
        day = YESTERDAY.isoformat()
        assert await _records(client, factory, world) == {
            ada.id: (day, "present", ""),
            ben.id: (day, "absent", ""),
            cleo.id: (day, "late", "doctor"),
        }
        # Editable afterwards: the same day again updates the records.
        form = _form(world, after.text, YESTERDAY, Ben="excused")
        assert (await client.post(url, data=form)).status_code == 303
        records = await _records(client, factory, world)
        assert records[ben.id] == (day, "excused", "")
        assert len(records) == 3

    async def test_a_bad_row_writes_nothing_and_keeps_what_was_typed(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        ada = world.students[0]
        url = f"/sections/{world.section.id}/attendance"
        page = await client.get(url)
        form = _form(world, page.text, TODAY, Ada="absent", Ben="sleeping")
        form[f"status-{world.dropped.id}"] = "present"  # not enrolled any more
        r = await client.post(url, data=form)
        assert r.status_code == 422
        assert 'role="alert"' in r.text and "Nothing was saved" in r.text
        assert "Ben Baker (attendance)" in r.text
        assert _checked(r.text, ada.id) == "absent"  # as typed
        assert await _records(client, factory, world) == {}
        # The dropped student alone: the service's own check, nothing written either.
        form = _form(world, page.text, TODAY)
        form[f"status-{world.dropped.id}"] = "present"
        r = await client.post(url, data=form)
        assert r.status_code == 422
        assert "not enrolled" in r.text
        assert await _records(client, factory, world) == {}

    async def test_a_future_date_or_too_long_note_writes_nothing(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        url = f"/sections/{world.section.id}/attendance"
        page = await client.get(url)
        form = _form(world, page.text, TODAY + dt.timedelta(days=1))
        r = await client.post(url, data=form)
        assert r.status_code == 422 and "in the future" in r.text
        form = _form(world, page.text, TODAY)
        form[f"note-{world.students[0].id}"] = "x" * 600
        r = await client.post(url, data=form)
        assert r.status_code == 422 and "Ada Adams (note)" in r.text
        assert await _records(client, factory, world) == {}

    async def test_without_its_csrf_token_the_form_is_refused(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        url = f"/sections/{world.section.id}/attendance"
        form = _form(world, (await client.get(url)).text, TODAY)
        del form["csrf_token"]
        r = await client.post(url, data=form)
        assert r.status_code == 403
        assert await _records(client, factory, world) == {}

    async def test_another_teachers_section_is_404_and_a_student_is_refused(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await signed_in_teacher(client, factory)
        page = await client.get(f"/sections/{world.section.id}/attendance")
        form = _form(world, page.text, TODAY)
        r = await client.post(f"/sections/{world.other_section.id}/attendance", data=form)
        assert r.status_code == 404
        student = await factory.student(world.school, with_login=True)
        await factory.enroll(student, world.section)
        await client.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
        await sign_in(client, (await factory.user_of(student)).email)
        home = await client.get("/home")
        form["csrf_token"] = csrf_of(home.text)
        r = await client.post(f"/sections/{world.section.id}/attendance", data=form)
        assert r.status_code == 403
        assert await _records(client, factory, world) == {}
