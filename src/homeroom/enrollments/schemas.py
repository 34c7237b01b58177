from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from homeroom.enums import EnrollmentStatus
from homeroom.kit.schemas import CreateModel, Id, PatchModel

MAX_BULK = 1000


class EnrollmentRead(BaseModel):
    id: int
    school_id: int
    student_id: int
    section_id: int
    status: EnrollmentStatus
    enrolled_at: datetime


class EnrollmentCreate(CreateModel):
    student_id: Id
    section_id: Id = Field(description="A section of the student's school")
    status: EnrollmentStatus = Field(
        default="enrolled", description="Only 'enrolled' takes one of the section's seats"
    )


class EnrollmentUpdate(PatchModel):
    status: EnrollmentStatus | None = None


class EnrollmentBulkCreate(CreateModel):
    enrollments: Annotated[list[EnrollmentCreate], Field(min_length=1, max_length=MAX_BULK)]


class EnrollmentBulkResult(BaseModel):
    created: int
    items: list[EnrollmentRead]


class EnrollmentFilters(BaseModel):
    student_id: Id | None = None
    section_id: Id | None = None
    status: EnrollmentStatus | None = None
