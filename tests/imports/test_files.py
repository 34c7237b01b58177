"""Files that cannot be imported answer 4xx problem+json and write nothing: empty, binary,
the wrong type, damaged, too big, too many rows. A fuzz of random and damaged files finds no
500."""

import io
import random
import zipfile
from collections.abc import Sequence

import httpx
import pytest
import xlsxwriter

from homeroom.imports import service as import_service
from tests.factories import Factory
from tests.imports.conftest import World, counts, csv_text, upload

HEADER = "student_number,first_name,last_name,email,date_of_birth,grade_level"


def workbook(rows: Sequence[Sequence[object]], **options: object) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, **options})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def a_zip(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return buffer.getvalue()


def assert_problem(r: httpx.Response, status: int, detail_part: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert detail_part in r.json()["detail"], r.json()["detail"]


class TestBadFiles:
    @pytest.mark.parametrize(
        ("data", "status", "detail"),
        [
            (b"", 422, "the file is empty"),
            (b"  \r\n\r\n ", 422, "the file is empty"),
            (b"\x00\x01\x02garbage\xff\xfe\x00" * 50, 415, "binary data"),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", 415, "a PDF document"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, 415, "Excel 97-2003 (.xls)"),
            (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, 415, "a PNG image"),
            (a_zip({"word/document.xml": "<w/>"}), 415, "a Word document"),
            (a_zip({"readme.txt": "hello"}), 415, "a zip archive, not an .xlsx workbook"),
            (b"PK\x03\x04" + b"\x13" * 200, 422, "damaged"),
            (b'name,"unterminated\n1,2\n', 422, "the CSV cannot be read"),
        ],
    )
    async def test_refused(
        self,
        client: httpx.AsyncClient,
        factory: Factory,
        world: World,
        data: bytes,
        status: int,
        detail: str,
    ) -> None:
        before = await counts(factory)
        assert_problem(await upload(client, "students", data, world.staff), status, detail)
        assert await counts(factory) == before

    async def test_header_only(self, client: httpx.AsyncClient, world: World) -> None:
        r = await upload(client, "students", csv_text(HEADER), world.staff)
        assert r.status_code == 200
        assert (r.json()["rows"], r.json()["created"]) == (0, 0)

    async def test_damaged_xlsx_part(self, client: httpx.AsyncClient, world: World) -> None:
        data = a_zip({"xl/workbook.xml": "<workbook><sheets><sheet"})
        assert_problem(await upload(client, "students", data, world.staff), 422, "not valid XML")

    async def test_entities_are_refused(self, client: httpx.AsyncClient, world: World) -> None:
        bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><workbook>&a;</workbook>'
        data = a_zip({"xl/workbook.xml": bomb})
        assert_problem(await upload(client, "students", data, world.staff), 422, "DOCTYPE")

    async def test_wrong_content_type(self, client: httpx.AsyncClient, world: World) -> None:
        r = await upload(client, "students", b'{"a": 1}', world.staff, raw="application/json")
        assert_problem(r, 415, "not application/json")

    async def test_multipart_without_file(self, client: httpx.AsyncClient, world: World) -> None:
        r = await client.post(
            "/api/v1/imports/students",
            data={"other": "x"},
            files={"nope": ("a.csv", b"x")},
            headers=world.staff,
        )
        assert_problem(r, 422, "multipart field 'file'")

    async def test_too_big(
        self,
        client: httpx.AsyncClient,
        world: World,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(import_service.limits, "max_bytes", 2048)
        rows = [f"N{i},A,B,n{i}@example.edu,2010-01-01,9" for i in range(100)]
        data = csv_text(HEADER, *rows)
        assert len(data) > 2048
        assert_problem(await upload(client, "students", data, world.staff), 413, "2,048-byte")
        raw = await upload(client, "students", data, world.staff, raw="text/csv")
        assert_problem(raw, 413, "2,048-byte")

    async def test_too_many_rows(
        self,
        client: httpx.AsyncClient,
        world: World,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(import_service.limits, "max_rows", 5)
        rows = [f"N{i},A,B,n{i}@example.edu,2010-01-01,9" for i in range(6)]
        r = await upload(client, "students", csv_text(HEADER, *rows), world.staff)
        assert_problem(r, 413, "more than 5 rows")


class TestFuzz:
    async def test_random_and_damaged_files_never_500(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        rng = random.Random(4)
        good_csv = csv_text(HEADER, "N1,A,B,a@example.edu,2010-01-01,9")
        good_xlsx = workbook([HEADER.split(","), ["N1", "A", "B", "a@example.edu", "x", 9]])
        samples: list[bytes] = []
        for _ in range(25):
            samples.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))))
        for base in (good_csv, good_xlsx):
            for _ in range(25):
                mutated = bytearray(base)
                for _ in range(rng.randrange(1, 8)):
                    mutated[rng.randrange(len(mutated))] = rng.randrange(256)
                samples.append(bytes(mutated))
            samples.append(base[: rng.randrange(1, len(base))])
        samples.append('é,"\n\r\x1a\u2028;\t'.encode() * 30)
        before = await counts(factory)
        for kind in ("students", "attendance"):
            for data in samples:
                r = await upload(client, kind, data, world.admin)
                assert r.status_code in (200, 413, 415, 422), (r.status_code, r.text, data[:60])
                if r.status_code != 200:
                    assert r.headers["content-type"] == "application/problem+json"
        after = await counts(factory)
        # Only a mutation that left a valid row may have written (one student, its audit row).
        assert after["students"] - before["students"] <= 1
