from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from homeroom.kit.schemas import CreateModel, Id, PatchModel

CourseCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[\w][\w .-]*$"
    ),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Credits = Annotated[float, Field(ge=0, le=100)]
Description = Annotated[str, StringConstraints(max_length=10_000)]


class CourseRead(BaseModel):
    id: int
    school_id: int
    term_id: int
    code: str
    title: str
    category: str
    credits: float
    published: bool
    description: str
    created_at: datetime
    updated_at: datetime


class CourseCreate(CreateModel):
    term_id: Id = Field(description="A term of your school; the course belongs to its school")
    code: CourseCode = Field(description="Unique within the term")
    title: Title
    category: Category = "general"
    credits: Credits = 1.0
    published: bool = True
    description: Description = ""


class CourseUpdate(PatchModel):
    term_id: Id | None = None
    code: CourseCode | None = None
    title: Title | None = None
    category: Category | None = None
    credits: Credits | None = None
    published: bool | None = None
    description: Description | None = None


class CourseFilters(BaseModel):
    term_id: Id | None = None
    category: str | None = Field(default=None, max_length=60)
    published: bool | None = None
    q: str | None = Field(default=None, max_length=100, description="Search code and title")
