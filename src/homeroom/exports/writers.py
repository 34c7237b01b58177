"""CSV and XLSX encoders that take rows in batches and give back bytes as they go.

Both keep memory flat whatever the number of rows: a batch is encoded and handed on, nothing
is kept. The XLSX encoder writes the workbook as a ZIP stream (data descriptors after each
entry, the central directory at the end), so its first bytes can leave before the last row
is read; the sheet is SpreadsheetML with inline strings (no shared-string table to hold).
Measured against xlsxwriter's constant_memory mode and the Rust-backed writers on PyPI in
`bench/exports.py` (the reason for this choice is recorded in bench/RESULTS.md).
`xlsx_encoder` is the one place that names the XLSX writer.

Spreadsheet injection (OWASP "CSV injection"): a text cell that begins with =, +, -, @, a tab
or a carriage return is written with a leading apostrophe, in CSV and in XLSX alike, so no
spreadsheet reads it as a formula (XLSX text cells are never formulas, but a user editing the
cell or saving the sheet as CSV would make it one).

This module imports only the standard library: it also runs in the CPU process pool.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import repeat
from typing import Any, Literal

Kind = Literal["int", "float", "text", "date", "datetime", "bool"]
Row = Sequence[Any]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Excel's hard limit is 1,048,576 rows a sheet; one is the header. Past it, a new sheet starts.
MAX_SHEET_ROWS = 1_048_575
# A sheet's XML stays under the ZIP32 limit (4 GiB) so no reader meets ZIP64.
MAX_SHEET_BYTES = 3_500_000_000


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind


# --- spreadsheet injection -------------------------------------------------------------------

FORMULA_TRIGGERS = "=+-@\t\r"
_LINE_TRIGGERS = tuple("\n" + c for c in FORMULA_TRIGGERS)


def neutralize(value: str | None) -> str | None:
    """The text as a spreadsheet must show it: never the start of a formula."""
    if value and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def _any_trigger(joined: str) -> bool:
    """Whether a line of a batch's newline-joined text begins like a formula (a value that
    holds a newline can match too: that only sends the batch down the per-cell path, which
    decides exactly). Substring tests: much faster than a multiline regex."""
    if not joined:
        return False
    return joined[:1] in FORMULA_TRIGGERS or any(t in joined for t in _LINE_TRIGGERS)


# --- value forms ------------------------------------------------------------------------------


def timestamp_text(value: Any) -> Any:
    """A timestamp as SQLite stores it and the JSON API shows it: fixed-width ISO 8601 UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return value


def date_text(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def _bool_text(value: Any) -> Any:
    if value is None:
        return None
    return "true" if value else "false"


def _types(column: Sequence[Any]) -> set[type]:
    return set(map(type, column))


# --- CSV --------------------------------------------------------------------------------------


_CSV_SPECIAL = re.compile(r'[,"\r\n]')


def _csv_field(value: Any) -> str:
    """One CSV field, quoted when it must be (RFC 4180)."""
    if value is None:
        return ""
    text = str(value)
    if _CSV_SPECIAL.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def _text_or_blank(value: Any) -> str:
    return "" if value is None else str(value)


class CsvEncoder:
    """RFC 4180 CSV (CRLF, quoted where needed) in UTF-8 with a byte-order mark, which is
    what makes Excel read the file as UTF-8 (accented names stay intact).

    A batch is encoded column by column into text (numbers by one C-level `str` per column,
    text as it is unless the batch holds something to quote or neutralize), then joined
    row by row; only columns that need it pay a Python call per cell. The csv module's
    writer costs ~3x more here, str.format per row ~1.4x.
    """

    media_type = CSV_MEDIA_TYPE
    extension = "csv"

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)

    def start(self) -> bytes:
        header = ",".join(_csv_field(c.name) for c in self.columns) + "\r\n"
        return b"\xef\xbb\xbf" + header.encode("utf-8")

    def _column(self, column: Column, values: Sequence[Any]) -> Iterable[str]:
        """The column's CSV fields."""
        kind = column.kind
        nulls = values.count(None)
        if nulls == len(values):
            return repeat("", nulls)
        if kind == "text":
            present = list(filter(None, values))
            joined = "\n".join(present)
            if _any_trigger(joined):
                return map(_csv_field, map(neutralize, values))
            # A field must be quoted for a comma, a quote, a CR, or a newline of its own
            # (more newlines than the separators).
            if (
                "," in joined
                or '"' in joined
                or "\r" in joined
                or joined.count("\n") >= max(1, len(present))
            ):
                return map(_csv_field, values)
        elif kind == "datetime":
            if datetime in _types(values):
                values = list(map(timestamp_text, values))
        elif kind == "date":
            if date in _types(values):
                values = list(map(date_text, values))
        elif kind == "bool":
            values = list(map(_bool_text, values))
        elif not nulls:  # numbers
            return map(str, values)
        return map(_text_or_blank, values) if nulls else values

    def rows(self, batch: Sequence[Row]) -> bytes:
        if not batch:
            return b""
        columns = [
            self._column(column, values)
            for column, values in zip(self.columns, zip(*batch, strict=True), strict=True)
        ]
        text = "\r\n".join(map(",".join, zip(*columns, strict=True)))
        return (text + "\r\n").encode("utf-8")

    def finish(self) -> bytes:
        return b""


# --- XLSX -------------------------------------------------------------------------------------

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument"'
    ' Target="xl/workbook.xml"/></Relationships>'
)
# Cell styles: 0 general, 1 date, 2 date and time (unused so far), 3 bold (the header row).
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_WIDTHS: dict[Kind, int] = {
    "int": 10,
    "float": 10,
    "bool": 8,
    "text": 22,
    "date": 12,
    "datetime": 20,
}

# Characters XML 1.0 cannot carry, and text that looks like OOXML's own _xHHHH_ escape.
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
# The same without the escape look-alike (a plain class scans much faster; "_x" is checked
# apart as a substring).
_NEEDS_ENTITY = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _escape_match(match: re.Match[str]) -> str:
    text = match.group()
    if text in _ENTITIES:
        return _ENTITIES[text]
    if text.startswith("_x"):
        return "_x005F" + text
    return f"_x{ord(text):04X}_"


def xml_text(value: str) -> str:
    """Text for a SpreadsheetML <t> element (entities, and _xHHHH_ for control characters)."""
    return _NEEDS_ESCAPE.sub(_escape_match, value)


_EXCEL_EPOCH = date(1899, 12, 30).toordinal()
_TEXT_CELL = '<c t="inlineStr"><is><t>{}</t></is></c>'
# Leading or trailing white space survives only with xml:space="preserve".
_SPACED_TEXT_CELL = '<c t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>'
_NUMBER_CELL = "<c><v>{}</v></c>"
_EMPTY_CELL = "<c/>"


def _text_cell(value: str | None) -> str:
    if value is None:
        return _EMPTY_CELL
    template = _SPACED_TEXT_CELL if value != value.strip() else _TEXT_CELL
    return template.format(xml_text(value))


def _safe_text_cell(value: str | None) -> str:
    return _text_cell(neutralize(value))


def _number_cell(value: float | None) -> str:
    return _EMPTY_CELL if value is None else _NUMBER_CELL.format(value)


def _bool_cell(value: Any) -> str:
    if value is None:
        return _EMPTY_CELL
    return '<c t="b"><v>1</v></c>' if value else '<c t="b"><v>0</v></c>'


@lru_cache(maxsize=16384)
def _date_cell(value: Any) -> str:
    """Cached: a column of dates (birthdays, attendance days) repeats a few thousand values."""
    if value is None:
        return _EMPTY_CELL
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f'<c s="1"><v>{day.toordinal() - _EXCEL_EPOCH}</v></c>'


def _timestamp_cell(value: Any) -> str:
    return _TEXT_CELL.format(timestamp_text(value)) if value is not None else _EMPTY_CELL


def _text_cells(values: Sequence[str | None]) -> Iterable[str]:
    """The cells of one text column of a batch, by the cheapest path the batch allows: one
    C-level format per cell unless some value of the batch needs more (escaping, the
    neutralizing apostrophe, preserved edge spaces, emptiness)."""
    present: list[str] = list(filter(None, values))
    joined = "\n".join(present)
    trigger = _any_trigger(joined)
    plain = (
        not trigger
        and len(present) == len(values)  # no None, no ""
        and _NEEDS_ENTITY.search(joined) is None
        and "_x" not in joined
        and sum(map(len, present)) == sum(map(len, map(str.strip, present)))
    )
    if plain:
        return map(_TEXT_CELL.format, values)
    return map(_safe_text_cell if trigger else _text_cell, values)


_CELLS: dict[Kind, Callable[[Any], str]] = {
    "int": _number_cell,
    "float": _number_cell,
    "bool": _bool_cell,
    "date": _date_cell,
    "datetime": _timestamp_cell,
}


def _cells(kind: Kind, values: Sequence[Any]) -> Iterable[str]:
    if kind == "text":
        return _text_cells(values)
    if kind in ("int", "float") and None not in values:
        return map(_NUMBER_CELL.format, values)
    if kind == "datetime" and None not in values and datetime not in _types(values):
        return map(_TEXT_CELL.format, values)  # already the stored ISO text (SQLite)
    if values.count(None) == len(values):
        return repeat(_EMPTY_CELL, len(values))
    return map(_CELLS[kind], values)


def render_rows(kinds: Sequence[Kind], batch: Sequence[Row]) -> bytes:
    """A batch of rows as SpreadsheetML <row> elements in UTF-8 (module level: it pickles;
    bytes, not text, so that the process pool hands back a plain copy to write)."""
    if not batch:
        return b""
    cells = [
        _cells(kind, values) for kind, values in zip(kinds, zip(*batch, strict=True), strict=True)
    ]
    return "".join(map(_row_template(len(kinds)).format, *cells)).encode("utf-8")


@lru_cache(maxsize=64)
def _row_template(width: int) -> str:
    return "<row>" + "{}" * width + "</row>"


class _Sink:
    """A write-only file for zipfile that hands the bytes written so far to whoever asks."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class XlsxEncoder:
    """One workbook, streamed: a sheet per up to 1,048,575 rows, header row bold and frozen.

    Text cells are inline strings; dates are real Excel dates; timestamps are the API's ISO
    8601 UTC text (as in the CSV); numbers are numbers. ZIP entries are deflated at level 1:
    a sheet's XML is very repetitive, and level 1 already shrinks it ~10x at a fraction of
    level 6's cost.
    """

    media_type = XLSX_MEDIA_TYPE
    extension = "xlsx"

    def __init__(self, columns: Sequence[Column], sheet_name: str = "Sheet") -> None:
        self.columns = tuple(columns)
        self.kinds: tuple[Kind, ...] = tuple(c.kind for c in columns)
        self.sheet_name = _sheet_name(sheet_name)
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(
            self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
        )
        self._sheet: Any = None  # the open sheet entry
        self._sheets = 0
        self._sheet_rows = 0
        self._sheet_bytes = 0

    def start(self) -> bytes:
        self._zip.writestr("_rels/.rels", _ROOT_RELS)
        self._zip.writestr("xl/styles.xml", _STYLES)
        self._open_sheet()
        return self._sink.take()

    def _open_sheet(self) -> None:
        self._sheets += 1
        self._sheet = self._zip.open(f"xl/worksheets/sheet{self._sheets}.xml", "w")
        widths = "".join(
            f'<col min="{i}" max="{i}" width="{_WIDTHS[c.kind]}" customWidth="1"/>'
            for i, c in enumerate(self.columns, start=1)
        )
        header = "".join(
            f'<c t="inlineStr" s="3"><is><t>{xml_text(c.name)}</t></is></c>' for c in self.columns
        )
        self._write(
            f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetViews><sheetView workbookViewId="0"'
            + (' tabSelected="1"' if self._sheets == 1 else "")
            + '><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f"<cols>{widths}</cols><sheetData><row>{header}</row>"
        )
        self._sheet_rows = 0
        self._sheet_bytes = 0

    def _close_sheet(self) -> None:
        self._write("</sheetData></worksheet>")
        self._sheet.close()

    def _write(self, text: str | bytes) -> None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        self._sheet_bytes += len(data)
        self._sheet.write(data)

    def rows(self, batch: Sequence[Row]) -> bytes:
        step = MAX_SHEET_ROWS
        return b"".join(
            self.add(render_rows(self.kinds, batch[i : i + step]), len(batch[i : i + step]))
            for i in range(0, len(batch), step)
        )

    def add(self, rendered: bytes, count: int) -> bytes:
        """Appends `count` rows already rendered by `render_rows` (which may run elsewhere);
        a batch that would overfill the sheet starts the next one."""
        if not count:
            return b""
        if count > MAX_SHEET_ROWS:
            raise ValueError(f"at most {MAX_SHEET_ROWS} rows at a time")
        full = self._sheet_rows + count > MAX_SHEET_ROWS or self._sheet_bytes > MAX_SHEET_BYTES
        if full and self._sheet_rows:
            self._close_sheet()
            self._open_sheet()
        self._write(rendered)
        self._sheet_rows += count
        return self._sink.take()

    def finish(self) -> bytes:
        self._close_sheet()
        names = [
            self.sheet_name if n == 1 else _sheet_name(f"{self.sheet_name} ({n})")
            for n in range(1, self._sheets + 1)
        ]
        sheets = "".join(
            f'<sheet name="{xml_text(name)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, name in enumerate(names, start=1)
        )
        self._zip.writestr(
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/>'
            f"</bookViews><sheets>{sheets}</sheets></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, self._sheets + 1)
        )
        styles_id = self._sheets + 1
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_XML}<Relationships xmlns="{_PKG_REL}">{rels}<Relationship Id="rId{styles_id}"'
            f' Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_CT_SHEET}"/>'
            for n in range(1, self._sheets + 1)
        )
        self._zip.writestr(
            "[Content_Types].xml",
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml"'
            ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles'
            f'+xml"/>{overrides}</Types>',
        )
        self._zip.close()
        return self._sink.take()


def _sheet_name(name: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\ ."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", name).strip() or "Sheet"
    return cleaned[:31]


Encoder = CsvEncoder | XlsxEncoder
Format = Literal["csv", "xlsx"]


def xlsx_encoder(columns: Sequence[Column], sheet_name: str) -> XlsxEncoder:
    """The XLSX writer the application uses (see bench/exports.py for the measured choice)."""
    return XlsxEncoder(columns, sheet_name)


def encoder(fmt: Format, columns: Sequence[Column], sheet_name: str) -> Encoder:
    if fmt == "csv":
        return CsvEncoder(columns)
    return xlsx_encoder(columns, sheet_name)
