"""PDF report cards and transcripts: pure functions from a document's data to PDF bytes.

They run in the process pool (kit/cpu.run_cpu), so they take and return only plain data,
and nothing here touches the database or the clock. The output is deterministic
(reportlab's invariant mode: fixed creation date and document id), so the same data always
gives the same bytes: an ETag can be computed from the data without rendering.

Text is set in the standard Helvetica fonts (WinAnsi): every Latin-1 name prints; a character
outside it shows as a box, never an error.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

DASH = "\u2014"
MARGIN = 0.75 * inch
WIDTH = LETTER[0] - 2 * MARGIN

_SHEET = getSampleStyleSheet()
TITLE = ParagraphStyle("title", parent=_SHEET["Title"], fontSize=18, leading=22, spaceAfter=2)
SUBTITLE = ParagraphStyle(
    "subtitle", parent=_SHEET["Normal"], fontSize=12, leading=15, alignment=1, spaceAfter=10
)
HEADING = ParagraphStyle(
    "heading", parent=_SHEET["Heading2"], fontSize=12, leading=15, spaceBefore=10, spaceAfter=4
)
BODY = ParagraphStyle("body", parent=_SHEET["Normal"], fontSize=9.5, leading=12)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=9, leading=11)
CELL_BOLD = ParagraphStyle("cell_bold", parent=CELL, fontName="Helvetica-Bold")
NOTE = ParagraphStyle("note", parent=BODY, fontSize=8, leading=10, textColor=colors.grey)
COMMENT = ParagraphStyle("comment", parent=BODY, leftIndent=12)

GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf2")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.HexColor("#51607a")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#c5ccd8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
)
# The course code, in bold below the header row (plain cells take the table's font).
CODE_COLUMN = TableStyle([("FONT", (0, 1), (0, -1), "Helvetica-Bold", 9)])
LABELS = TableStyle(
    [
        ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
        ("FONT", (1, 0), (1, -1), "Helvetica", 9.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
)
SCALE_NOTE = (
    "Letters: A 90 and above, B 80, C 70, D 60, F below 60. A section's final percentage "
    "weighs each assessment category by its weight, counting only graded work."
)


def _p(text: Any, style: ParagraphStyle = CELL) -> Paragraph:
    return Paragraph(escape("" if text is None else str(text)), style)


# A table cell's horizontal padding (reportlab's default, 6 points each side).
_PADDING = 12


def _cell(text: Any, width: float, style: ParagraphStyle = CELL) -> str | Paragraph:
    """Plain text when it fits the column (a table draws it as is: cheap), else a Paragraph
    that wraps (parsing and line breaking cost about 0.2 ms each: most of a card's time)."""
    text = "" if text is None else str(text)
    if stringWidth(text, style.fontName, style.fontSize) <= width - _PADDING:
        return text
    return _p(text, style)


def _percent(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else f"{value:.{digits}f}%"


def _number(value: float | None) -> str:
    return DASH if value is None else f"{value:g}"


def _gpa(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def _period(term: dict[str, Any]) -> str:
    return f"{term['start_date']} to {term['end_date']}"


def _name(student: dict[str, Any]) -> str:
    return f"{student['last_name']}, {student['first_name']}"


def _labels(pairs: Sequence[tuple[str, str]]) -> Table:
    label_width = 1.3 * inch
    value_width = WIDTH - label_width
    rows = [[label, _cell(value, value_width, BODY)] for label, value in pairs]
    table = Table(rows, colWidths=[label_width, value_width], hAlign="LEFT")
    table.setStyle(LABELS)
    return table


def _head(document: dict[str, Any], subtitle: str, *labels: tuple[str, str]) -> list[Flowable]:
    """A document's opening: the school, what the document is, the student (then `labels`),
    and the partial note when there is one."""
    student = document["student"]
    return [
        _p(document["school"]["name"], TITLE),
        _p(subtitle, SUBTITLE),
        _labels(
            [
                ("Student", _name(student)),
                ("Student number", student["student_number"]),
                ("Grade level", str(student["grade_level"])),
                *labels,
            ]
        ),
        *_partial_note(document),
    ]


def _grid(header: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table([header, *rows], colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return table


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text`, cut short with an ellipsis when wider than `width` (binary search)."""
    if stringWidth(text, font, size) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if stringWidth(text[:mid] + "\u2026", font, size) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low] + "\u2026"


def _page_number(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(colors.grey)
    canvas.drawRightString(LETTER[0] - MARGIN, 0.5 * inch, f"Page {doc.page}")
    title = _fit(doc.title, "Helvetica", 8, WIDTH - inch)  # leaves the page number room
    canvas.drawString(MARGIN, 0.5 * inch, title)
    canvas.restoreState()


def _build(story: list[Flowable], title: str, author: str) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
        creator="Homeroom",
        invariant=1,
        pageCompression=1,
    )
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return out.getvalue()


def _partial_note(document: dict[str, Any]) -> list[Flowable]:
    if not document["partial"]:
        return []
    return [_p("Partial: only the sections taught by the requesting teacher are shown.", NOTE)]


# --- report card -------------------------------------------------------------------------------


def _courses(sections: list[dict[str, Any]]) -> list[Flowable]:
    if not sections:
        return [_p("No sections in this term.", BODY)]
    widths = [x * inch for x in (0.9, 2.1, 0.6, 1.5, 0.55, 0.75, 0.6)]
    code_width, title_width, section_width, teacher_width, *_ = widths  # text that may wrap
    rows = [
        [
            _cell(s["course_code"], code_width, CELL_BOLD),
            _cell(s["course_title"], title_width),
            _cell(s["section_name"], section_width),
            _cell(s["teacher"] or DASH, teacher_width),
            _number(s["credits"]),
            _percent(s["final_percentage"]),
            s["letter"] or DASH,
        ]
        for s in sections
    ]
    header = ["Course", "Title", "Section", "Teacher", "Credits", "Final", "Letter"]
    table = _grid(header, rows, widths)
    table.setStyle(CODE_COLUMN)
    return [table]


def _attendance(totals: dict[str, Any]) -> list[Flowable]:
    header = ["Present", "Late", "Absent", "Excused", "Sessions", "Attendance rate"]
    rate = None if totals["rate"] is None else 100.0 * totals["rate"]
    row = [
        str(totals["present"]),
        str(totals["late"]),
        str(totals["absent"]),
        str(totals["excused"]),
        str(totals["total"]),
        _percent(rate, 1),
    ]
    widths = [x * inch for x in (0.9, 0.9, 0.9, 0.9, 0.9, 1.5)]
    return [
        _grid(header, [row], widths),
        Spacer(1, 2),
        _p("Attendance rate: present or late over all recorded sessions of the term.", NOTE),
    ]


def _comments(sections: list[dict[str, Any]]) -> list[Flowable]:
    story: list[Flowable] = []
    for section in sections:
        if not section["comments"]:
            continue
        block: list[Flowable] = [
            _p(f"{section['course_code']} {section['course_title']}", CELL_BOLD),
            *(_p(f"{c['assessment']}: {c['comment']}", COMMENT) for c in section["comments"]),
            Spacer(1, 4),
        ]
        story.append(KeepTogether(block[:2]))
        story.extend(block[2:])
    return story or [_p("No comments this term.", BODY)]


def report_card_pdf(card: dict[str, Any]) -> bytes:
    """One student's report card for one term (ReportCard's JSON form in, PDF out)."""
    school, student, term = card["school"], card["student"], card["term"]
    story: list[Flowable] = [
        *_head(card, "Report card", ("Term", f"{term['name']} ({_period(term)})")),
        _p("Courses", HEADING),
        *_courses(card["sections"]),
        Spacer(1, 3),
        _p(SCALE_NOTE, NOTE),
        _p("Attendance", HEADING),
        *_attendance(card["attendance"]),
        _p("Teacher comments", HEADING),
        *_comments(card["sections"]),
    ]
    title = f"Report card: {_name(student)}, {term['name']}"
    return _build(story, title, school["name"])


def report_card_pdfs(cards: list[dict[str, Any]]) -> list[bytes]:
    """Several report cards in one trip to the process pool."""
    return [report_card_pdf(card) for card in cards]


# --- transcript --------------------------------------------------------------------------------


def _term_block(entry: dict[str, Any]) -> list[Flowable]:
    term = entry["term"]
    heading = f"{term['name']} ({_period(term)})"
    if entry["in_progress"]:
        heading += " (in progress)"
    widths = [x * inch for x in (1.0, 2.9, 0.65, 0.85, 0.6, 0.9)]
    code_width, title_width, *_ = widths  # the columns whose text may wrap
    rows = [
        [
            _cell(s["course_code"], code_width, CELL_BOLD),
            _cell(s["course_title"], title_width),
            _number(s["credits"]),
            _percent(s["final_percentage"]),
            s["letter"] or DASH,
            _gpa(s["grade_points"]),
        ]
        for s in entry["sections"]
    ]
    table = _grid(["Course", "Title", "Credits", "Final", "Letter", "Points"], rows, widths)
    table.setStyle(CODE_COLUMN)
    summary = (
        f"Term GPA {_gpa(entry['gpa'])}, credits attempted {_number(entry['credits_attempted'])}, "
        f"earned {_number(entry['credits_earned'])}; cumulative GPA "
        f"{_gpa(entry['cumulative_gpa'])}"
    )
    return [
        KeepTogether([_p(heading, HEADING), table]),
        Spacer(1, 3),
        _p(summary, BODY),
    ]


def transcript_pdf(transcript: dict[str, Any]) -> bytes:
    """One student's transcript across terms (Transcript's JSON form in, PDF out)."""
    school, student = transcript["school"], transcript["student"]
    credits = (
        f"{_number(transcript['credits_earned'])} earned of "
        f"{_number(transcript['credits_attempted'])} attempted"
    )
    story = _head(
        transcript,
        "Academic transcript",
        ("Cumulative GPA", _gpa(transcript["cumulative_gpa"])),
        ("Credits", credits),
    )
    for entry in transcript["terms"]:
        story += _term_block(entry)
    if not transcript["terms"]:
        story.append(_p("No courses yet.", BODY))
    scale = ", ".join(f"{k} = {v:g}" for k, v in transcript["gpa_scale"].items())
    story += [
        Spacer(1, 10),
        _p(
            f"GPA on a 4.0 scale ({scale}), weighted by course credits; sections without a "
            "final grade yet are not counted. " + SCALE_NOTE,
            NOTE,
        ),
    ]
    title = f"Transcript: {_name(student)}"
    return _build(story, title, school["name"])
