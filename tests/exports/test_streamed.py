"""GET /export/students/csv and /excel: the /students list under the same filters, sort and
scope, every row of it, streamed in one statement; spreadsheet injection neutralised."""

import re
from datetime import date, datetime
from typing import Any, cast

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import Table

from homeroom.exports.writers import Format
from homeroom.kit.db import Database
from homeroom.models import School, Student
from tests.exports import csv_rows, xlsx_rows, xlsx_sheets
from tests.factories import Factory
from tests.fixture_types import CountQueries

CSV = "/api/v1/export/students/csv"
EXCEL = "/api/v1/export/students/excel"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


@pytest.fixture
async def admin(factory: Factory, school: School) -> dict[str, str]:
    headers, _ = await factory.login_as("admin", school)
    return headers


@pytest.fixture
async def roster(factory: Factory, school: School) -> list[Student]:
    """Students of varied names, statuses and grades, one archived, and one of another school."""
    made = []
    names = [("Ada", "Smith"), ("Bea", "Smithers"), ("Cy", "Jones"), ("Di", "Brown"), ("Ed", "Ng")]
    for i, (first, last) in enumerate(names):
        made.append(
            await factory.student(
                school,
                first_name=first,
                last_name=last,
                grade_level=9 + i % 3,
                status="inactive" if i == 3 else "active",
                date_of_birth=date(2009, 1 + i, 2 + i),
            )
        )
    made.append(await factory.student(school, first_name="Old", last_name="Timer"))
    async with factory.db.sessionmaker() as session:
        archived = await session.get(Student, made[-1].id)
        assert archived is not None
        archived.archived_at = datetime.now().astimezone()
        await session.commit()
    await factory.student(await factory.school(), first_name="Other", last_name="Smith")
    return made


async def listed(client: AsyncClient, headers: dict[str, str], query: str) -> list[dict[str, Any]]:
    """Every item GET /students gives for `query`, following its cursors."""
    url: str | None = f"/api/v1/students?limit=2&{query}"
    items: list[dict[str, Any]] = []
    while url:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        url = (
            f"/api/v1/students?limit=2&{query}&cursor={body['next_cursor']}"
            if body["next_cursor"]
            else None
        )
    return items


def _same(value: Any) -> Any:
    """One spelling for a value read from JSON, CSV or XLSX: timestamps as datetimes (the
    JSON drops a zero fraction on PostgreSQL), blanks as None, numbers as text."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and TIMESTAMP.match(value):
        return datetime.fromisoformat(value)
    return str(value)


def normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _same(v) for k, v in row.items()} for row in rows]


QUERIES = [
    "",
    "status=inactive",
    "grade_level=10",
    "q=smith",
    "q=SMITH&sort=-last_name",
    "q=MITH&archived=include",  # a search through the index, as q=smith
    "q=th&sort=-student_number",  # too short for the index: every student is tested
    "q=%22mith%22",  # quotes mean nothing to the search: no match
    "archived=include&sort=-student_number",
    "archived=only",
    "sort=grade_level",
    "sort=-created_at&status=active",
]


class TestCsv:
    @pytest.mark.usefixtures("roster")
    @pytest.mark.parametrize("query", QUERIES)
    async def test_rows_equal_the_list_under_the_same_filters(
        self, client: AsyncClient, admin: dict[str, str], query: str
    ) -> None:
        expected = await listed(client, admin, query)
        r = await client.get(f"{CSV}?{query}", headers=admin)
        assert r.status_code == 200, r.text
        rows = csv_rows(r.content)
        assert normalised(rows) == normalised(expected)
        assert list(rows[0]) == list(expected[0]) if rows else True

    @pytest.mark.usefixtures("roster")
    async def test_headers(self, client: AsyncClient, admin: dict[str, str]) -> None:
        r = await client.get(CSV, headers=admin)
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        disposition = r.headers["content-disposition"]
        assert re.fullmatch(r'attachment; filename="students-\d{8}-\d{4}\.csv"', disposition)
        assert r.headers["cache-control"] == "private, no-cache"
        assert "etag" not in r.headers
        assert r.content.split(b"\r\n")[0] == (
            b"\xef\xbb\xbfid,school_id,user_id,student_number,first_name,last_name,email,"
            b"date_of_birth,grade_level,status,archived_at,created_at,updated_at"
        )

    @pytest.mark.usefixtures("roster")
    async def test_compressed_when_asked(self, client: AsyncClient, admin: dict[str, str]) -> None:
        plain = await client.get(CSV, headers=admin)
        r = await client.get(CSV, headers={**admin, "Accept-Encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip"
        assert csv_rows(r.content) == csv_rows(plain.content)  # httpx decodes it

    async def test_an_empty_list_is_the_header_alone(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        r = await client.get(CSV, headers=admin)
        assert r.status_code == 200
        assert csv_rows(r.content) == []

    async def test_quoting_and_injection(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        hostile = {
            '=HYPERLINK("http://x","y")': "Formula",
            "+1+2": "Plus",
            "-3": "Minus",
            "@SUM(A1)": "At",
            "\tTab": "Tab",
            "\rReturn": "Return",
            'Quote "q", comma': "Text",
            "Line\nbreak": "Text",
            "Anne-Marie": "Safe",
        }
        for first, last in hostile.items():
            await factory.student(school, first_name=first, last_name=last)
        r = await client.get(f"{CSV}?sort=id", headers=admin)
        got = [row["first_name"] for row in csv_rows(r.content)]
        assert got == [
            '\'=HYPERLINK("http://x","y")',
            "'+1+2",
            "'-3",
            "'@SUM(A1)",
            "'\tTab",
            "'\rReturn",
            'Quote "q", comma',
            "Line\nbreak",
            "Anne-Marie",
        ]

    @pytest.mark.parametrize(
        "query",
        [
            "status=bogus",
            "grade_level=99",
            "grade_level=x",
            "archived=sometimes",
            "sort=email",
            "sort=-nope",
            f"q={'x' * 101}",
        ],
    )
    async def test_bad_filters_are_422(
        self, client: AsyncClient, admin: dict[str, str], query: str
    ) -> None:
        for url in (CSV, EXCEL):
            r = await client.get(f"{url}?{query}", headers=admin)
            assert r.status_code == 422, (url, query, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["errors"]

    async def test_needs_a_token(self, client: AsyncClient) -> None:
        for url in (CSV, EXCEL):
            assert (await client.get(url)).status_code == 401


class TestScope:
    async def test_each_role_exports_what_it_lists(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        students = [await factory.student(school) for _ in range(4)]
        await factory.student(await factory.school())
        teacher_headers, teacher = await factory.login_as("teacher", school)
        section = await factory.section(await factory.course(await factory.term(school)), teacher)
        for s in students[:2]:
            await factory.enroll(s, section)
        guardian_headers, guardian = await factory.login_as("guardian", school)
        from homeroom.models import StudentGuardian

        await factory.save(StudentGuardian(student_id=students[3].id, guardian_id=guardian.id))
        student_headers, me = await factory.login_as("student", school)
        staff_headers, _ = await factory.login_as("staff", school)
        expected = {
            "teacher": (teacher_headers, {students[0].id, students[1].id}),
            "guardian": (guardian_headers, {students[3].id}),
            "student": (student_headers, {me.id}),
            "staff": (staff_headers, {s.id for s in students} | {me.id}),
        }
        for role, (headers, ids) in expected.items():
            listed_ids = {s["id"] for s in await listed(client, headers, "")}
            assert listed_ids == ids, role
            r = await client.get(CSV, headers=headers)
            assert r.status_code == 200, (role, r.text)
            assert {int(row["id"]) for row in csv_rows(r.content)} == ids, role
            r = await client.get(EXCEL, headers=headers)
            assert {row["id"] for row in xlsx_rows(r.content)} == ids, role


class TestExcel:
    @pytest.mark.usefixtures("roster")
    @pytest.mark.parametrize("query", ["", "q=smith&sort=-last_name", "archived=include"])
    async def test_rows_equal_the_list(
        self, client: AsyncClient, admin: dict[str, str], query: str
    ) -> None:
        expected = await listed(client, admin, query)
        r = await client.get(f"{EXCEL}?{query}", headers=admin)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert re.fullmatch(
            r'attachment; filename="students-\d{8}-\d{4}\.xlsx"',
            r.headers["content-disposition"],
        )
        assert "content-encoding" not in r.headers  # a zip already
        sheets = xlsx_sheets(r.content)
        assert list(sheets) == ["Students"]
        rows = xlsx_rows(r.content)
        assert normalised(rows) == normalised(expected)
        if rows:
            # Typed cells: numbers are numbers, the birth date a real date.
            assert isinstance(rows[0]["id"], int) and isinstance(rows[0]["grade_level"], int)
            assert rows[0]["date_of_birth"] == expected[0]["date_of_birth"]

    async def test_injection_and_markup_are_inert(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        names = ["=1+1", "+cmd", "-2", "@x", "<b>&amp;</b>", "bell\x07", "  padded  ", "Zoë"]
        for name in names:
            await factory.student(school, first_name=name)
        r = await client.get(f"{EXCEL}?sort=id", headers=admin)
        got = [row["first_name"] for row in xlsx_rows(r.content)]
        assert got == [
            "'=1+1",
            "'+cmd",
            "'-2",
            "'@x",
            "<b>&amp;</b>",
            "bell\x07",
            "  padded  ",
            "Zoë",
        ]
        # No cell is a formula.
        assert b"<f>" not in _sheet_xml(r.content)

    async def test_an_empty_list_is_a_valid_workbook(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        r = await client.get(EXCEL, headers=admin)
        assert r.status_code == 200
        sheets = xlsx_sheets(r.content)
        assert sheets["Students"][0][:3] == ["id", "school_id", "user_id"]
        assert len(sheets["Students"]) == 1


def _sheet_xml(content: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return z.read("xl/worksheets/sheet1.xml")


async def _bulk_students(db: Database, school: School, n: int, start: int) -> None:
    async with db.sessionmaker() as session:
        session.add_all(
            Student(
                school_id=school.id,
                student_number=f"B{start + i:06d}",
                first_name=f"Bulk{i}",
                last_name=f"Row{start + i:06d}",
                email=f"bulk{start + i}@test.example.edu",
                date_of_birth=date(2010, 5, 6),
                grade_level=7,
            )
            for i in range(n)
        )
        await session.commit()


class TestOneStatement:
    @pytest.mark.parametrize("url", [CSV, EXCEL])
    async def test_constant_statements_whatever_the_size(
        self,
        client: AsyncClient,
        db: Database,
        school: School,
        admin: dict[str, str],
        count_queries: CountQueries,
        url: str,
    ) -> None:
        counts = []
        total = 0
        for n in (3, 2497):  # the second crosses two batch boundaries (1,000 rows each)
            await _bulk_students(db, school, n, total)
            total += n
            with count_queries() as statements:
                r = await client.get(f"{url}?sort=student_number", headers=admin)
            assert r.status_code == 200
            rows = csv_rows(r.content) if url == CSV else xlsx_rows(r.content)
            assert len(rows) == total
            assert [str(row["student_number"]) for row in rows] == [
                f"B{i:06d}" for i in range(total)
            ]
            counts.append(len([s for s in statements if "cache_versions" not in s]))
        assert counts[0] == counts[1] == 1


class TestCachedExport:
    """A school's whole list is kept for the next download, and never outlives a write of its
    students, whoever makes it (a trigger bumps the school's people tag)."""

    @pytest.fixture(autouse=True)
    async def _epoch(self, app: FastAPI) -> None:
        # The per-test cleanup empties cache_versions, the epoch a serving process writes at
        # start included; without one nothing is cached.
        await app.state.cache.ensure_epoch()

    @pytest.mark.parametrize("url", [CSV, EXCEL])
    async def test_served_again_without_reading_the_students(
        self,
        client: AsyncClient,
        db: Database,
        school: School,
        admin: dict[str, str],
        roster: list[Student],
        count_queries: CountQueries,
        url: str,
    ) -> None:
        first = await client.get(f"{url}?sort=student_number", headers=admin)
        with count_queries() as statements:
            again = await client.get(f"{url}?sort=student_number", headers=admin)
        assert again.status_code == 200 and again.content == first.content
        assert [s for s in statements if "FROM students" in s] == []

    @pytest.mark.parametrize("url", [CSV, EXCEL])
    async def test_a_plain_sql_write_is_seen_at_once(
        self,
        client: AsyncClient,
        db: Database,
        school: School,
        admin: dict[str, str],
        roster: list[Student],
        url: str,
    ) -> None:
        def numbers(content: bytes) -> list[str]:
            rows = csv_rows(content) if url == CSV else xlsx_rows(content)
            return sorted(str(row["student_number"]) for row in rows)

        before = numbers((await client.get(url, headers=admin)).content)
        await _bulk_students(db, school, 2, 0)  # not through the API: no code bumps a tag
        after = numbers((await client.get(url, headers=admin)).content)
        assert after == sorted([*before, "B000000", "B000001"])
        async with db.sessionmaker() as session:
            await session.execute(
                cast(Table, Student.__table__)
                .update()
                .where(Student.student_number == "B000000")
                .values(student_number="B999999")
            )
            await session.commit()
        renamed = numbers((await client.get(url, headers=admin)).content)
        assert renamed == sorted([*before, "B000001", "B999999"])

    async def test_another_filter_is_another_file(
        self, client: AsyncClient, admin: dict[str, str], roster: list[Student]
    ) -> None:
        whole = csv_rows((await client.get(CSV, headers=admin)).content)
        some = csv_rows((await client.get(f"{CSV}?grade_level=9", headers=admin)).content)
        assert len(some) < len(whole)
        assert {str(r["grade_level"]) for r in some} == {"9"}


class TestClientGoesAway:
    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    async def test_a_stream_closed_early_releases_its_query(
        self, db: Database, school: School, admin: dict[str, str], fmt: Format
    ) -> None:
        """What a disconnect does to the response body: the generator is closed mid-way; the
        cursor and any pending render are dropped, and the next export runs normally."""
        from homeroom.exports import service
        from homeroom.kit.security import AccessClaims
        from homeroom.students.schemas import StudentFilters

        await _bulk_students(db, school, 2500, 0)
        claims = AccessClaims(1, "admin", school.id, None)
        export = service.students(db, claims, StudentFilters(), None, fmt)
        chunks = export.chunks()
        assert await anext(chunks)  # the header / the workbook's first parts
        while export.rows == 0:  # up to the first batch (XLSX: deflate may hold its bytes)
            await anext(chunks)
        await chunks.aclose()
        assert 0 < export.rows < 2500
        again = service.students(db, claims, StudentFilters(), None, fmt)
        data = b"".join([c async for c in again.chunks()])
        rows = csv_rows(data) if fmt == "csv" else xlsx_rows(data)
        assert len(rows) == 2500 == again.rows
