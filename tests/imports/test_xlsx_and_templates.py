"""XLSX uploads (dates, numbers, shared and inline strings) and the downloadable templates,
filled in and imported back."""

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime

import httpx
import pytest
import xlsxwriter
from sqlalchemy import select

from homeroom.imports.xlsx import read_rows
from homeroom.models import Student
from tests.factories import Factory
from tests.imports.conftest import API, World, upload


def workbook(rows: Sequence[Sequence[object]], constant_memory: bool = False) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": not constant_memory, "constant_memory": constant_memory}
    )
    book.add_worksheet("Cover").write(0, 0, "not this sheet")  # the first sheet is read
    sheet = book.add_worksheet("Students")
    book.worksheets_objs.reverse()  # make "Students" the first sheet in tab order
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            else:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


class TestXlsx:
    @pytest.mark.parametrize("constant_memory", [False, True])  # shared vs inline strings
    async def test_dates_numbers_and_text(
        self, client: httpx.AsyncClient, factory: Factory, world: World, constant_memory: bool
    ) -> None:
        data = workbook(
            [
                ["Student Number", "First Name", "Last Name", "Email", "Birth Date", "Grade"],
                [],  # a blank row keeps its number
                [123456, "Émile", "Zola", "emile@example.edu", date(2010, 4, 2), 9],
                ["X-7", "Ann", "Lee", "ann@example.edu", "2011-03-04", "K"],
                ["X-8", "Bad", "Grade", "bad@example.edu", date(2011, 3, 4), 9.5],
            ],
            constant_memory,
        )
        r = await upload(client, "students", data, world.staff, file_name="s.xlsx", dry_run=True)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["rows"], body["valid"]) == (3, 2)
        assert [(e["row"], e["column"], e["value"]) for e in body["errors"]] == [
            (5, "Grade", "9.5")
        ]
        rows: list[list[object]] = [
            ["Student Number", "First Name", "Last Name", "Email", "Birth Date", "Grade"],
            [123456, "Émile", "Zola", "emile@example.edu", date(2010, 4, 2), 9],
        ]
        real = workbook(rows, constant_memory)
        r = await upload(client, "students", real, world.staff, file_name="s.xlsx")
        assert r.status_code == 200, r.text
        async with factory.db.sessionmaker() as session:
            emile = await session.scalar(select(Student).where(Student.student_number == "123456"))
        assert emile is not None
        assert (emile.first_name, emile.date_of_birth, emile.grade_level) == (
            "Émile",
            date(2010, 4, 2),
            9,
        )

    def test_reader_row_numbers(self) -> None:
        data = workbook([["a", "b"], [], ["x", 1.25]])
        assert [(r.number, r.cells) for r in read_rows(data)] == [
            (1, ["a", "b"]),
            (3, ["x", "1.25"]),
        ]


class TestTemplates:
    @pytest.mark.parametrize(
        "kind", ["students", "guardians", "enrollments", "grades", "attendance"]
    )
    async def test_csv_template(self, client: httpx.AsyncClient, world: World, kind: str) -> None:
        r = await client.get(f"{API}/{kind}/template", headers=world.admin)
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert r.headers["cache-control"] == "private, no-cache"
        assert f"{kind}-import-template.csv" in r.headers["content-disposition"]
        assert r.content.startswith(b"\xef\xbb\xbf")
        header, example = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert "student_number" in header or kind == "guardians"
        assert len(example) == len(header)
        again = await client.get(
            f"{API}/{kind}/template", headers={**world.admin, "If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304

    async def test_fill_the_csv_template(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        r = await client.get(f"{API}/attendance/template", headers=world.teacher)
        header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        filled = {
            "student_number": world.students[0].student_number,
            "course_code": "MATH-101",
            "section": "01",
            "term": "Fall 2026",
            "date": "2026-09-14",
            "status": "absent",
        }
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerow([filled.get(name, "") for name in header])
        r = await upload(client, "attendance", out.getvalue().encode(), world.teacher)
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1

    async def test_xlsx_template_imports_as_is(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        r = await client.get(f"{API}/students/template?format=xlsx", headers=world.staff)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
        rows = list(read_rows(r.content))
        assert rows[0].cells[:2] == ["student_number", "first_name"]
        imported = await upload(client, "students", r.content, world.staff, file_name="t.xlsx")
        assert imported.status_code == 200, imported.text
        assert imported.json()["created"] == 1
        async with factory.db.sessionmaker() as session:
            example = await session.scalar(
                select(Student).where(Student.student_number == rows[1].cells[0])
            )
        assert example is not None and example.last_name == "Lovelace"

    async def test_template_needs_the_write_permission(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        assert (
            await client.get(f"{API}/students/template", headers=world.teacher)
        ).status_code == 403
        assert (
            await client.get(f"{API}/grades/template", headers=world.teacher)
        ).status_code == 200

    async def test_catalog_lists_what_the_caller_may_import(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        r = await client.get(API, headers=world.teacher)
        assert r.status_code == 200
        kinds = {k["kind"]: k for k in r.json()["kinds"]}
        assert set(kinds) == {"grades", "attendance"}
        columns = {c["name"]: c for c in kinds["grades"]["columns"]}
        assert columns["score"]["required"] and "points" in columns["score"]["synonyms"]
        assert r.headers["etag"]
