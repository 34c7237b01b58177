"""Row models (one per kind, built from the domain's own field types so an imported value
obeys exactly the rules of the single and bulk writes) and the import answers."""

import datetime as dt
import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator
from pydantic.networks import validate_email

from homeroom.attendance.schemas import Note
from homeroom.attendance.schemas import _not_in_future as attendance_day_rule
from homeroom.enums import AttendanceStatus, EnrollmentStatus, StudentStatus
from homeroom.grades.schemas import Comment, Score
from homeroom.guardians.schemas import Name as GuardianName
from homeroom.guardians.schemas import Phone, Relationship
from homeroom.kit.schemas import CreateModel, Id
from homeroom.students.schemas import GradeLevel, StudentNumber
from homeroom.students.schemas import Name as StudentName
from homeroom.students.schemas import _check_birth_date as birth_date_rule

ImportKind = Literal["students", "guardians", "enrollments", "grades", "attendance"]
CourseCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
SectionName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
TermName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


# --- emails ------------------------------------------------------------------------------------
# EmailStr's own check (email-validator) costs ~0.15 ms an address, most of it on the domain's
# characters: 1.5 s for 10,000 students. A file repeats a handful of domains, so the domain is
# checked once (with EmailStr's function) and a plain ASCII local part by the same rules
# email-validator applies to it (dot-atom, 64 characters); anything else takes EmailStr's path.

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN = re.compile(rf"^({_ATOM}(?:\.{_ATOM})*)@(.+)$")


@lru_cache(maxsize=1024)
def _domain(domain: str) -> str:
    return validate_email(f"a@{domain}")[1].split("@", 1)[1]


def _email(value: str) -> str:
    value = value.strip()
    match = _PLAIN.match(value)
    if match is None or len(match.group(1)) > 64 or len(value) > 254:
        return validate_email(value)[1].lower()
    return f"{match.group(1)}@{_domain(match.group(2))}".lower()


Email = Annotated[str, AfterValidator(_email)]


# --- rows --------------------------------------------------------------------------------------


class StudentRow(CreateModel):
    student_number: StudentNumber
    first_name: StudentName
    last_name: StudentName
    email: Email
    date_of_birth: dt.date
    grade_level: GradeLevel
    status: StudentStatus | None = None

    _birth = field_validator("date_of_birth")(birth_date_rule)


class GuardianRow(CreateModel):
    email: Email
    first_name: GuardianName
    last_name: GuardianName
    phone: Phone | None = None
    student_number: StudentNumber | None = None
    relationship: Relationship | None = None


class SectionRef(CreateModel):
    section_id: Id | None = None
    course_code: CourseCode | None = None
    section: SectionName | None = None
    term: TermName | None = None


class EnrollmentRow(SectionRef):
    student_number: StudentNumber
    status: EnrollmentStatus | None = None


class GradeRow(SectionRef):
    student_number: StudentNumber
    assessment_id: Id | None = None
    assessment: Title | None = None
    score: Score
    comment: Comment | None = None


class AttendanceRow(SectionRef):
    student_number: StudentNumber
    date: dt.date
    status: AttendanceStatus
    note: Note | None = None

    _day = field_validator("date")(attendance_day_rule)


ROW_MODELS: dict[str, type[CreateModel]] = {
    "students": StudentRow,
    "guardians": GuardianRow,
    "enrollments": EnrollmentRow,
    "grades": GradeRow,
    "attendance": AttendanceRow,
}


# --- answers -----------------------------------------------------------------------------------


class RowError(BaseModel):
    row: int | None = Field(description="The spreadsheet row (the header is row 1); null: the file")
    column: str | None = Field(description="The column as the file names it; null: the whole row")
    value: str | None = Field(description="The offending cell's text")
    message: str


class ImportResult(BaseModel):
    kind: ImportKind
    dry_run: bool
    rows: int = Field(description="Data rows in the file (blank rows not counted)")
    valid: int = Field(description="Rows without any error")
    created: int = Field(description="Records created (a dry run: that would be created)")
    updated: int = Field(description="Records changed (a dry run: that would be changed)")
    unchanged: int = Field(description="Rows that match what is stored already")
    errors: list[RowError] = Field(description="Every problem found, at most 1,000")
    error_count: int = Field(description="All problems found, even beyond the 1,000 listed")
    columns: dict[str, str] = Field(description="Each recognised header -> the column it means")
    ignored_columns: list[str] = Field(description="Headers that mean nothing here (not read)")


class ImportJob(BaseModel):
    """A large import accepted as a background job (poll GET /api/v1/jobs/{id})."""

    id: int
    kind: str
    status: str
    progress: int
    params: dict[str, Any]
    result: dict[str, Any] | None


class ColumnInfo(BaseModel):
    name: str
    required: bool
    description: str
    example: str
    synonyms: list[str]


class KindInfo(BaseModel):
    kind: ImportKind
    description: str
    permission: str
    columns: list[ColumnInfo]
    required: list[list[str]] = Field(description="At least one column of each group is needed")
    template_csv: str
    template_xlsx: str
    upload: str


class ImportCatalog(BaseModel):
    kinds: list[KindInfo]
    max_bytes: int
    max_rows: int
    job_rows: int = Field(description="Real imports with more rows run as a background job")
