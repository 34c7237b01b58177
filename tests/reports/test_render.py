"""The renderer on its own: pure, deterministic, and never failing on what users can type."""

import copy
from typing import Any

import pytest
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth

from homeroom.reports import render
from homeroom.reports.pdf import file_name, pdf_etag, wants_json
from tests.reports.pdftext import check_structure, pdf_text


def card(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "school": {"id": 1, "name": "Maple High School"},
        "student": {
            "id": 7,
            "student_number": "S-7",
            "first_name": "Zoë",
            "last_name": "Okafor",
            "grade_level": 9,
        },
        "term": {"id": 3, "name": "Fall", "start_date": "2026-09-01", "end_date": "2027-01-31"},
        "partial": False,
        "sections": [
            {
                "section_id": 1,
                "section_name": "A1",
                "course_code": "MATH-1",
                "course_title": "Algebra",
                "credits": 1.0,
                "teacher": "Ada Lovelace",
                "final_percentage": 87.0,
                "letter": "B",
                "categories": [],
                "comments": [{"assessment_id": 1, "assessment": "Test 1", "comment": "Good"}],
            }
        ],
        "attendance": {
            "total": 0,
            "present": 0,
            "absent": 0,
            "late": 0,
            "excused": 0,
            "rate": None,
        },
    }
    return base | changes


class TestRender:
    def test_same_data_same_bytes(self) -> None:
        first = render.report_card_pdf(card())
        assert render.report_card_pdf(copy.deepcopy(card())) == first
        assert render.report_card_pdfs([card(), card()]) == [first, first]
        assert render.report_card_pdf(card(partial=True)) != first

    def test_etag_follows_the_data(self) -> None:
        assert pdf_etag("report_card", card()) == pdf_etag("report_card", card())
        assert pdf_etag("report_card", card()) != pdf_etag("report_card", card(partial=True))
        assert pdf_etag("report_card", card()) != pdf_etag("transcript", card())

    def test_markup_and_unusual_text_is_printed_not_interpreted(self) -> None:
        student = {**card()["student"], "last_name": "<b>O'Neil & Co</b>", "first_name": "李 😀"}
        section = {
            **card()["sections"][0],
            "course_title": "<para>(Algebra) \\ [x]</para>",
            "comments": [
                {"assessment_id": 1, "assessment": "T&amp;1", "comment": "x" * 2000},
                *(
                    {"assessment_id": i, "assessment": f"Quiz {i}", "comment": "See me " * 50}
                    for i in range(2, 60)
                ),
            ],
        }
        pdf = render.report_card_pdf(card(student=student, sections=[section]))
        assert check_structure(pdf) >= 2
        text = pdf_text(pdf)
        joined = text.replace("\n", "")
        assert "<b>O'Neil & Co</b>" in joined
        assert "<para>(Algebra) \\ [x]</para>" in joined
        assert "T&amp;1: " in joined
        assert "Quiz 59: See me" in joined

    def test_a_long_title_is_cut_short_in_the_footer(self) -> None:
        student = {**card()["student"], "last_name": "Wolfeschlegelsteinhausen" * 8}
        lines = pdf_text(render.report_card_pdf(card(student=student))).splitlines()
        footer = next(line for line in lines if line.startswith("Report card: Wolfe"))
        assert footer.endswith("\u2026")
        assert "Fall" not in footer  # the end of the title was cut
        assert stringWidth(footer, "Helvetica", 8) <= render.WIDTH - inch
        assert "Page 1" in lines

    def test_transcript_without_terms(self) -> None:
        transcript = {
            "school": card()["school"],
            "student": card()["student"],
            "partial": False,
            "terms": [],
            "credits_attempted": 0.0,
            "credits_earned": 0.0,
            "cumulative_gpa": None,
            "gpa_scale": {"A": 4.0, "F": 0.0},
        }
        text = pdf_text(render.transcript_pdf(transcript)).splitlines()
        assert "No courses yet." in text
        assert "Cumulative GPA" in text and "\u2014" in text


class TestNegotiation:
    @pytest.mark.parametrize(
        ("fmt", "accept", "expected"),
        [
            (None, None, False),
            (None, "", False),
            (None, "*/*", False),
            (None, "application/json", True),
            (None, "application/json, */*;q=0.1", True),
            (None, "application/pdf, application/json", False),
            (None, "application/pdf;q=0.5, application/json", True),
            (None, "application/json;q=0", False),
            (None, "application/json;q=abc", False),
            (None, "text/html,application/xhtml+xml,*/*;q=0.8", False),
            ("json", "application/pdf", True),
            ("pdf", "application/json", False),
        ],
    )
    def test_wants_json(self, fmt: str | None, accept: str | None, expected: bool) -> None:
        assert wants_json(fmt, accept) is expected

    def test_file_names(self) -> None:
        assert file_name("S-0042", "Okafor", "Zoë") == "S-0042-Okafor-Zoe"
        assert file_name("../x", 'a"b', "c/d") == "x-a_b-c_d"
        assert file_name("李") == "document"
