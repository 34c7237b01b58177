"""Reading the first worksheet of an .xlsx workbook with the standard library only.

An .xlsx file is a zip of XML parts. We read the workbook (which sheet comes first, the 1904
date system), the shared strings, the cell styles (which number formats are dates) and the
first sheet, streaming its rows with iterparse so memory stays proportional to one row plus
the shared strings. Cells come back as text: numbers formatted without a spurious ".0",
date-formatted numbers as ISO dates, booleans as TRUE/FALSE.

Defences, since the file comes from anyone: a bounded number of zip entries and bounded
uncompressed sizes (zip bombs), and no DOCTYPE in any part (entity expansion) - a real
workbook never has one.
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
MAX_PART_BYTES = 512 * 1024 * 1024  # uncompressed size of any one part we read

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 22, 27, 30, 36, 45, 46, 47, 50, 57})
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


class XlsxError(Exception):
    """The workbook cannot be read; the message is for the user."""


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # the row number Excel shows
    cells: list[str]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Workbook:
    def __init__(self, data: bytes) -> None:
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, OSError):
            raise XlsxError("the file is not a readable .xlsx workbook (damaged zip)") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise XlsxError("the workbook has too many parts")
        self.names = {info.filename: info for info in infos}

    def open(self, name: str) -> IO[bytes]:
        info = self.names.get(name)
        if info is None:
            raise XlsxError(f"the workbook is missing its part {name}")
        if info.file_size > MAX_PART_BYTES:
            raise XlsxError("the workbook is too large once uncompressed")
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
        return io.BufferedReader(_Bounded(self.zip.open(info), MAX_PART_BYTES))

    def parse(self, name: str) -> Iterator[tuple[str, Element]]:
        try:
            with self.open(name) as stream:
                # Safe here: open() refused any DOCTYPE, so no entity can expand.
                yield from iterparse(stream, events=("end",))  # noqa: S314
        except ParseError:
            raise XlsxError(f"the workbook part {name} is not valid XML") from None
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError):
            raise XlsxError("the workbook is damaged") from None


class _Bounded(io.RawIOBase):
    """A stream that stops with an error after `limit` bytes (a lying zip header)."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner = inner
        self.left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self.inner.read(min(len(buffer), 1 << 16))
        self.left -= len(chunk)
        if self.left < 0:
            raise XlsxError("the workbook is too large once uncompressed")
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
    for _, el in book.parse("xl/sharedStrings.xml"):
        if _local(el.tag) == "si":
            strings.append(_text_of(el))
            el.clear()
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
    in_cell_xfs = False
    for event, el in iterparse_styles(book):
        tag = _local(el.tag)
        if event == "start" and tag == "cellXfs":
            in_cell_xfs = True
        elif event == "end" and tag == "cellXfs":
            in_cell_xfs = False
        elif event == "end" and tag == "numFmt":
            custom[int(el.get("numFmtId", "0"))] = el.get("formatCode", "")
        elif event == "end" and tag == "xf" and in_cell_xfs:
            styles.append(int(el.get("numFmtId", "0") or 0))
    dates = set()
    for index, fmt in enumerate(styles):
        if fmt in _DATE_FORMAT_IDS or (fmt in custom and _is_date_format(custom[fmt])):
            dates.add(index)
    return dates


def iterparse_styles(book: _Workbook) -> Iterator[tuple[str, Element]]:
    try:
        with book.open("xl/styles.xml") as stream:
            yield from iterparse(stream, events=("start", "end"))  # noqa: S314
    except ParseError:
        raise XlsxError("the workbook's styles are not valid XML") from None
    except (ValueError, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError):
        raise XlsxError("the workbook's styles are damaged") from None


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


def read_rows(data: bytes) -> Iterator[SheetRow]:
    """The first worksheet's non-empty rows, cells as text."""
    book = _Workbook(data)
    sheet, date1904 = _first_sheet(book)
    strings = _shared_strings(book)
    dates = _date_styles(book)
    next_row = 1
    for _, el in book.parse(sheet):
        if _local(el.tag) != "row":
            continue
        number = int(el.get("r") or next_row)
        next_row = number + 1
        cells: dict[int, str] = {}
        position = 0
        for c in el:
            if _local(c.tag) != "c":
                continue
            ref = _CELL_REF.match(c.get("r", ""))
            index = _column_index(ref.group(1)) if ref else position
            position = index + 1
            if index >= MAX_COLUMNS:
                raise XlsxError("the worksheet has more columns than Excel allows")
            text = _cell_text(c, strings, dates, date1904)
            if text:
                cells[index] = text
        el.clear()
        if cells:
            width = max(cells) + 1
            yield SheetRow(number, [cells.get(i, "") for i in range(width)])


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
