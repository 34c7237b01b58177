"""From uploaded bytes to a table of text cells: what kind of file it is, how it is encoded,
where its header is. Pure functions (no database, no I/O).

Decisions, documented for users in the README:
- The content decides the format, not the file name or the declared type: a zip holding
  `xl/workbook.xml` is an .xlsx workbook (its first sheet is read), readable text is CSV.
  Everything else (.xls, .ods, Word, PDF, images, binary data) is refused with 415 and a
  message naming what it looks like.
- Text must be UTF-8 (a byte-order mark is fine) or UTF-16 with a byte-order mark. Anything
  else is refused with the line of the first bad byte, unless the caller names the encoding
  (`?encoding=cp1252`): guessing an encoding silently turns names into mojibake.
- The delimiter is the most frequent of comma, semicolon and tab on the header line.
- Row numbers are the ones a spreadsheet shows: the header is row 1 (or the row it is on in a
  workbook), each CSV record is one row even when a quoted cell spans lines. Blank rows are
  skipped but keep their numbers.
- Limits (`xlsx.Limits`) are counted as the file is read, in CSV as in XLSX: every row, blank
  ones too, counts toward the row limit (a file of blank lines is work too), and every cell
  toward the cell limit; past either, 413.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass

from homeroom.imports import xlsx

ENCODINGS = ("utf-8", "cp1252", "latin-1", "utf-16")
MAX_COLUMNS = 500


class Rejected(Exception):
    """The file as a whole cannot be imported: an HTTP status and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Table:
    format: str  # "csv" or "xlsx"
    header_row: int
    header: list[str]
    rows: list[xlsx.SheetRow]
    encoding: str | None = None
    delimiter: str | None = None


_BINARY_MAGIC = (
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 (.xls) workbook or another old Office file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"{\\rtf", "an RTF document"),
)
_SAVE_AS = "save it as .xlsx or CSV (UTF-8) and upload that"


def read_table(data: bytes, *, encoding: str | None, limits: xlsx.Limits) -> Table:
    """The header and the non-empty rows of a CSV or XLSX file; raises Rejected."""
    if not data.strip():
        raise Rejected(422, "the file is empty")
    if data.startswith(b"PK\x03\x04"):
        return _workbook(data, limits)
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise Rejected(415, f"the file is {what}, not a spreadsheet: {_SAVE_AS}")
    text, used = _decode(data, encoding)
    return _csv(text, used, limits)


# --- xlsx --------------------------------------------------------------------------------------


def _workbook(data: bytes, limits: xlsx.Limits) -> Table:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Rejected(422, "the file looks like an .xlsx workbook but it is damaged") from None
    if "xl/workbook.xml" not in names:
        if any(n.startswith("word/") for n in names):
            raise Rejected(415, f"the file is a Word document, not a spreadsheet: {_SAVE_AS}")
        if "content.xml" in names:
            raise Rejected(415, f"the file is an OpenDocument (.ods) file: {_SAVE_AS}")
        raise Rejected(415, f"the file is a zip archive, not an .xlsx workbook: {_SAVE_AS}")
    header: list[str] | None = None
    header_row = 0
    rows: list[xlsx.SheetRow] = []
    try:
        for row in xlsx.read_rows(data, limits):
            if not any(cell.strip() for cell in row.cells):
                continue
            if header is None:
                header, header_row = row.cells, row.number
                _check_width(header)
                continue
            rows.append(row)
    except xlsx.TooLarge as exc:
        raise Rejected(413, str(exc)) from None
    except xlsx.XlsxError as exc:
        raise Rejected(422, str(exc)) from None
    except Rejected:
        raise
    except Exception:
        # A hostile or broken file may fail the reader in ways no list foresees (the fuzz
        # test finds them): it is a file we cannot read, never a server error.
        raise Rejected(422, "the .xlsx workbook is damaged and cannot be read") from None
    if header is None:
        raise Rejected(422, "the workbook's first sheet is empty")
    return Table("xlsx", header_row, _trim(header), rows)


# --- csv ---------------------------------------------------------------------------------------


def _decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is None:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        elif b"\x00" in data[:65536]:
            raise Rejected(415, f"the file is binary data, not CSV text: {_SAVE_AS}")
        else:
            encoding = "utf-8"
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex().upper()
        if encoding == "utf-8":
            hint = (
                "save it as 'CSV UTF-8' in Excel, or send ?encoding=cp1252 if it was saved as "
                "plain 'CSV' on Windows"
            )
            raise Rejected(
                422, f"the file is not UTF-8 text (byte 0x{bad} on line {line}): {hint}"
            ) from None
        raise Rejected(
            422, f"the file is not valid {encoding} (byte 0x{bad} on line {line})"
        ) from None
    if "\x00" in text:
        raise Rejected(415, f"the file is binary data, not CSV text: {_SAVE_AS}")
    return text.removeprefix("\ufeff"), encoding


def _first_line(text: str) -> str:
    """The first line that is not blank, without splitting the whole text (a file of a million
    short lines would make a million strings)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        if line.strip():
            return line
        start = end + 1
    return ""


def _delimiter(text: str) -> str:
    first = _first_line(text)
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv(text: str, encoding: str, limits: xlsx.Limits) -> Table:
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_row = 0
    rows: list[xlsx.SheetRow] = []
    number = cells = 0
    max_rows = limits.rows + 1  # and the header
    try:
        for record in reader:
            number += 1
            cells += len(record)
            if number > max_rows:
                raise _too_large(xlsx.too_many_rows(limits.rows))
            if cells > limits.cells:
                raise _too_large(xlsx.too_many_cells(limits.cells))
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header, header_row = record, number
                _check_width(header)
                continue
            rows.append(xlsx.SheetRow(number, record))
    except csv.Error as exc:
        raise Rejected(422, f"the CSV cannot be read at row {number + 1}: {exc}") from None
    if header is None:
        raise Rejected(422, "the file is empty")
    return Table("csv", header_row, _trim(header), rows, encoding, delimiter)


# --- shared ------------------------------------------------------------------------------------


def _check_width(header: list[str]) -> None:
    if len(_trim(header)) > MAX_COLUMNS:
        raise Rejected(422, f"the header has more than {MAX_COLUMNS} columns")


def _trim(header: list[str]) -> list[str]:
    end = len(header)
    while end and not header[end - 1].strip():
        end -= 1
    return [cell.strip() for cell in header[:end]]


def _too_large(exc: xlsx.TooLarge) -> Rejected:
    return Rejected(413, str(exc))
