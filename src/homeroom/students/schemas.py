from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints, field_validator

from homeroom.enums import StudentStatus
from homeroom.kit.schemas import CreateModel, Id, PatchModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
StudentNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[\w-]+$")
]
GradeLevel = Annotated[int, Field(ge=0, le=13, description="0 = kindergarten, 13 = post-12")]


class StudentRead(BaseModel):
    id: int
    school_id: int
    user_id: int | None
    student_number: str
    first_name: str
    last_name: str
    email: str
    date_of_birth: date
    grade_level: int
    status: StudentStatus
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _check_birth_date(value: date | None) -> date | None:
    if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
        raise ValueError("date_of_birth must be between 1900-01-01 and today")
    return value


class StudentCreate(CreateModel):
    school_id: Id | None = Field(default=None, description="Only for an all-schools admin")
    student_number: StudentNumber
    first_name: Name
    last_name: Name
    email: EmailStr
    date_of_birth: date
    grade_level: GradeLevel
    status: StudentStatus = "active"

    _birth = field_validator("date_of_birth")(_check_birth_date)


class StudentUpdate(PatchModel):
    student_number: StudentNumber | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    email: EmailStr | None = None
    date_of_birth: date | None = None
    grade_level: GradeLevel | None = None
    status: StudentStatus | None = None

    _birth = field_validator("date_of_birth")(_check_birth_date)


class StudentFilters(BaseModel):
    q: str | None = Field(default=None, max_length=100)
    status: StudentStatus | None = None
    grade_level: GradeLevel | None = None
    archived: Literal["exclude", "include", "only"] = "exclude"
