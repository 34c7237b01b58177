"""The students pages: the list (search, filters, keyset pages), a student's page for every
role in its scope, and the office's forms (create, edit, archive, restore), their outcomes
read back through the API."""

import re
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from homeroom.models import User
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.office import Office, office, signed_in_as
from tests.web.pages import csrf_of

API = "/api/v1/students"


@pytest.fixture
async def world(factory: Factory, app: FastAPI) -> Office:
    return await office(factory, app)


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


def listed(html: str) -> list[str]:
    """The names the list's table links to, in order."""
    return re.findall(r'<a href="/students/\d+">([^<]+)</a>', main_of(html))


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return found[1].replace("&amp;", "&") if found else None


async def api_student(client: AsyncClient, factory: Factory, user: User, sid: int) -> Any:
    r = await client.get(f"{API}/{sid}", headers=factory.headers(user))
    assert r.status_code == 200, r.text
    return r.json()


async def api_total(client: AsyncClient, factory: Factory, user: User) -> int:
    r = await client.get(API, headers=factory.headers(user), params={"archived": "include"})
    return int(r.json()["total"])


def new_student(**changes: str) -> dict[str, str]:
    return {
        "student_number": "N-100",
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.edu",
        "date_of_birth": "2011-12-09",
        "grade_level": "9",
        "status": "active",
    } | changes


class TestList:
    async def test_the_office_sees_its_school_in_a_table_with_links(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        elsewhere = await factory.school()
        await factory.student(elsewhere, last_name="Elsewhere")
        await signed_in_as(client, factory, world.staff)
        r = await client.get("/students")
        assert r.status_code == 200
        assert '<a href="/students" aria-current="page">Students</a>' in r.text
        assert "<caption>Students: 2 found</caption>" in r.text
        assert listed(r.text) == ["Lovelace, Ada", "Turing, Alan"]
        assert f'<a href="/students/{world.student.id}">' in r.text
        assert '<a href="/students/new">New student</a>' in r.text
        for name in ("Search", "Grade level", "Status", "Archived"):
            assert re.search(rf'<label for="\w+">{name}\n<(input|select)', r.text), name

    async def test_search_uses_the_apis_semantics(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        for q, names in (
            ("love", ["Lovelace, Ada"]),
            ("LOVE", ["Lovelace, Ada"]),
            ("al", ["Turing, Alan"]),  # 2 characters: the scan
            (world.other.student_number, ["Turing, Alan"]),
            ("nobody", []),
            ("%", []),
        ):
            r = await client.get("/students", params={"q": q})
            assert r.status_code == 200
            assert listed(r.text) == names, q
            api = await client.get(API, headers=factory.headers(world.staff), params={"q": q})
            assert api.json()["total"] == len(names)
        r = await client.get("/students", params={"q": "nobody"})
        assert "No student found." in r.text and "matching “nobody”: 0 found" in r.text

    async def test_filters_grade_status_and_archived(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await factory.student(world.school, last_name="Younger", grade_level=3)
        await factory.student(world.school, last_name="Gone", status="withdrawn")
        await factory.student(
            world.school, last_name="Archived", archived_at=world.school.created_at
        )
        await signed_in_as(client, factory, world.staff)

        async def last_names(query: str) -> list[str]:
            r = await client.get(f"/students?{query}")
            assert r.status_code == 200
            return [name.split(",")[0] for name in listed(r.text)]

        assert await last_names("grade_level=3") == ["Younger"]
        assert await last_names("status=withdrawn") == ["Gone"]
        assert await last_names("archived=only") == ["Archived"]
        assert "(archived)" in (await client.get("/students?archived=only")).text
        assert len(await last_names("archived=include")) == 5
        assert len(await last_names("")) == 4
        assert await last_names("grade_level=3&q=young") == ["Younger"]

    async def test_filters_it_cannot_read_are_said_not_a_500(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        for query in (
            "grade_level=99",
            "grade_level=x",
            "status=nope",
            "archived=nope",
            "q=" + "a" * 500,
        ):
            r = await client.get(f"/students?{query}")
            assert r.status_code == 200, query
        r = await client.get("/students?grade_level=99")
        assert 'role="alert"' in r.text and "Grade level must be from 0" in r.text
        bad = await client.get("/students?after=not-a-cursor")
        assert bad.status_code == 422 and 'role="alert"' in bad.text

    async def test_keyset_pages_next_and_previous(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        for i in range(28):
            await factory.student(world.school, last_name=f"Page{i:02d}")
        await signed_in_as(client, factory, world.staff)
        first = await client.get("/students?q=page")
        names = listed(first.text)
        assert len(names) == 25 and names[0].startswith("Page00") and names[-1].startswith("Page24")
        assert "Students matching “page”: 28 found" in first.text
        assert link(first.text, "prev") is None
        next_url = link(first.text, "next")
        assert next_url and "q=page" in next_url
        second = await client.get(next_url)
        assert [n[:6] for n in listed(second.text)] == ["Page25", "Page26", "Page27"]
        assert link(second.text, "next") is None
        assert "28 found" in second.text  # the cursor carries the total
        previous = link(second.text, "prev")
        assert previous
        back = await client.get(previous)
        assert listed(back.text) == names
        assert link(back.text, "prev") is None and link(back.text, "next") == next_url
        # Without a search: the school's 30 students, two pages.
        whole = await client.get("/students")
        rest = await client.get(link(whole.text, "next") or "")
        assert len(listed(whole.text)) + len(listed(rest.text)) == 30
        assert set(listed(whole.text)).isdisjoint(listed(rest.text))

    async def test_a_teacher_lists_their_students_and_a_student_themself(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.teacher)
        r = await client.get("/students")
        assert listed(r.text) == ["Lovelace, Ada"]
        assert "New student" not in r.text
        await signed_in_as(client, factory, world.other)
        assert listed((await client.get("/students")).text) == ["Turing, Alan"]

    async def test_a_constant_number_of_statements(
        self, client: AsyncClient, factory: Factory, world: Office, count_queries: CountQueries
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        counts = []
        for extra in (0, 40):
            for i in range(extra):
                await factory.student(world.school, last_name=f"More{i:02d}")
            with count_queries() as statements:
                r = await client.get("/students")
            assert r.status_code == 200
            counts.append(len(statements))
            with count_queries() as statements:
                assert (await client.get("/students?q=more")).status_code == 200
            counts.append(len(statements))
        # The session, the page (a search: with its total), the count of a longer list.
        assert max(counts) <= 3, counts


class TestStudentPage:
    @pytest.mark.parametrize("role", ["staff", "admin", "teacher", "student", "guardian"])
    async def test_who_may_see_ada_sees_her_records(
        self, client: AsyncClient, factory: Factory, world: Office, role: str
    ) -> None:
        await signed_in_as(client, factory, getattr(world, role))
        r = await client.get(f"/students/{world.student.id}")
        assert r.status_code == 200, r.text
        page = main_of(r.text)
        assert "<h1>Ada Lovelace</h1>" in page
        guardian = f"{world.guardian.first_name} {world.guardian.last_name}"
        assert f'<th scope="row">{guardian}</th><td>Guardian</td>' in page
        assert '<th scope="row">BIO101 Biology</th><td>' in page and "Fall 2026" in page
        assert "55.00%</td><td>F</td>" in page
        assert "Attendance rate 50.0% over 2 records: 1 absent" in page
        assert ("Edit student" in page) is (role in ("staff", "admin"))

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_anyone_elses_page_is_404(
        self, client: AsyncClient, factory: Factory, world: Office, role: str
    ) -> None:
        await signed_in_as(client, factory, getattr(world, role))
        r = await client.get(f"/students/{world.other.id}")
        assert r.status_code == 404
        assert 'role="alert"' in r.text and "Turing" not in r.text

    async def test_another_schools_student_unknown_ids_and_non_ids_are_404(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        elsewhere = await factory.student(await factory.school())
        await signed_in_as(client, factory, world.staff)
        for path in (str(elsewhere.id), "999999", "abc", "0", "9" * 30):
            r = await client.get(f"/students/{path}")
            assert r.status_code == 404, path
            assert "<h1>Not found</h1>" in r.text

    async def test_a_student_with_nothing_yet(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        page = main_of((await client.get(f"/students/{world.other.id}")).text)
        for empty in (
            "No guardian on record.",
            "No enrollment.",
            "No grades yet.",
            "No attendance taken yet.",
        ):
            assert empty in page

    async def test_a_constant_number_of_statements(
        self,
        app: FastAPI,
        client: AsyncClient,
        factory: Factory,
        world: Office,
        count_queries: CountQueries,
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        url = f"/students/{world.student.id}"
        counts = []
        for extra in (0, 5):  # more guardians and sections: no more statements
            for _ in range(extra):
                section = await factory.section(world.course, world.teacher)
                await factory.enroll(world.student, section)
                await factory.guardian(world.school, [world.student])
            await app.state.cache.clear_local()
            with count_queries() as built:
                r = await client.get(url)
            assert r.status_code == 200
            counts.append(len(built))
        assert r.text.count("<td>Enrolled</td>") == 6
        # Session, student, guardians, enrollments, then the grades' and the attendance's
        # cache versions (a statement each on PostgreSQL) and builds (the student's check
        # and two reads; the check and one).
        assert counts[0] == counts[1] <= 11, built
        with count_queries() as cached:
            assert (await client.get(url)).status_code == 200
        assert len(cached) <= 6, cached  # grades and attendance from the cache


async def form_token(client: AsyncClient, url: str) -> str:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def version_in(html: str) -> str:
    found = re.search(r'name="version" value="([^"]+)"', html)
    assert found
    return found[1].replace("&#34;", '"')


class TestCreate:
    async def test_a_new_student_is_written_and_their_page_says_so(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        form = await client.get("/students/new")
        assert '<label for="first_name">First name</label>' in form.text
        assert '<select id="school_id"' not in form.text  # the registrar's school
        body = new_student(email=" Grace@Example.edu ") | {"csrf_token": csrf_of(form.text)}
        r = await client.post("/students/new", data=body)
        assert r.status_code == 303
        sid = int(re.fullmatch(r"/students/(\d+)\?done=created", r.headers["location"])[1])  # type: ignore[index]
        saved = await api_student(client, factory, world.staff, sid)
        assert {k: saved[k] for k in ("student_number", "first_name", "email", "grade_level")} == {
            "student_number": "N-100",
            "first_name": "Grace",
            "email": "grace@example.edu",
            "grade_level": 9,
        }
        assert saved["school_id"] == world.school.id and saved["date_of_birth"] == "2011-12-09"
        page = await client.get(r.headers["location"])
        assert '<p class="status" role="status">Student created.</p>' in page.text

    async def test_invalid_fields_keep_what_was_typed_and_write_nothing(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        token = await form_token(client, "/students/new")
        typed = new_student(
            first_name="", email="not an email", date_of_birth="1800-01-01", student_number="a b"
        )
        r = await client.post("/students/new", data=typed | {"csrf_token": token})
        assert r.status_code == 422
        page = main_of(r.text)
        assert '<div class="alert" role="alert">' in page
        assert "First name is required." in page
        assert "Email is not a valid email address." in page
        assert "Date of birth date_of_birth must be between 1900-01-01 and today." in page
        assert "Student number may hold only letters" in page
        assert 'value="not an email"' in page and 'value="Hopper"' in page
        assert '<option value="9" selected>9</option>' in page
        assert await api_total(client, factory, world.staff) == 2

    async def test_a_taken_student_number_is_said_clearly(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        token = await form_token(client, "/students/new")
        taken = new_student(student_number=world.other.student_number)
        r = await client.post("/students/new", data=taken | {"csrf_token": token})
        assert r.status_code == 409
        assert "Student number is already another student&#39;s in this school." in r.text
        assert 'role="alert"' in r.text and 'value="Grace"' in r.text
        r = await client.post(
            "/students/new", data=new_student(email=world.other.email) | {"csrf_token": token}
        )
        assert r.status_code == 409 and "Email is already another student" in r.text
        assert await api_total(client, factory, world.staff) == 2

    async def test_without_the_csrf_token_nothing_is_written(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        for extra in ({}, {"csrf_token": "0" * 64}):
            r = await client.post("/students/new", data=new_student() | extra)
            assert r.status_code == 403 and 'role="alert"' in r.text
        assert await api_total(client, factory, world.staff) == 2

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_other_roles_are_refused(
        self, client: AsyncClient, factory: Factory, world: Office, role: str
    ) -> None:
        await signed_in_as(client, factory, getattr(world, role))
        assert (await client.get("/students/new")).status_code == 403
        token = csrf_of((await client.get("/home")).text)
        r = await client.post("/students/new", data=new_student() | {"csrf_token": token})
        assert r.status_code == 403
        assert await api_total(client, factory, world.staff) == 2

    async def test_an_administrator_of_every_school_chooses_the_school(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        admin = await factory.user("admin", None)
        await signed_in_as(client, factory, admin)
        form = await client.get("/students/new")
        assert '<label for="school_id">School</label>' in form.text
        token = csrf_of(form.text)
        r = await client.post("/students/new", data=new_student() | {"csrf_token": token})
        assert r.status_code == 422 and "School must be chosen" in r.text
        body = new_student() | {"csrf_token": token, "school_id": str(world.school.id)}
        r = await client.post("/students/new", data=body)
        assert r.status_code == 303
        assert await api_total(client, factory, world.staff) == 3


class TestEdit:
    async def test_a_changed_field_is_saved_and_the_page_says_so(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        url = f"/students/{world.other.id}/edit"
        form = await client.get(url)
        assert 'value="Alan"' in form.text and 'name="version"' in form.text
        values = dict(
            re.findall(r'<input id="(\w+)" name="\w+" type="\w+" value="([^"]*)"', form.text)
        )
        values |= {"grade_level": "10", "status": "active", "first_name": "Alan M."}
        body = values | {"csrf_token": csrf_of(form.text), "version": version_in(form.text)}
        r = await client.post(url, data=body)
        assert (r.status_code, r.headers["location"]) == (
            303,
            f"/students/{world.other.id}?done=saved",
        )
        saved = await api_student(client, factory, world.staff, world.other.id)
        assert (saved["first_name"], saved["grade_level"], saved["last_name"]) == (
            "Alan M.",
            10,
            "Turing",
        )
        page = await client.get(r.headers["location"])
        assert (
            'role="status">Changes saved.</p>' in page.text
            and "<h1>Alan M. Turing</h1>" in page.text
        )
        # The same form again: nothing changed, nothing written.
        again = await client.get(url)
        values = dict(
            re.findall(r'<input id="(\w+)" name="\w+" type="\w+" value="([^"]*)"', again.text)
        )
        body = values | {"grade_level": "10", "status": "active", "csrf_token": csrf_of(again.text)}
        r = await client.post(url, data=body | {"version": version_in(again.text)})
        assert r.headers["location"].endswith("?done=unchanged")

    async def test_a_change_saved_meanwhile_is_not_overwritten_unseen(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        url = f"/students/{world.other.id}/edit"
        form = await client.get(url)
        meanwhile = await client.patch(
            f"{API}/{world.other.id}",
            headers=factory.headers(world.staff),
            json={"last_name": "T."},
        )
        assert meanwhile.status_code == 200
        values = dict(
            re.findall(r'<input id="(\w+)" name="\w+" type="\w+" value="([^"]*)"', form.text)
        )
        body = values | {"grade_level": "9", "status": "active", "first_name": "Alan M."}
        body |= {"csrf_token": csrf_of(form.text), "version": version_in(form.text)}
        r = await client.post(url, data=body)
        assert r.status_code == 412
        assert "Someone else changed this student" in r.text and 'role="alert"' in r.text
        assert 'value="Alan M."' in r.text
        saved = await api_student(client, factory, world.staff, world.other.id)
        assert (saved["first_name"], saved["last_name"]) == ("Alan", "T.")
        # The form now holds the current version: saving again is a choice made knowingly.
        body["version"] = version_in(r.text)
        assert (await client.post(url, data=body)).status_code == 303
        saved = await api_student(client, factory, world.staff, world.other.id)
        assert saved["first_name"] == "Alan M."

    async def test_invalid_or_taken_values_show_the_form_again(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        url = f"/students/{world.other.id}/edit"
        form = await client.get(url)
        values = dict(
            re.findall(r'<input id="(\w+)" name="\w+" type="\w+" value="([^"]*)"', form.text)
        )
        base = values | {"grade_level": "9", "status": "active", "csrf_token": csrf_of(form.text)}
        r = await client.post(url, data=base | {"last_name": "", "grade_level": "14"})
        assert r.status_code == 422
        assert "Last name is required." in r.text
        r = await client.post(url, data=base | {"grade_level": "14"})
        assert r.status_code == 422 and "Grade level must be from 0 (kindergarten) to 13." in r.text
        r = await client.post(url, data=base | {"email": world.student.email})
        assert r.status_code == 409 and "Email is already another student" in r.text
        saved = await api_student(client, factory, world.staff, world.other.id)
        assert (saved["last_name"], saved["grade_level"], saved["email"]) == (
            "Turing",
            9,
            world.other.email,
        )

    async def test_refusals(self, client: AsyncClient, factory: Factory, world: Office) -> None:
        elsewhere = await factory.student(await factory.school())
        await signed_in_as(client, factory, world.staff)
        url = f"/students/{world.other.id}/edit"
        assert (await client.post(url, data={"first_name": "X"})).status_code == 403  # no CSRF
        token = await form_token(client, url)
        assert (await client.get(f"/students/{elsewhere.id}/edit")).status_code == 404
        r = await client.post(
            f"/students/{elsewhere.id}/edit", data={"csrf_token": token, "first_name": "X"}
        )
        assert r.status_code == 404
        await signed_in_as(client, factory, world.teacher)
        assert (await client.get(f"/students/{world.student.id}/edit")).status_code == 403
        token = csrf_of((await client.get("/home")).text)
        r = await client.post(
            f"/students/{world.student.id}/edit", data={"csrf_token": token, "first_name": "X"}
        )
        assert r.status_code == 403
        saved = await api_student(client, factory, world.staff, world.student.id)
        assert saved["first_name"] == "Ada"


class TestArchive:
    async def test_archive_then_restore(
        self, client: AsyncClient, factory: Factory, world: Office
    ) -> None:
        await signed_in_as(client, factory, world.staff)
        page = f"/students/{world.other.id}"
        token = await form_token(client, page)
        assert f'action="/students/{world.other.id}/archive"' in (await client.get(page)).text
        r = await client.post(f"{page}/archive", data={"csrf_token": token})
        assert (r.status_code, r.headers["location"]) == (303, f"{page}?done=archived")
        assert (await api_student(client, factory, world.staff, world.other.id))["archived_at"]
        shown = await client.get(r.headers["location"])
        assert 'role="status">Student archived.</p>' in shown.text
        assert "This student is archived." in shown.text and "Restore student" in shown.text
        assert listed((await client.get("/students")).text) == ["Lovelace, Ada"]
        r = await client.post(f"{page}/restore", data={"csrf_token": token})
        assert r.headers["location"] == f"{page}?done=restored"
        assert (await api_student(client, factory, world.staff, world.other.id))[
            "archived_at"
        ] is None
        assert len(listed((await client.get("/students")).text)) == 2

    async def test_refusals(self, client: AsyncClient, factory: Factory, world: Office) -> None:
        elsewhere = await factory.student(await factory.school())
        await signed_in_as(client, factory, world.staff)
        for action in ("archive", "restore"):
            r = await client.post(f"/students/{world.other.id}/{action}", data={})
            assert r.status_code == 403
        token = await form_token(client, "/students")
        r = await client.post(f"/students/{elsewhere.id}/archive", data={"csrf_token": token})
        assert r.status_code == 404
        await signed_in_as(client, factory, world.student)
        token = csrf_of((await client.get("/home")).text)
        r = await client.post(f"/students/{world.other.id}/archive", data={"csrf_token": token})
        assert r.status_code == 403
        assert (await api_student(client, factory, world.staff, world.other.id))[
            "archived_at"
        ] is None
        other_school = await api_student(
            client, factory, await factory.user("admin", None), elsewhere.id
        )
        assert other_school["archived_at"] is None
