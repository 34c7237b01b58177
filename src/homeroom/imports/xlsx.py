"""Reading the first worksheet of an .xlsx workbook with the standard library only.

An .xlsx file is a zip of XML parts. We read the workbook (which sheet comes first, the 1904
date system), the shared strings, the cell styles (which number formats are dates) and the
first sheet, streaming its rows with iterparse so memory stays proportional to one row plus
the shared strings. Cells come back as text: numbers formatted without a spurious ".0",
date-formatted numbers as ISO dates, booleans as TRUE/FALSE.

Defences, since the file comes from anyone: a bounded number of zip entries, no DOCTYPE in
any part (entity expansion; a real workbook never has one), and limits counted as the parser
goes, never after (`Limits`): the uncompressed bytes read from each part (zip bombs), the
sheet's rows (every <row> element, empty ones too: 30 MB of `<row/>` fit in a 47 KB file),
its cells, the shared strings, and the XML elements of any kind. Each element is dropped
from the tree once read, so memory stays proportional to one cell (one shared string, the
cell formats) whatever the file holds. Past a limit, `TooLarge` (413) says which.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO
from xml.etree.ElementTree import Element, ParseError, iterparse

MAX_ENTRIES = 10_000
COLUMNS_PER_ROW = 32  # the cell limit is this many per row allowed (a sane width)
# Elements one record may hold while it is read (a cell's or a shared string's rich-text runs;
# the cell formats, at most 64,000 in Excel, with their children).
_CELL_ELEMENTS = 10_000
_FORMATS_ELEMENTS = 400_000

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 22, 27, 30, 36, 45, 46, 47, 50, 57})
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


class XlsxError(Exception):
    """The workbook cannot be read; the message is for the user."""


class TooLarge(XlsxError):
    """The file is past one of the limits (413); the message says which, for the user."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What reading one file may cost, checked as it is read (plain ints: it goes to the
    CPU pool's process)."""

    rows: int = 50_000  # below the header; every row counts, empty ones too
    cells: int = 50_001 * COLUMNS_PER_ROW
    part_bytes: int = 200 * 1024 * 1024  # uncompressed bytes read from any one zip part

    @classmethod
    def for_upload(cls, max_rows: int, max_bytes: int) -> Limits:
        """The rows allowed; cells for that many rows of COLUMNS_PER_ROW; 20 times the upload
        limit or 200 MB uncompressed, whichever is smaller."""
        return cls(
            rows=max_rows,
            cells=(max_rows + 1) * COLUMNS_PER_ROW,
            part_bytes=min(20 * max_bytes, 200 * 1024 * 1024),
        )

    @property
    def elements(self) -> int:
        """XML elements of any kind in one part: a cell is 2-3 (c, v or is/t) in real files."""
        return 4 * self.cells + self.rows + 1


def too_many_rows(limit: int) -> TooLarge:
    return TooLarge(
        f"the file has more than {limit:,} rows (empty rows count too): delete the empty rows "
        "below your data, or split it into smaller files"
    )


def too_many_cells(limit: int) -> TooLarge:
    return TooLarge(
        f"the file has more than {limit:,} cells: delete the columns and rows you do not need, "
        "or split it into smaller files"
    )


def _too_large_unzipped(limit: int) -> TooLarge:
    return TooLarge(
        f"the workbook is larger than {limit / (1024 * 1024):,.0f} MB once unzipped: "
        "split it into smaller files"
    )


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # the row number Excel shows
    cells: list[str]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Workbook:
    def __init__(self, data: bytes, limits: Limits) -> None:
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, OSError):
            raise XlsxError("the file is not a readable .xlsx workbook (damaged zip)") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise XlsxError("the workbook has too many parts")
        self.names = {info.filename: info for info in infos}
        self.limits = limits

    def open(self, name: str) -> IO[bytes]:
        info = self.names.get(name)
        if info is None:
            raise XlsxError(f"the workbook is missing its part {name}")
        if info.file_size > self.limits.part_bytes:
            raise _too_large_unzipped(self.limits.part_bytes)
        try:
            head = self.zip.open(info).read(4096)
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            RuntimeError,
            NotImplementedError,
            EOFError,
        ):
            raise XlsxError("the workbook is damaged or encrypted") from None
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise XlsxError("the workbook contains XML this reader refuses (a DOCTYPE)")
        return io.BufferedReader(_Bounded(self.zip.open(info), self.limits.part_bytes))

    def parse(
        self, name: str, records: dict[str, int] | None = None
    ) -> Iterator[tuple[int, Element]]:
        """The part's elements at their end with their depth (the root is 1), each with its
        attributes and, for an element whose local name is in `records`, its children (at
        most that many elements); every element is dropped from the tree once seen, so memory
        stays flat whatever the part holds."""
        records = records or {}
        limit = self.limits.elements
        seen = 0
        stack: list[Element] = []
        record_depth = 0  # depth of the record being read, 0 outside one
        record_size = record_limit = 0
        try:
            with self.open(name) as stream:
                # Safe here: open() refused any DOCTYPE, so no entity can expand.
                for event, el in iterparse(stream, events=("start", "end")):  # noqa: S314
                    if event == "start":
                        seen += 1
                        if seen > limit:
                            raise too_many_cells(self.limits.cells)
                        stack.append(el)
                        if record_depth:
                            record_size += 1
                            if record_size > record_limit:
                                raise TooLarge(f"a cell of the workbook ({name}) holds too much")
                        elif (record := _local(el.tag)) in records:
                            record_depth, record_size, record_limit = len(stack), 0, records[record]
                        continue
                    depth = len(stack)
                    stack.pop()
                    if record_depth and depth > record_depth:
                        continue  # part of the record: kept until the record ends
                    yield depth, el
                    record_depth = 0
                    if stack:
                        stack[-1].remove(el)  # its only child now: the rest were removed
        except ParseError:
            raise XlsxError(f"the workbook part {name} is not valid XML") from None
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError):
            raise XlsxError("the workbook is damaged") from None


class _Bounded(io.RawIOBase):
    """A stream that stops with TooLarge after `limit` bytes, whatever the zip header said."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self.inner.read(min(len(buffer), 1 << 16))
        self.left -= len(chunk)
        if self.left < 0:
            raise _too_large_unzipped(self.limit)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self.inner.close()
        super().close()


def _first_sheet(book: _Workbook) -> tuple[str, bool]:
    """The path of the first worksheet in tab order, and whether dates count from 1904."""
    first_rid: str | None = None
    date1904 = False
    for _, el in book.parse("xl/workbook.xml"):
        tag = _local(el.tag)
        if tag == "workbookPr":
            date1904 = el.get("date1904", "").lower() in ("1", "true")
        elif tag == "sheet" and first_rid is None:
            first_rid = el.get(f"{{{_REL_NS}}}id") or el.get(f"{{{_STRICT_REL_NS}}}id")
    if first_rid is None:
        raise XlsxError("the workbook has no worksheet")
    for _, el in book.parse("xl/_rels/workbook.xml.rels"):
        if _local(el.tag) == "Relationship" and el.get("Id") == first_rid:
            target = el.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            return posixpath.normpath(path), date1904
    raise XlsxError("the workbook's first sheet cannot be found")


def _shared_strings(book: _Workbook) -> list[str]:
    if "xl/sharedStrings.xml" not in book.names:
        return []
    strings: list[str] = []
    limit = book.limits.cells  # a workbook stores the strings its cells use
    for _, el in book.parse("xl/sharedStrings.xml", {"si": _CELL_ELEMENTS}):
        if _local(el.tag) == "si":
            if len(strings) >= limit:
                raise too_many_cells(limit)
            strings.append(_text_of(el))
    return strings


def _text_of(el: Element) -> str:
    """The text of a string item: its <t>, or its runs' <t>s; phonetic hints left out."""
    parts: list[str] = []
    for child in el:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _is_date_format(code: str) -> bool:
    stripped = _QUOTED.sub("", code).lower()
    return any(ch in stripped for ch in "dy") or ("m" in stripped and "h" not in stripped)


def _date_styles(book: _Workbook) -> set[int]:
    """Indexes of the cell styles (cellXfs) whose number format shows a date."""
    if "xl/styles.xml" not in book.names:
        return set()
    custom: dict[int, str] = {}
    styles: list[int] = []
    for _, el in book.parse("xl/styles.xml", {"cellXfs": _FORMATS_ELEMENTS}):
        tag = _local(el.tag)
        if tag == "numFmt":
            custom[int(el.get("numFmtId", "0"))] = el.get("formatCode", "")
        elif tag == "cellXfs":
            styles = [int(xf.get("numFmtId", "0") or 0) for xf in el if _local(xf.tag) == "xf"]
    dates = set()
    for index, fmt in enumerate(styles):
        if fmt in _DATE_FORMAT_IDS or (fmt in custom and _is_date_format(custom[fmt])):
            dates.add(index)
    return dates


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _number_text(raw: str) -> str:
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        return raw
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _serial_date(raw: str, date1904: bool) -> str:
    serial = float(raw)
    if date1904:
        base = datetime(1904, 1, 1)
    else:
        # Excel counts 1900-02-29, which never was: serials from 61 on are one day ahead.
        base = datetime(1899, 12, 31) if serial < 61 else datetime(1899, 12, 30)
    return (base + timedelta(days=serial)).date().isoformat()


MAX_COLUMNS = 16_384  # Excel's own limit (XFD)
_ROW_DEPTH = 3  # worksheet > sheetData > row > c
_CELL_DEPTH = 4


def read_rows(data: bytes, limits: Limits | None = None) -> Iterator[SheetRow]:
    """The first worksheet's non-empty rows, cells as text; TooLarge past `limits`."""
    limits = limits or Limits()
    book = _Workbook(data, limits)
    sheet, date1904 = _first_sheet(book)
    strings = _shared_strings(book)
    dates = _date_styles(book)
    max_rows = limits.rows + 1  # and the header
    rows = cells_seen = cells_kept = 0
    next_row = 1
    cells: dict[int, str] = {}
    position = 0
    for depth, el in book.parse(sheet, {"c": _CELL_ELEMENTS}):
        if depth == _CELL_DEPTH and _local(el.tag) == "c":
            cells_seen += 1
            if cells_seen > limits.cells:
                raise too_many_cells(limits.cells)
            ref = _CELL_REF.match(el.get("r", ""))
            index = _column_index(ref.group(1)) if ref else position
            position = index + 1
            if index >= MAX_COLUMNS:
                raise XlsxError("the worksheet has more columns than Excel allows")
            text = _cell_text(el, strings, dates, date1904)
            if text:
                cells[index] = text
        elif depth == _ROW_DEPTH and _local(el.tag) == "row":
            rows += 1
            if rows > max_rows:
                raise too_many_rows(limits.rows)
            number = int(el.get("r") or next_row)
            next_row = number + 1
            if cells:
                width = max(cells) + 1
                cells_kept += width  # as a list, however few cells the sheet wrote
                if cells_kept > limits.cells:
                    raise too_many_cells(limits.cells)
                yield SheetRow(number, [cells.get(i, "") for i in range(width)])
                cells = {}
            position = 0


def _cell_text(c: Element, strings: list[str], dates: set[int], date1904: bool) -> str:
    kind = c.get("t", "n")
    value: str | None = None
    inline: Element | None = None
    for child in c:
        tag = _local(child.tag)
        if tag == "v":
            value = child.text
        elif tag == "is":
            inline = child
    try:
        if kind == "s":
            return strings[int(value)] if value is not None else ""
        if kind == "inlineStr":
            return _text_of(inline) if inline is not None else ""
        if value is None:
            return ""
        if kind == "b":
            return "TRUE" if value.strip() == "1" else "FALSE"
        if kind in ("str", "e"):
            return value
        if kind == "d":
            return value[:10]
        style = int(c.get("s", "0") or 0)
        if style in dates:
            return _serial_date(value, date1904)
        return _number_text(value)
    except (ValueError, IndexError, OverflowError):
        raise XlsxError(f"cell {c.get('r', '?')} holds a value this reader cannot read") from None
