"""Reading exported files back in tests: CSV with the csv module, XLSX with zipfile and the
sheet XML (no spreadsheet library needed)."""

import csv
import io
import re
import zipfile
from datetime import date, timedelta
from typing import Any
from xml.etree import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
EXCEL_EPOCH = date(1899, 12, 30)
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def csv_rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def _cell(cell: ElementTree.Element) -> Any:
    kind = cell.get("t")
    if kind == "inlineStr":
        text = "".join(t.text or "" for t in cell.iterfind(".//m:t", NS))
        return _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    value = cell.find("m:v", NS)
    if value is None or value.text is None:
        return None
    if kind == "b":
        return value.text == "1"
    if cell.get("s") == "1":  # the date style
        return (EXCEL_EPOCH + timedelta(days=int(value.text))).isoformat()
    number = float(value.text)
    return int(number) if number.is_integer() and "." not in value.text else number


def _xml(data: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(data)  # noqa: S314 (the application's own output)


def xlsx_sheets(content: bytes) -> dict[str, list[list[Any]]]:
    """Every sheet of a workbook by name, as rows of cell values (header row included)."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        names = set(z.namelist())
        for part in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml"):
            assert part in names, part
        workbook = _xml(z.read("xl/workbook.xml"))
        rels = _xml(z.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        types = z.read("[Content_Types].xml").decode()
        sheets: dict[str, list[list[Any]]] = {}
        for sheet in workbook.iterfind(".//m:sheet", NS):
            target = f"xl/{targets[sheet.get(REL_NS)]}"
            assert f'PartName="/{target}"' in types, target
            root = _xml(z.read(target))
            sheets[str(sheet.get("name"))] = [
                [_cell(c) for c in row.iterfind("m:c", NS)]
                for row in root.iterfind(".//m:sheetData/m:row", NS)
            ]
    return sheets


def xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    """The rows of a one-sheet workbook as dicts by header."""
    sheets = xlsx_sheets(content)
    assert len(sheets) == 1, list(sheets)
    header, *rows = next(iter(sheets.values()))
    return [dict(zip(header, row, strict=True)) for row in rows]
