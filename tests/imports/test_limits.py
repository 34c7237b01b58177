"""Hostile files: limits counted as the file is read, never after. A 50 KB workbook of
millions of empty rows, a sheet that unzips to hundreds of megabytes, cells by the million
or XML that is neither: each answers 413 in moments, memory stays flat, and the worker keeps
answering other requests meanwhile (the file is read in the CPU pool's process)."""

import asyncio
import time
import tracemalloc
import zipfile
from collections.abc import Iterable
from io import BytesIO

import httpx
import pytest

from homeroom.imports import service as import_service
from homeroom.imports.xlsx import Limits, TooLarge, read_rows
from tests.imports.conftest import World, csv_text, upload

HEADER = ["student_number", "first_name", "last_name", "email", "date_of_birth", "grade_level"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"/>',
    "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
    '<sheet name="Students" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/'
    'package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    f'Type="{RELS}/worksheet"/></Relationships>',
}


def header_row() -> bytes:
    cells = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(HEADER)
    )
    return f'<row r="1">{cells}</row>'.encode()


def workbook(body: Iterable[bytes], shared_strings: Iterable[bytes] | None = None) -> bytes:
    """A workbook whose first sheet is the header row then `body`, streamed into the zip."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in PARTS.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + header_row())
            for chunk in body:
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
        if shared_strings is not None:
            with z.open("xl/sharedStrings.xml", "w") as strings:
                strings.write(f'<sst xmlns="{MAIN}">'.encode())
                for chunk in shared_strings:
                    strings.write(chunk)
                strings.write(b"</sst>")
    return buffer.getvalue()


def repeat(piece: bytes, times: int, per_chunk: int = 100_000) -> Iterable[bytes]:
    chunk = piece * per_chunk
    for _ in range(times // per_chunk):
        yield chunk
    yield piece * (times % per_chunk)


def read_all(data: bytes, limits: Limits) -> list[list[str]]:
    return [row.cells for row in read_rows(data, limits)]


class TestReaderLimits:
    """xlsx.read_rows counts as it goes and drops what it has read."""

    def test_every_row_counts_empty_ones_too(self) -> None:
        data = workbook(repeat(b"<row/>", 1_000))
        assert read_all(data, Limits(rows=1_000)) == [HEADER]
        with pytest.raises(TooLarge, match="more than 999 rows"):
            read_all(data, Limits(rows=999))

    def test_cells_are_counted(self) -> None:
        row = b"<row>" + b'<c t="inlineStr"><is><t>x</t></is></c>' * 10 + b"</row>"
        data = workbook(repeat(row, 9))
        assert len(read_all(data, Limits(cells=96))) == 10
        with pytest.raises(TooLarge, match="more than 95 cells"):
            read_all(data, Limits(cells=95))

    def test_a_far_cell_counts_as_the_row_it_makes(self) -> None:
        # One cell in column XFD makes a row of 16,384 cells.
        data = workbook([b'<row><c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row>'])
        with pytest.raises(TooLarge, match="more than 10,000 cells"):
            read_all(data, Limits(cells=10_000))

    def test_xml_that_is_neither_row_nor_cell_counts(self) -> None:
        data = workbook(repeat(b"<x/>", 1_000))
        with pytest.raises(TooLarge, match="cells"):
            read_all(data, Limits(rows=10, cells=100))

    def test_uncompressed_bytes_of_a_part(self) -> None:
        data = workbook(repeat(b" " * 1024, 3 * 1024, per_chunk=1024))  # 3 MB of blanks
        assert len(data) < 30_000
        assert read_all(data, Limits(part_bytes=4 * 1024 * 1024)) == [HEADER]
        with pytest.raises(TooLarge, match="larger than 2 MB once unzipped"):
            read_all(data, Limits(part_bytes=2 * 1024 * 1024))

    def test_shared_strings(self) -> None:
        data = workbook([], repeat(b"<si><t>x</t></si>", 200))
        with pytest.raises(TooLarge, match="more than 100 cells"):
            read_all(data, Limits(cells=100))

    def test_memory_stays_flat_whatever_the_sheet_holds(self) -> None:
        # 150,000 elements read and dropped: the tree never holds them.
        data = workbook(repeat(b"<row/><x/><x/>", 50_000))
        tracemalloc.start()
        try:
            started = time.perf_counter()
            assert read_all(data, Limits(rows=50_000, cells=100_000)) == [HEADER]
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 2 * 1024 * 1024, peak
        assert elapsed < 20


class TestHostileUploads:
    async def test_a_workbook_of_millions_of_empty_rows(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        """47 KB holding 30 MB of <row/> held a worker's event loop for over 30 s and grew it
        by 430 MB: now 413 at once, and the worker answers meanwhile."""
        data = workbook(repeat(b"<row/>", 3_000_000))
        assert len(data) < 100_000
        started = time.perf_counter()
        task = asyncio.create_task(
            upload(client, "students", data, world.staff, file_name="s.xlsx", dry_run=True)
        )
        answered_meanwhile = 0
        slowest = 0.0
        while not task.done():
            sent = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            slowest = max(slowest, time.perf_counter() - sent)
            answered_meanwhile += not task.done()
            await asyncio.sleep(0.002)
        r = await task
        elapsed = time.perf_counter() - started
        assert r.status_code == 413, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert "more than 50,000 rows (empty rows count too)" in r.json()["detail"]
        assert elapsed < 5
        assert answered_meanwhile >= 1
        assert slowest < 1

    async def test_a_sheet_too_large_once_unzipped(
        self, client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(import_service.limits, "max_bytes", 100_000)  # 2 MB unzipped
        data = workbook(repeat(b" " * 1024, 3 * 1024, per_chunk=1024))
        r = await upload(client, "students", data, world.staff, file_name="s.xlsx")
        assert r.status_code == 413, r.text
        assert "larger than 2 MB once unzipped" in r.json()["detail"]

    async def test_too_many_cells(
        self, client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(import_service.limits, "max_rows", 10)  # 11 rows of 32: 352 cells
        row = b"<row>" + b'<c t="inlineStr"><is><t>x</t></is></c>' * 200 + b"</row>"
        r = await upload(client, "students", workbook([row, row]), world.staff, dry_run=True)
        assert r.status_code == 413, r.text
        assert "more than 352 cells" in r.json()["detail"]

    async def test_a_csv_of_blank_lines(self, client: httpx.AsyncClient, world: World) -> None:
        data = csv_text(",".join(HEADER)) + b"\n" * 1_000_000
        r = await upload(client, "students", data, world.staff, dry_run=True)
        assert r.status_code == 413, r.text
        assert "more than 50,000 rows (empty rows count too)" in r.json()["detail"]

    async def test_a_csv_row_of_a_million_cells(
        self, client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(import_service.limits, "max_rows", 1_000)  # 32,032 cells
        data = csv_text(",".join(HEADER), "N1,A,B,a@example.edu,2010-01-01,9" + "," * 1_000_000)
        r = await upload(client, "students", data, world.staff, dry_run=True)
        assert r.status_code == 413, r.text
        assert "more than 32,032 cells" in r.json()["detail"]
