"""What each kind of import accepts: its columns, the header names that mean them, and the
lenient reading of cell text (dates, grade levels, status codes, numbers) before the domain's
own validation rules (the row models in schemas.py) check the values.

Header matching ignores case, accents, spaces and punctuation ("Student ID", "student_id",
"STUDENT-ID" are one name), and knows common synonyms. Pure functions only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from homeroom.kit.schemas import MAX_ID

Parse = Callable[[str, "CellContext"], Any]


class CellError(ValueError):
    """A cell that cannot be read; the message is for the user."""


@dataclass(frozen=True, slots=True)
class CellContext:
    date_order: str | None = None  # "dmy" or "mdy" for this column, when known


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    description: str
    example: str
    synonyms: tuple[str, ...] = ()
    parse: Parse | None = None  # None: the text as it is (stripped)
    is_date: bool = False


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    permission: str
    description: str
    columns: tuple[Column, ...]
    # Each group: at least one of these columns must be in the header (and filled in a row).
    required: tuple[tuple[str, ...], ...]
    # Columns needed when another is present: {"assessment": ("section_id", "course_code")}.
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def is_required(self, name: str) -> bool:
        return any(name in group for group in self.required)


# --- header names ------------------------------------------------------------------------------


def normalize_header(text: str) -> str:
    """'Student ID', 'student_id', 'STUDENT-ID', 'Stúdent Id' -> 'studentid'; '#' reads 'number'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.lower().replace("#", " number ")
    return re.sub(r"[^a-z0-9]", "", plain)


# --- cell readers ------------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^\d(\.\d+)?e\+?\d+$", re.IGNORECASE)


def read_identifier(text: str, _: CellContext) -> str:
    if _SCIENTIFIC.match(text):
        raise CellError(
            "looks like a number Excel rewrote in scientific notation; format the column as "
            "Text and export again"
        )
    return text


_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}
_ISO = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[ -]([a-z]{3,9})\.?,?[ -](\d{2}|\d{4})$")
_MONTH_DAY = re.compile(r"^([a-z]{3,9})\.?[ -](\d{1,2})(?:st|nd|rd|th)?,?[ -](\d{2}|\d{4})$")
DATE_HINT = "write dates as YYYY-MM-DD (2010-05-31) or with the month's name (31 May 2010)"


def _make_date(year: str, month: int, day: int) -> date:
    if len(year) != 4:
        raise CellError(f"the year has 2 digits; {DATE_HINT}")
    try:
        return date(int(year), month, day)
    except ValueError:
        raise CellError(f"not a real date; {DATE_HINT}") from None


def read_date(text: str, ctx: CellContext) -> date:
    value = text.strip().lower()
    if m := _ISO.match(value):
        return _make_date(m.group(1), int(m.group(2)), int(m.group(3)))
    if m := _COMPACT.match(value):
        return _make_date(m.group(1), int(m.group(2)), int(m.group(3)))
    if m := _NUMERIC.match(value):
        first, second = int(m.group(1)), int(m.group(2))
        order = ctx.date_order
        if order is None:
            if first > 12:
                order = "dmy"
            elif second > 12:
                order = "mdy"
            elif first == second:
                order = "dmy"
            else:
                raise CellError(
                    "ambiguous date (day/month or month/day?); "
                    + DATE_HINT
                    + ", or send ?date_order=dmy or ?date_order=mdy"
                )
        day, month = (first, second) if order == "dmy" else (second, first)
        return _make_date(m.group(3), month, day)
    if m := _DAY_MONTH.match(value):
        return _make_date(m.group(3), _month(m.group(2)), int(m.group(1)))
    if m := _MONTH_DAY.match(value):
        return _make_date(m.group(3), _month(m.group(1)), int(m.group(2)))
    raise CellError(f"not a date; {DATE_HINT}")


def _month(name: str) -> int:
    month = _MONTHS.get(name)
    if month is None:
        raise CellError(f"unknown month {name!r}; {DATE_HINT}")
    return month


def infer_date_order(values: Iterable[str]) -> str | None:
    """'dmy' or 'mdy' when the column's numeric dates say so (a first part above 12 is a day,
    a second part above 12 is a day); None when they don't, or contradict each other."""
    dmy = mdy = False
    for text in values:
        if m := _NUMERIC.match(text.strip()):
            first, second = int(m.group(1)), int(m.group(2))
            dmy = dmy or first > 12
            mdy = mdy or second > 12
    if dmy != mdy:
        return "dmy" if dmy else "mdy"
    return None


_GRADE_WORDS = {"k": 0, "kg": 0, "kindergarten": 0, "kinder": 0, "reception": 0}
_GRADE = re.compile(r"^(?:grade|gr|year|yr|y|g|class|form)?\.?\s*(\d{1,2})(?:st|nd|rd|th)?$")


def read_grade_level(text: str, _: CellContext) -> int:
    value = text.strip().lower()
    if value in _GRADE_WORDS:
        return _GRADE_WORDS[value]
    if m := _GRADE.match(value):
        return int(m.group(1))
    if re.fullmatch(r"\d+\.0+", value):
        return int(float(value))
    raise CellError("not a grade level; use 0-13 (K for kindergarten)")


def read_number(text: str, _: CellContext) -> float:
    value = text.strip().replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"-?\d+,\d{1,2}", value):  # decimal comma: 8,5
        value = value.replace(",", ".")
    try:
        number = float(value)
    except ValueError:
        raise CellError("not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise CellError("not a number")
    return number


def read_id(text: str, _: CellContext) -> int:
    value = text.strip()
    if re.fullmatch(r"\d+(\.0+)?", value) and 1 <= int(float(value)) <= MAX_ID:
        return int(float(value))
    raise CellError("not an id (a whole number from 1)")


def choice(mapping: dict[str, str]) -> Parse:
    """A reader for a closed set of values, case-insensitive, with accepted abbreviations."""
    allowed = ", ".join(sorted(set(mapping.values())))

    def read(text: str, _: CellContext) -> str:
        found = mapping.get(normalize_header(text))
        if found is None:
            raise CellError(f"must be one of: {allowed}")
        return found

    return read


STUDENT_STATUS = choice(
    {s: s for s in ("active", "inactive", "graduated", "withdrawn")} | {"graduate": "graduated"}
)
ENROLLMENT_STATUS = choice(
    {
        "enrolled": "enrolled",
        "enroled": "enrolled",
        "active": "enrolled",
        "e": "enrolled",
        "dropped": "dropped",
        "drop": "dropped",
        "withdrawn": "dropped",
        "d": "dropped",
        "completed": "completed",
        "complete": "completed",
        "c": "completed",
    }
)
ATTENDANCE_STATUS = choice(
    {
        "present": "present",
        "p": "present",
        "absent": "absent",
        "a": "absent",
        "abs": "absent",
        "late": "late",
        "l": "late",
        "tardy": "late",
        "t": "late",
        "excused": "excused",
        "e": "excused",
        "ex": "excused",
        "excusedabsence": "excused",
    }
)


# --- the kinds ---------------------------------------------------------------------------------

STUDENT_NUMBER = Column(
    "student_number",
    "The student's number in the school (their natural key: an import updates the student "
    "with this number, or creates one)",
    "S000123",
    (
        "student id",
        "student no",
        "student num",
        "student code",
        "student #",
        "id number",
        "id no",
        "pupil id",
        "pupil number",
        "learner id",
        "sis id",
        "local id",
    ),
    read_identifier,
)

SECTION_COLUMNS = (
    Column(
        "course_code",
        "The course's code (with section and, when the code is taught in several terms, term)",
        "MATH-101",
        ("course", "course id", "class code", "subject code"),
    ),
    Column(
        "section",
        "The section's name; may be left out when the course has a single section",
        "01",
        ("section name", "section code", "class section", "sect"),
    ),
    Column(
        "term",
        "The term's name; needed only when the course code is taught in several terms",
        "Fall 2026",
        ("term name", "semester", "school term"),
    ),
    Column(
        "section_id",
        "Homeroom's section id: instead of course_code, section and term",
        "",
        ("sectionid",),
        read_id,
    ),
)

STUDENTS = Kind(
    "students",
    "students:write",
    "Student records, matched by student number within the school: new numbers are created, "
    "known ones updated.",
    (
        STUDENT_NUMBER,
        Column(
            "first_name",
            "Given name",
            "Ada",
            ("first", "given name", "given names", "forename", "first names", "fname"),
        ),
        Column(
            "last_name",
            "Family name",
            "Lovelace",
            ("last", "surname", "family name", "lname", "family"),
        ),
        Column(
            "email",
            "The student's email address (unique)",
            "ada.lovelace@example.edu",
            ("e-mail", "email address", "e-mail address", "mail", "student email"),
        ),
        Column(
            "date_of_birth",
            "Birth date: YYYY-MM-DD, 31 May 2010, or 31/05/2010 (day/month or month/day is "
            "read from the column, or ?date_order=)",
            "2010-05-31",
            ("dob", "birth date", "birthdate", "date of birth", "birthday", "born", "d.o.b."),
            read_date,
            is_date=True,
        ),
        Column(
            "grade_level",
            "0-13 (K for kindergarten; 'Grade 9', 'Year 9', '9th' are read as 9)",
            "9",
            ("grade", "year", "year level", "grade level", "class year", "year group", "level"),
            read_grade_level,
        ),
        Column(
            "status",
            "active, inactive, graduated or withdrawn (new students: active; empty: unchanged)",
            "active",
            ("student status", "enrollment status"),
            STUDENT_STATUS,
        ),
    ),
    required=(
        ("student_number",),
        ("first_name",),
        ("last_name",),
        ("email",),
        ("date_of_birth",),
        ("grade_level",),
    ),
)

GUARDIANS = Kind(
    "guardians",
    "guardians:write",
    "Guardians, matched by email: new emails are created, known ones updated. With a "
    "student_number, the guardian is linked to that student (one row per child).",
    (
        Column(
            "email",
            "The guardian's email address (their natural key)",
            "grace.hopper@example.com",
            (
                "e-mail",
                "email address",
                "guardian email",
                "parent email",
                "contact email",
                "mail",
            ),
        ),
        Column(
            "first_name",
            "Given name",
            "Grace",
            ("first", "given name", "forename", "guardian first name", "parent first name"),
        ),
        Column(
            "last_name",
            "Family name",
            "Hopper",
            ("last", "surname", "family name", "guardian last name", "parent last name"),
        ),
        Column(
            "phone",
            "Phone number (empty: unchanged)",
            "+1 555 0100",
            (
                "telephone",
                "phone number",
                "mobile",
                "cell",
                "tel",
                "contact number",
                "guardian phone",
                "parent phone",
            ),
        ),
        Column(
            "student_number",
            "A child's student number: links the guardian to that student",
            "S000123",
            (*STUDENT_NUMBER.synonyms, "child id", "child student number"),
            read_identifier,
        ),
        Column(
            "relationship",
            "The guardian's relationship to that student (default: guardian)",
            "mother",
            ("relation", "relationship to student", "relationship to child"),
        ),
    ),
    required=(("email",), ("first_name",), ("last_name",)),
    needs={"relationship": ("student_number",)},
)

ENROLLMENTS = Kind(
    "enrollments",
    "enrollments:write",
    "Enrollments, matched by student and section: new pairs are created, known ones get the "
    "status given. A section is named by course_code + section (+ term) or by section_id.",
    (
        STUDENT_NUMBER,
        *SECTION_COLUMNS,
        Column(
            "status",
            "enrolled, dropped or completed (new enrollments: enrolled; empty: unchanged)",
            "enrolled",
            ("enrollment status",),
            ENROLLMENT_STATUS,
        ),
    ),
    required=(("student_number",), ("course_code", "section_id")),
)

GRADES = Kind(
    "grades",
    "grades:write",
    "Scores, matched by student and assessment: new scores are created, known ones updated. "
    "An assessment is named by assessment_id, or by its title within a section.",
    (
        STUDENT_NUMBER,
        Column(
            "assessment_id",
            "Homeroom's assessment id: instead of the section and assessment title",
            "",
            ("assessmentid",),
            read_id,
        ),
        Column(
            "assessment",
            "The assessment's title within the section",
            "Unit 1 test",
            (
                "assessment title",
                "assessment name",
                "assignment",
                "assignment name",
                "assignment title",
                "test",
                "task",
                "title",
            ),
        ),
        *SECTION_COLUMNS,
        Column(
            "score",
            "Points earned, from 0 to the assessment's max points (8.5 or 8,5)",
            "87.5",
            ("points", "mark", "marks", "result", "grade", "points earned"),
            read_number,
        ),
        Column(
            "comment",
            "Teacher's comment (empty: unchanged)",
            "Well done",
            ("comments", "remark", "remarks", "feedback", "note", "notes"),
        ),
    ),
    required=(("student_number",), ("assessment_id", "assessment"), ("score",)),
    needs={"assessment": ("section_id", "course_code")},
)

ATTENDANCE = Kind(
    "attendance",
    "attendance:write",
    "Attendance marks, matched by student, section and date: new marks are created, known "
    "ones updated. A section is named by course_code + section (+ term) or by section_id.",
    (
        STUDENT_NUMBER,
        *SECTION_COLUMNS,
        Column(
            "date",
            "The day: YYYY-MM-DD, 14 Sep 2026, or 14/09/2026 (not in the future)",
            "2026-09-14",
            ("day", "attendance date", "session date", "class date"),
            read_date,
            is_date=True,
        ),
        Column(
            "status",
            "present, absent, late or excused (P, A, L/T, E)",
            "present",
            ("attendance", "attendance status", "mark", "code", "attendance code"),
            ATTENDANCE_STATUS,
        ),
        Column(
            "note",
            "A note (empty: none)",
            "",
            ("notes", "comment", "comments", "reason", "remark"),
        ),
    ),
    required=(("student_number",), ("course_code", "section_id"), ("date",), ("status",)),
)

KINDS: dict[str, Kind] = {k.name: k for k in (STUDENTS, GUARDIANS, ENROLLMENTS, GRADES, ATTENDANCE)}


def names_of(kind: Kind) -> dict[str, str]:
    """Every accepted header name, normalized, -> the column it means."""
    names: dict[str, str] = {}
    for column in kind.columns:
        for name in (column.name, *column.synonyms):
            names.setdefault(normalize_header(name), column.name)
    return names
