"""From a table of text cells to validated records: header matching, lenient cell reading,
then the kind's row model (the domain's own rules). Every problem becomes a row error naming
the row, the column as the file names it, the cell's text and a message.

Pure (no database, no I/O): runs in the CPU pool's process, never on the event loop.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from homeroom.imports import columns as cols
from homeroom.imports.parsing import Rejected, Table, read_table
from homeroom.imports.schemas import ROW_MODELS
from homeroom.imports.xlsx import Limits

ErrorItem = dict[str, Any]
MAX_VALUE_ECHO = 200


def error(row: int | None, column: str | None, value: str | None, message: str) -> ErrorItem:
    if value is not None and len(value) > MAX_VALUE_ECHO:
        value = value[:MAX_VALUE_ECHO] + "..."
    return {"row": row, "column": column, "value": value, "message": message}


@dataclass(slots=True)
class Record:
    row: int
    values: dict[str, Any]  # the validated values of the cells that were filled in
    cells: dict[str, str]  # their text, for error messages


@dataclass(slots=True)
class Prepared:
    kind: str
    rows: int = 0
    records: list[Record] = field(default_factory=list)
    errors: list[ErrorItem] = field(default_factory=list)
    invalid_rows: set[int] = field(default_factory=set)
    columns: dict[str, str] = field(default_factory=dict)  # header text -> column
    headers: dict[str, str] = field(default_factory=dict)  # column -> header text
    ignored: list[str] = field(default_factory=list)
    format: str | None = None
    rejection: tuple[int, str] | None = None
    header_failed: bool = False

    def add_error(
        self, row: int | None, column: str | None, value: str | None, message: str
    ) -> None:
        header = self.headers.get(column, column) if column else None
        self.errors.append(error(row, header, value, message))
        if row is not None:
            self.invalid_rows.add(row)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def prepare(
    kind_name: str,
    data: bytes,
    encoding: str | None,
    date_order: str | None,
    limits: Limits,
) -> Prepared:
    """Reads and validates a whole file (no database)."""
    out = Prepared(kind_name)
    try:
        table = read_table(data, encoding=encoding, limits=limits)
    except Rejected as exc:
        out.rejection = (exc.status, exc.message)
        return out
    out.format = table.format
    out.rows = len(table.rows)
    kind = cols.KINDS[kind_name]
    mapping = _match_header(kind, table, out)
    if out.header_failed:
        return out
    _read_rows(kind, table, mapping, date_order, out)
    return out


# --- header ------------------------------------------------------------------------------------


def _match_header(kind: cols.Kind, table: Table, out: Prepared) -> dict[int, str]:
    names = cols.names_of(kind)
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    unknown: list[str] = []
    row = table.header_row
    for index, text in enumerate(table.header):
        if not text:
            if any(index < len(r.cells) and r.cells[index].strip() for r in table.rows):
                out.ignored.append(f"column {column_letter(index)} (no header)")
            continue
        name = names.get(cols.normalize_header(text))
        if name is None:
            unknown.append(text)
            continue
        if name in seen:
            out.header_failed = True
            out.add_error(
                row,
                None,
                text,
                f"the columns '{seen[name]}' and '{text}' both mean {name}; keep one",
            )
            continue
        seen[name] = text
        mapping[index] = name
    out.ignored.extend(unknown)
    out.columns = {text: name for name, text in seen.items()}
    out.headers = dict(seen)
    present = set(seen)

    def suggestion(wanted: str) -> str:
        candidates = {cols.normalize_header(u): u for u in unknown}
        keys = [cols.normalize_header(n) for n in (wanted, *kind.column(wanted).synonyms)]
        for key in keys:
            close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.75)
            if close:
                (match,) = close
                return f" (is '{candidates[match]}' meant to be {wanted}?)"
        return ""

    for group in kind.required:
        if not present.intersection(group):
            wanted = " or ".join(group)
            first, *_ = group
            out.header_failed = True
            out.add_error(row, None, None, f"missing required column {wanted}{suggestion(first)}")
    for name, needed in kind.needs.items():
        if name in present and not present.intersection(needed):
            out.header_failed = True
            out.add_error(
                row, None, None, f"the column {name} needs a column {' or '.join(needed)} too"
            )
    return mapping


# --- rows --------------------------------------------------------------------------------------


def _read_rows(
    kind: cols.Kind,
    table: Table,
    mapping: dict[int, str],
    date_order: str | None,
    out: Prepared,
) -> None:
    model = ROW_MODELS[kind.name]
    width = len(table.header)
    contexts: dict[str, cols.CellContext] = {}
    for index, name in mapping.items():
        if kind.column(name).is_date:
            order = date_order or cols.infer_date_order(
                r.cells[index] for r in table.rows if index < len(r.cells)
            )
            contexts[name] = cols.CellContext(order)
    plain = cols.CellContext()
    readers = {name: kind.column(name).parse for name in mapping.values()}

    for sheet_row in table.rows:
        number = sheet_row.number
        cells = sheet_row.cells
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            extra = next(i for i in range(width, len(cells)) if cells[i].strip())
            out.add_error(
                number,
                None,
                cells[extra],
                f"a value in column {column_letter(extra)}, which has no header: a shifted "
                "row (an unquoted comma in a cell?)",
            )
        texts: dict[str, str] = {}
        values: dict[str, Any] = {}
        failed: set[str] = set()
        for index, name in mapping.items():
            text = cells[index].strip() if index < len(cells) else ""
            if not text:
                continue
            texts[name] = text
            reader = readers[name]
            if reader is None:
                values[name] = text
                continue
            try:
                values[name] = reader(text, contexts.get(name, plain))
            except cols.CellError as exc:
                failed.add(name)
                out.add_error(number, name, text, str(exc))
        for group in kind.required:
            if not any(n in texts for n in group):
                present = [n for n in group if n in out.headers]
                first, *_ = present
                out.add_error(number, first, "", f"{' or '.join(present)} is required")
        for name, needed in kind.needs.items():
            if name in texts and not any(n in texts for n in needed):
                first, *_ = needed
                out.add_error(number, first, "", f"{' or '.join(needed)} is required with {name}")
        try:
            validated = model.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                if err["type"] == "missing":
                    continue  # reported above, with the column's own name
                name = str(err["loc"][0]) if err["loc"] else ""
                if name in failed:
                    continue
                out.add_error(number, name or None, texts.get(name), _message(name, err))
            continue
        if number in out.invalid_rows:
            continue
        out.records.append(Record(number, validated.model_dump(exclude_unset=True), texts))


def _message(name: str, err: Any) -> str:
    kind = err["type"]
    if kind == "string_pattern_mismatch":
        if name == "student_number":
            return "may hold only letters, digits, '-' and '_'"
        if name == "phone":
            return "not a phone number (digits, spaces, + ( ) . / - only)"
        return "holds characters that are not allowed"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")


# --- kept for a background job -----------------------------------------------------------------


def dump(prepared: Prepared) -> bytes:
    """A validated file as JSON, for the job that writes it (it then need not read it again)."""
    return orjson.dumps(
        {
            "kind": prepared.kind,
            "rows": prepared.rows,
            "format": prepared.format,
            "columns": prepared.columns,
            "ignored": prepared.ignored,
            "records": [[r.row, r.values, r.cells] for r in prepared.records],
        }
    )


def load(data: bytes) -> Prepared:
    saved = orjson.loads(data)
    kind = cols.KINDS[saved["kind"]]
    dates = [c.name for c in kind.columns if c.is_date]
    records = []
    for row, values, cells in saved["records"]:
        for name in dates:
            if name in values:
                values[name] = dt.date.fromisoformat(values[name])
        records.append(Record(row, values, cells))
    columns: dict[str, str] = saved["columns"]
    return Prepared(
        kind.name,
        rows=saved["rows"],
        records=records,
        columns=columns,
        headers={name: text for text, name in columns.items()},
        ignored=saved["ignored"],
        format=saved["format"],
    )
