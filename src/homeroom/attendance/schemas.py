import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from homeroom.enums import AttendanceStatus
from homeroom.kit.schemas import CreateModel, Id, PatchModel

# PostgreSQL text cannot hold NUL: refuse it here rather than fail in the driver.
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^[^\x00]*$")
]
MAX_BULK_ROWS = 1000

RATE_DEFINITION = (
    "rate = (present + late) / total records, a fraction between 0 and 1; "
    "null when there are no records"
)


def _not_in_future(value: dt.date) -> dt.date:
    if value > dt.date.today():
        raise ValueError("attendance cannot be taken for a date in the future")
    return value


class AttendanceRead(BaseModel):
    id: int
    section_id: int
    date: dt.date
    student_id: int
    status: AttendanceStatus
    note: str
    recorded_by: int | None
    recorded_at: dt.datetime


class AttendanceCreate(CreateModel):
    section_id: Id
    student_id: Id
    date: dt.date
    status: AttendanceStatus
    note: Note = ""

    _day = field_validator("date")(_not_in_future)


class AttendanceUpdate(PatchModel):
    status: AttendanceStatus | None = None
    note: Note | None = None


class AttendanceFilters(BaseModel):
    section_id: Id | None = None
    student_id: Id | None = None
    date: dt.date | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: AttendanceStatus | None = None


class BulkRow(CreateModel):
    student_id: Id
    status: AttendanceStatus
    note: Note = Field(default="", description="Replaces the stored note; omitted means empty")


class AttendanceBulk(CreateModel):
    section_id: Id
    date: dt.date
    records: list[BulkRow] = Field(min_length=1, max_length=MAX_BULK_ROWS)

    _day = field_validator("date")(_not_in_future)


class BulkResult(BaseModel):
    section_id: int
    date: dt.date
    created: int
    updated: int


class DateRange(BaseModel):
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class StatusCounts(BaseModel):
    present: int
    absent: int
    late: int
    excused: int


class SectionRate(StatusCounts):
    section_id: int
    course_code: str
    total: int
    rate: float | None = Field(description=RATE_DEFINITION)


class StudentAttendanceSummary(StatusCounts):
    student_id: int
    total: int
    rate: float | None = Field(description=RATE_DEFINITION)
    by_section: list[SectionRate]


class StudentRate(StatusCounts):
    student_id: int
    first_name: str
    last_name: str
    rate: float | None = Field(description=RATE_DEFINITION)


class DateCounts(StatusCounts):
    date: dt.date


class SectionAttendanceSummary(BaseModel):
    section_id: int
    sessions: int = Field(description="Days with at least one attendance record")
    rate: float | None = Field(description=RATE_DEFINITION)
    by_student: list[StudentRate]
    by_date: list[DateCounts]
