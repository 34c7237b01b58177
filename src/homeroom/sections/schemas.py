from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, StringConstraints

from homeroom.enums import EnrollmentStatus
from homeroom.kit.schemas import CreateModel, Id, PatchModel

SectionName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Room = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
MeetingPattern = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)
]
Capacity = Annotated[int, Field(gt=0, le=10_000)]


class SectionRead(BaseModel):
    id: int
    school_id: int
    course_id: int
    term_id: int
    teacher_id: int | None
    name: str
    room: str | None
    meeting_pattern: str | None
    capacity: int
    course_code: str
    course_title: str
    teacher_name: str | None
    enrolled_count: int = Field(description="Enrollments with status 'enrolled'")
    created_at: datetime
    updated_at: datetime


class SectionCreate(CreateModel):
    course_id: Id = Field(description="A course of your school; the section joins its school")
    teacher_id: Id | None = None
    name: SectionName = Field(description="Unique within the course")
    room: Room | None = None
    meeting_pattern: MeetingPattern | None = Field(default=None, examples=["MWF 09:00-09:50"])
    capacity: Capacity = 30


class SectionUpdate(PatchModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"teacher_id", "room", "meeting_pattern"})

    teacher_id: Id | None = None
    name: SectionName | None = None
    room: Room | None = None
    meeting_pattern: MeetingPattern | None = None
    capacity: Capacity | None = None


class SectionFilters(BaseModel):
    course_id: Id | None = None
    teacher_id: Id | None = None
    term_id: Id | None = None


class RosterEntry(BaseModel):
    id: int = Field(description="The student's id")
    student_number: str
    first_name: str
    last_name: str
    email: str
    grade_level: int
    enrollment_id: int
    status: EnrollmentStatus


class RosterFilters(BaseModel):
    status: EnrollmentStatus | None = None
