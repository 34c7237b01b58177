"""The teacher's sections and a section's roster."""

import re

import pytest
from httpx import AsyncClient

from homeroom.models import School
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.web.pages import sign_in
from tests.web.teaching import a_class, signed_in_teacher


class TestMySections:
    async def test_lists_the_teachers_sections_with_their_pages(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        world = await signed_in_teacher(client, factory)
        with count_queries() as statements:
            r = await client.get("/sections")
        assert r.status_code == 200
        # The session, the sections page, the terms' names.
        assert len(statements) == 3, statements
        assert '<a href="/sections" aria-current="page">Sections</a>' in r.text
        assert "<h1>Sections</h1>" in r.text
        sid = world.section.id
        row = r.text.split(f'<a href="/sections/{sid}">', 1)[1].split("</tr>", 1)[0]
        assert "BIO101 Biology" in row
        assert "Fall 2026" in row
        assert re.search(r'<td class="number">3</td>', row)  # the dropped student not counted
        assert f'href="/sections/{sid}/attendance"' in row
        assert f'href="/sections/{sid}/gradebook"' in row
        # Not another teacher's section.
        assert f"/sections/{world.other_section.id}" not in r.text

    async def test_a_teacher_without_sections_is_told(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        teacher = await factory.teacher(school, with_login=True)
        await sign_in(client, (await factory.user_of(teacher)).email)
        r = await client.get("/sections")
        assert r.status_code == 200
        assert "You have no sections yet." in r.text

    async def test_the_office_sees_its_schools_sections(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        world = await a_class(factory)
        staff = await factory.user("staff", world.school)
        await sign_in(client, staff.email)
        r = await client.get("/sections")
        assert r.status_code == 200
        assert f'href="/sections/{world.section.id}"' in r.text
        assert f'href="/sections/{world.other_section.id}"' in r.text

    @pytest.mark.parametrize("role", ["student", "guardian"])
    async def test_students_and_guardians_are_refused(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school: School = await factory.school()
        _, who = await factory.login_as(role, school)
        await sign_in(client, (await factory.user_of(who)).email)
        for url in ("/sections", "/attendance", "/gradebook"):
            r = await client.get(url)
            assert r.status_code == 403, url
            assert 'role="alert"' in r.text

    async def test_signed_out_goes_to_sign_in(self, client: AsyncClient) -> None:
        r = await client.get("/sections")
        assert (r.status_code, r.headers["location"]) == (303, "/")


class TestRoster:
    async def test_lists_the_students_with_links(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        world = await signed_in_teacher(client, factory)
        sid = world.section.id
        with count_queries() as statements:
            r = await client.get(f"/sections/{sid}")
        assert r.status_code == 200, r.text
        # The session, the section, its visibility and its roster.
        assert len(statements) == 4, statements
        assert '<a href="/sections" aria-current="page">Sections</a>' in r.text
        assert "<h1>BIO101 Biology, section A</h1>" in r.text
        names = re.findall(r'<a href="/students/(\d+)">([^<]+)</a>', r.text)
        assert names == [(str(s.id), f"{s.last_name}, {s.first_name}") for s in world.students]
        assert f'href="/sections/{sid}/attendance">Take attendance' in r.text
        assert f'href="/sections/{sid}/gradebook">Gradebook' in r.text

    @pytest.mark.parametrize("path", ["other", "0", "abc", "99999999999", "2147483647"])
    async def test_a_section_out_of_scope_or_no_section_is_404(
        self, client: AsyncClient, factory: Factory, path: str
    ) -> None:
        world = await signed_in_teacher(client, factory)
        target = str(world.other_section.id) if path == "other" else path
        for suffix in ("", "/attendance", "/gradebook"):
            r = await client.get(f"/sections/{target}{suffix}")
            assert r.status_code == 404, (target, suffix, r.text[:300])
            assert 'role="alert"' in r.text
