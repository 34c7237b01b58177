import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from homeroom.enums import AttendanceStatus, EnrollmentStatus, JobState, StudentStatus
from homeroom.kit.schemas import Id
from homeroom.students.schemas import GradeLevel

ExportFormat = Literal["csv", "xlsx"]
SortParam = Annotated[
    str | None,
    Field(
        default=None,
        max_length=40,
        description="Sort key as for GET /students (last_name, student_number, grade_level, "
        "created_at, id); prefix '-' for descending",
    ),
]


class ExportSort(BaseModel):
    """The sort of a streamed student export (the filters are StudentFilters')."""

    sort: SortParam = None


class _Export(BaseModel):
    # Not CreateModel: its before-validator on every field would run on `kind` too, which a
    # discriminated union forbids; the one free-text field refuses NUL by its pattern.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    format: ExportFormat = Field(description="csv or xlsx")


class StudentsExport(_Export):
    """The student list under the same filters and sort as GET /students."""

    kind: Literal["students"]
    q: str | None = Field(default=None, max_length=100, pattern=r"^[^\x00]*$")
    status: StudentStatus | None = None
    grade_level: GradeLevel | None = None
    archived: Literal["exclude", "include", "only"] = "exclude"
    sort: SortParam = None


class GradesExport(_Export):
    """Every grade in the caller's scope: one row per student and assessment."""

    kind: Literal["grades"]
    term_id: Id | None = None
    section_id: Id | None = None
    student_id: Id | None = None
    assessment_id: Id | None = None


class AttendanceExport(_Export):
    """Attendance records in the caller's scope; dates inclusive."""

    kind: Literal["attendance"]
    term_id: Id | None = None
    section_id: Id | None = None
    student_id: Id | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: AttendanceStatus | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> "AttendanceExport":
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        return self


class EnrollmentsExport(_Export):
    """Enrollments in the caller's scope, with the student's and the section's names."""

    kind: Literal["enrollments"]
    term_id: Id | None = None
    section_id: Id | None = None
    student_id: Id | None = None
    status: EnrollmentStatus | None = None


ExportRequest = Annotated[
    StudentsExport | GradesExport | AttendanceExport | EnrollmentsExport,
    Field(discriminator="kind"),
]
export_request = TypeAdapter[ExportRequest](ExportRequest)


class ExportJobFilters(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)
    status: JobState | None = None
