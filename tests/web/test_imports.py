"""The Imports page: upload, a dry-run preview that writes nothing, then the real import of
the same file (all or nothing), and the templates."""

import asyncio
import io
import re
from pathlib import Path

import httpx
import pytest
import xlsxwriter
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from homeroom.config import Settings
from homeroom.imports import service as import_service
from homeroom.models import School, Student
from homeroom.web.imports import staging
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.imports.conftest import counts, csv_text
from tests.web.ops import alert_of, data_statements, is_current, signed_in_as, status_of, token_of
from tests.web.pages import csrf_of, sign_in

HEADER = "student_number,first_name,last_name,email,date_of_birth,grade_level"
GOOD = (
    "W0001,Ada,Lovelace,ada@example.edu,2010-12-10,9",
    "W0002,Alan,Turing,alan@example.edu,2011-06-23,8",
)
BAD = "W0003,Grace,Hopper,grace@example.edu,2010-12-09,99"


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


async def preview(
    client: AsyncClient,
    data: bytes,
    *,
    kind: str = "students",
    token: str | None = None,
    file_name: str = "pupils.csv",
    **fields: str,
) -> httpx.Response:
    form = {"kind": kind, "encoding": "", "date_order": "", **fields}
    if token is not None:
        form["csrf_token"] = token
    files = {"file": (file_name, io.BytesIO(data), "text/csv")}
    return await client.post("/imports/preview", data=form, files=files)


def apply_token(html: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match, "the preview offers no import"
    return match[1]


async def students_named(factory: Factory, prefix: str) -> list[str]:
    async with factory.db.sessionmaker() as session:
        found = await session.scalars(
            select(Student.student_number).where(Student.student_number.like(f"{prefix}%"))
        )
        return sorted(found.all())


def staged_files(settings: Settings) -> list[Path]:
    root = settings.var_dir / staging.DIRECTORY
    return sorted(root.glob("*.staged")) if root.exists() else []


@pytest.fixture(autouse=True)
def _no_staged_files(settings: Settings) -> None:
    for path in staged_files(settings):
        path.unlink()


class TestImportsPage:
    async def test_lists_the_kinds_of_the_role_and_their_templates(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        r = await client.get("/imports")
        assert r.status_code == 200
        assert is_current(r.text, "/imports")
        assert 'enctype="multipart/form-data"' in r.text
        assert '<label for="file">File</label>' in r.text
        kinds = re.findall(r'<option value="(\w+)"', r.text.split('id="kind"', 1)[1])
        assert kinds[:4] == ["students", "guardians", "enrollments", "attendance"]
        assert "grades" not in kinds[:5]  # a registrar does not write grades (the API's rule)
        assert '<a href="/imports/students/template" download>' in r.text
        assert "<caption>" in r.text

    async def test_a_student_is_refused(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "student", school)
        for r in (
            await client.get("/imports"),
            await client.get("/imports/students/template"),
        ):
            assert r.status_code == 403
            assert 'role="alert"' in r.text

    async def test_the_page_costs_one_statement(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        count_queries: CountQueries,
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        with count_queries() as statements:
            assert (await client.get("/imports")).status_code == 200
        assert len(statements) == 1, statements  # the session; the catalog is code

    @pytest.mark.parametrize("file_format", ["csv", "xlsx"])
    async def test_templates_are_the_apis(
        self, client: AsyncClient, factory: Factory, school: School, file_format: str
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        r = await client.get("/imports/guardians/template", params={"format": file_format})
        assert r.status_code == 200
        body, media_type, name = import_service.template("guardians", file_format)
        assert r.content == body
        assert r.headers["content-type"].startswith(media_type.split(";")[0])
        assert name in r.headers["content-disposition"]
        again = await client.get(
            "/imports/guardians/template",
            params={"format": file_format},
            headers={"if-none-match": r.headers["etag"]},
        )
        assert again.status_code == 304
        assert (await client.get("/imports/nothing/template")).status_code == 404
        assert (await client.get("/imports/grades/template")).status_code == 404  # not theirs
        bad = await client.get("/imports/students/template", params={"format": "pdf"})
        assert bad.status_code == 404


class TestPreview:
    async def test_a_good_file_is_ready_and_nothing_is_written(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        settings: Settings,
        count_queries: CountQueries,
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, "/imports")
        before = await counts(factory)
        with count_queries() as statements:
            r = await preview(client, csv_text(HEADER, *GOOD), token=token)
        assert r.status_code == 200, r.text
        assert status_of(r.text) == "2 rows ready: 2 new, 0 to update, 0 unchanged."
        assert "<button" in r.text and "Import 2 rows" in r.text
        assert 'role="alert"' not in r.text
        assert "pupils.csv" in r.text
        assert await counts(factory) == before
        assert await students_named(factory, "W") == []
        # The session, then the dry run's reads: no write, no transaction.
        assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
        assert len(data_statements(statements)) <= 4, statements
        assert len(staged_files(settings)) == 1

    async def test_a_bad_row_is_listed_and_cannot_be_imported(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, "/imports")
        before = await counts(factory)
        r = await preview(client, csv_text(HEADER, *GOOD, BAD), token=token)
        assert r.status_code == 200, r.text
        assert alert_of(r.text).startswith("1 error in 1 of 3 rows: nothing can be imported")
        assert "<caption>Row errors</caption>" in r.text
        row = re.search(r'<td class="number">4</td>\s*<td>grade_level</td>\s*<td>99</td>', r.text)
        assert row, r.text
        assert 'name="token"' not in r.text and "Import 3 rows" not in r.text
        assert await counts(factory) == before
        assert staged_files(settings) == []  # nothing to confirm: nothing kept

    async def test_an_xlsx_file(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "admin", school)
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet()
        for i, line in enumerate((HEADER, *GOOD)):
            sheet.write_row(i, 0, line.split(","))
        book.close()
        r = await preview(
            client, buffer.getvalue(), token=await token_of(client, "/imports"), file_name="p.xlsx"
        )
        assert r.status_code == 200, r.text
        assert status_of(r.text).startswith("2 rows ready")

    @pytest.mark.parametrize(
        ("data", "status", "message"),
        [
            (b"", 422, "the file is empty"),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", 415, "a PDF document"),
        ],
    )
    async def test_a_file_that_cannot_be_read_is_an_alert_on_the_form(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        data: bytes,
        status: int,
        message: str,
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        r = await preview(client, data, token=await token_of(client, "/imports"))
        assert r.status_code == status
        assert message in alert_of(r.text)
        assert '<option value="students" selected>' in r.text  # the choice kept

    async def test_an_admin_of_every_school_names_the_school(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        admin = await factory.user("admin", None)
        await sign_in(client, admin.email)
        page = await client.get("/imports")
        assert '<label for="school_id">School id</label>' in page.text
        token = csrf_of(page.text)
        r = await preview(client, csv_text(HEADER, *GOOD), token=token)
        assert r.status_code == 422
        assert "school_id is required" in alert_of(r.text)
        r = await preview(client, csv_text(HEADER, *GOOD), token=token, school_id=str(school.id))
        assert status_of(r.text).startswith("2 rows ready")
        form = {"csrf_token": token, "token": apply_token(r.text)}
        assert (await client.post("/imports/apply", data=form)).status_code == 200
        async with factory.db.sessionmaker() as session:
            schools = await session.scalars(
                select(Student.school_id).where(Student.student_number.like("W%"))
            )
            assert set(schools.all()) == {school.id}

    async def test_choices_off_the_lists_are_refused(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, "/imports")
        for fields in ({"kind": "grades"}, {"kind": "nope"}, {"encoding": "ebcdic"}):
            form = {"kind": "students", **fields}
            r = await preview(client, csv_text(HEADER, *GOOD), token=token, **form)
            assert r.status_code == 422
            assert alert_of(r.text).startswith("The file was not checked.")

    async def test_without_a_good_csrf_token_it_is_refused(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        for token in (None, "0" * 64):
            r = await preview(client, csv_text(HEADER, *GOOD), token=token)
            assert r.status_code == 403
            assert 'role="alert"' in r.text
        assert staged_files(settings) == []
        # A form that is no multipart form (no file) is not read as one.
        token = await token_of(client, "/imports")
        r = await client.post("/imports/preview", data={"csrf_token": token, "kind": "students"})
        assert r.status_code == 415

    async def test_a_student_cannot_preview(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "student", school)
        token = await token_of(client, "/home")
        r = await preview(client, csv_text(HEADER, *GOOD), token=token)
        assert r.status_code == 403

    async def test_the_apis_size_limit(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, "/imports")
        # Past the pages' own body limit, within the imports': read, then refused as binary.
        binary = b"\x00\x01\x02garbage\xff\xfe\x00" * (settings.max_body_bytes // 10 + 1)
        r = await preview(client, binary, token=token)
        assert r.status_code == 415, r.text
        monkeypatch.setattr(import_service.limits, "max_bytes", 2048)
        r = await preview(client, csv_text(HEADER, *GOOD * 50), token=token)
        assert r.status_code == 413
        assert "2,048-byte limit" in r.text


class TestApply:
    async def test_imports_the_previewed_file_once(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        token = await token_of(client, "/imports")
        before = await counts(factory)
        shown = await preview(client, csv_text(HEADER, *GOOD), token=token)
        form = {"csrf_token": csrf_of(shown.text), "token": apply_token(shown.text)}
        r = await client.post("/imports/apply", data=form)
        assert r.status_code == 200, r.text
        assert status_of(r.text) == (
            "Imported 2 rows of students: 2 created, 0 updated, 0 unchanged."
        )
        assert await students_named(factory, "W") == ["W0001", "W0002"]
        after = await counts(factory)
        assert after["students"] == before["students"] + 2
        assert after["audit"] == before["audit"] + 1
        assert staged_files(settings) == []
        # The same confirmation again imports nothing more.
        again = await client.post("/imports/apply", data=form)
        assert again.status_code == 409
        assert "expired" in alert_of(again.text)
        assert await counts(factory) == after

    async def test_rows_that_went_bad_since_the_preview_write_nothing(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        child = await factory.student(school, student_number="K0001")
        data = csv_text(
            "email,first_name,last_name,student_number,relationship",
            "mum@example.edu,Mary,Smith,K0001,mother",
            "dad@example.edu,John,Smith,K0001,father",
        )
        token = await token_of(client, "/imports")
        shown = await preview(client, data, kind="guardians", token=token)
        assert status_of(shown.text).startswith("2 rows ready")
        async with factory.db.sessionmaker() as session:
            row = await session.get(Student, child.id)
            await session.delete(row)
            await session.commit()
        before = await counts(factory)
        form = {"csrf_token": csrf_of(shown.text), "token": apply_token(shown.text)}
        r = await client.post("/imports/apply", data=form)
        assert r.status_code == 422
        assert alert_of(r.text).startswith("Nothing was imported: 2 of 2 rows are invalid")
        assert "Row 2, column student_number" in r.text
        assert await counts(factory) == before

    async def test_a_large_file_goes_to_a_background_job(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(import_service.limits, "job_rows", 1)
        await signed_in_as(client, factory, "staff", school)
        shown = await preview(
            client, csv_text(HEADER, *GOOD), token=await token_of(client, "/imports")
        )
        form = {"csrf_token": csrf_of(shown.text), "token": apply_token(shown.text)}
        r = await client.post("/imports/apply", data=form)
        assert r.status_code == 200
        assert "imported in the background (job " in status_of(r.text)
        for _ in range(600):  # the job writes them once it runs
            if await students_named(factory, "W"):
                break
            await asyncio.sleep(0.05)
        assert await students_named(factory, "W") == ["W0001", "W0002"]

    async def test_without_csrf_or_with_another_token_nothing_is_written(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        shown = await preview(
            client, csv_text(HEADER, *GOOD), token=await token_of(client, "/imports")
        )
        before = await counts(factory)
        token = apply_token(shown.text)
        assert (await client.post("/imports/apply", data={"token": token})).status_code == 403
        wrong = {"csrf_token": csrf_of(shown.text), "token": "x" * 32}
        assert (await client.post("/imports/apply", data=wrong)).status_code == 409
        assert await counts(factory) == before
        # The file is still there for its own page's button.
        good = {"csrf_token": csrf_of(shown.text), "token": token}
        assert (await client.post("/imports/apply", data=good)).status_code == 200
        assert await students_named(factory, "W") == ["W0001", "W0002"]

    async def test_a_newer_preview_replaces_the_older(
        self, client: AsyncClient, factory: Factory, school: School, settings: Settings
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        csrf = await token_of(client, "/imports")
        first = await preview(client, csv_text(HEADER, GOOD[0]), token=csrf)
        second = await preview(client, csv_text(HEADER, GOOD[1]), token=csrf)
        assert len(staged_files(settings)) == 1
        old = {"csrf_token": csrf, "token": apply_token(first.text)}
        assert (await client.post("/imports/apply", data=old)).status_code == 409
        new = {"csrf_token": csrf, "token": apply_token(second.text)}
        assert (await client.post("/imports/apply", data=new)).status_code == 200
        assert await students_named(factory, "W") == ["W0002"]

    async def test_the_file_is_bound_to_the_session(
        self, app: FastAPI, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        user = await signed_in_as(client, factory, "staff", school)
        shown = await preview(
            client, csv_text(HEADER, *GOOD), token=await token_of(client, "/imports")
        )
        token = apply_token(shown.text)
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://test") as other:
            await sign_in(other, user.email)  # the same person, another browser
            form = {"csrf_token": await token_of(other, "/imports"), "token": token}
            r = await other.post("/imports/apply", data=form)
            assert r.status_code == 409
        assert await students_named(factory, "W") == []

    async def test_a_stale_file_is_gone(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        await signed_in_as(client, factory, "staff", school)
        shown = await preview(
            client, csv_text(HEADER, *GOOD), token=await token_of(client, "/imports")
        )
        monkeypatch.setattr(staging, "MAX_AGE_SECONDS", -1)
        form = {"csrf_token": csrf_of(shown.text), "token": apply_token(shown.text)}
        assert (await client.post("/imports/apply", data=form)).status_code == 409
        assert await students_named(factory, "W") == []

    async def test_a_full_staging_area_refuses_a_new_preview(
        self,
        app: FastAPI,
        client: AsyncClient,
        factory: Factory,
        school: School,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(staging, "MAX_FILES", 1)
        await signed_in_as(client, factory, "staff", school)
        first = await preview(
            client, csv_text(HEADER, *GOOD), token=await token_of(client, "/imports")
        )
        assert first.status_code == 200
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://test") as other:
            await signed_in_as(other, factory, "staff", school)
            r = await preview(
                other, csv_text(HEADER, *GOOD), token=await token_of(other, "/imports")
            )
            assert r.status_code == 503
            assert "Too many imports" in alert_of(r.text)
        assert len(staged_files(settings)) == 1
