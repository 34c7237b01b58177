"""The encoders on their own: values as PostgreSQL's driver returns them, escaping, sheets."""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest

from homeroom.exports import writers
from homeroom.exports.writers import Column, CsvEncoder, Row, XlsxEncoder, neutralize, xml_text
from tests.exports import csv_rows, xlsx_sheets

COLUMNS = (
    Column("id", "int"),
    Column("name", "text"),
    Column("score", "float"),
    Column("day", "date"),
    Column("at", "datetime"),
    Column("flag", "bool"),
)
ROWS = [
    (1, "Ada", 87.5, date(2026, 9, 1), datetime(2026, 9, 1, 8, 30, tzinfo=UTC), True),
    (2, None, None, None, None, False),
    (3, "=2+3", 0.0, "2026-09-02", "2026-09-02T08:00:00.000000+00:00", None),
]


def encode(encoder: CsvEncoder | XlsxEncoder, *batches: Sequence[Row]) -> bytes:
    return encoder.start() + b"".join(encoder.rows(b) for b in batches) + encoder.finish()


class TestNeutralize:
    @pytest.mark.parametrize("text", ["=1", "+1", "-1", "@a", "\tx", "\rx"])
    def test_formula_starts_get_an_apostrophe(self, text: str) -> None:
        assert neutralize(text) == "'" + text

    @pytest.mark.parametrize("text", ["a=1", "Anne-Marie", "", None, "'quoted"])
    def test_other_text_is_kept(self, text: str | None) -> None:
        assert neutralize(text) == text


class TestCsv:
    def test_values_of_every_kind(self) -> None:
        rows = csv_rows(encode(CsvEncoder(COLUMNS), ROWS))
        assert rows == [
            {
                "id": "1",
                "name": "Ada",
                "score": "87.5",
                "day": "2026-09-01",
                "at": "2026-09-01T08:30:00.000000+00:00",
                "flag": "true",
            },
            {"id": "2", "name": "", "score": "", "day": "", "at": "", "flag": "false"},
            {
                "id": "3",
                "name": "'=2+3",
                "score": "0.0",
                "day": "2026-09-02",
                "at": "2026-09-02T08:00:00.000000+00:00",
                "flag": "",
            },
        ]

    @pytest.mark.parametrize(
        "texts",
        [["plain", "two\nlines", "x"], ["a,b", "c"], ['say "hi"'], ["cr\r"], ["\n"], ["a", "b"]],
    )
    def test_fields_that_need_quotes_get_them(self, texts: list[str]) -> None:
        data = encode(CsvEncoder([Column("t", "text")]), [(t,) for t in texts])
        assert [row["t"] for row in csv_rows(data)] == texts
        quoted = [t for t in texts if any(c in t for c in ',"\r\n')]
        assert data.count(b'"') >= 2 * len(quoted)

    def test_crlf_and_quoting(self) -> None:
        data = encode(CsvEncoder([Column("a", "text"), Column("b", "int")]), [('x,"y"', 1)])
        assert data == b'\xef\xbb\xbfa,b\r\n"x,""y""",1\r\n'


class TestXlsx:
    def test_values_of_every_kind(self) -> None:
        sheets = xlsx_sheets(encode(XlsxEncoder(COLUMNS, "Marks"), ROWS))
        assert sheets == {
            "Marks": [
                ["id", "name", "score", "day", "at", "flag"],
                [1, "Ada", 87.5, "2026-09-01", "2026-09-01T08:30:00.000000+00:00", True],
                [2, None, None, None, None, False],
                [3, "'=2+3", 0.0, "2026-09-02", "2026-09-02T08:00:00.000000+00:00", None],
            ]
        }

    def test_text_that_xml_or_ooxml_would_misread(self) -> None:
        texts = ["a & b < c > d", "bell\x07", "_x0041_ literal", " lead", "trail ", ""]
        data = encode(XlsxEncoder([Column("t", "text")], "T"), [(t,) for t in texts])
        assert [row[0] for row in xlsx_sheets(data)["T"][1:]] == texts

    def test_xml_text(self) -> None:
        assert xml_text("<&>") == "&lt;&amp;&gt;"
        assert xml_text("\x01") == "_x0001_"
        assert xml_text("_x00e9_") == "_x005F_x00e9_"

    def test_a_full_sheet_continues_on_the_next(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(writers, "MAX_SHEET_ROWS", 4)
        rows = [(i, f"n{i}") for i in range(10)]
        encoder = XlsxEncoder([Column("id", "int"), Column("name", "text")], "Students")
        data = encode(encoder, rows[:3], rows[3:6], rows[6:9], rows[9:])
        sheets = xlsx_sheets(data)
        assert list(sheets) == ["Students", "Students (2)", "Students (3)"]
        for sheet in sheets.values():
            assert sheet[0] == ["id", "name"] and len(sheet) <= 5
        assert [r[0] for s in sheets.values() for r in s[1:]] == list(range(10))

    def test_a_batch_larger_than_a_sheet_is_split(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(writers, "MAX_SHEET_ROWS", 3)
        encoder = XlsxEncoder([Column("id", "int")], "S")
        sheets = xlsx_sheets(encode(encoder, [(i,) for i in range(7)]))
        assert [[r[0] for r in s[1:]] for s in sheets.values()] == [[0, 1, 2], [3, 4, 5], [6]]

    def test_sheet_names_follow_excels_rules(self) -> None:
        data = encode(
            XlsxEncoder([Column("a", "int")], "Grades: term 1/2 [all] and more students"), []
        )
        assert list(xlsx_sheets(data)) == ["Grades  term 1 2  all  and more"]

    def test_render_rows_is_what_rows_writes(self) -> None:
        """The XML rendered elsewhere (the process pool) and added gives the same file."""
        a = XlsxEncoder(COLUMNS, "S")
        b = XlsxEncoder(COLUMNS, "S")
        direct = a.start() + a.rows(ROWS) + a.finish()
        rendered = writers.render_rows(b.kinds, ROWS)
        added = b.start() + b.add(rendered, len(ROWS)) + b.finish()
        assert xlsx_sheets(direct) == xlsx_sheets(added)
