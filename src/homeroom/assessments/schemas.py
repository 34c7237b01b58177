from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from homeroom.kit.schemas import CreateModel, Id, PatchModel

# PostgreSQL text cannot hold NUL: refuse it here rather than fail in the driver.
_NO_NUL = r"^[^\x00]*$"
CategoryName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=_NO_NUL)
]
Weight = Annotated[
    float, Field(gt=0, le=100, allow_inf_nan=False, description="Percent of the final grade")
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_NUL)
]
MaxPoints = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]

# The weights of a section's categories must add up to 100 within this tolerance.
WEIGHT_TOLERANCE = 0.001


class CategoryRead(BaseModel):
    id: int
    section_id: int
    name: str
    weight: float


class CategoryIn(CreateModel):
    """One category of the new set: with `id` it keeps (and may rename) an existing one."""

    id: Id | None = None
    name: CategoryName
    weight: Weight


CategorySet = Annotated[list[CategoryIn], Field(max_length=50)]


class AssessmentRead(BaseModel):
    id: int
    school_id: int
    section_id: int
    category_id: int
    title: str
    max_points: float
    due_date: date | None
    created_at: datetime
    updated_at: datetime


class AssessmentCreate(CreateModel):
    section_id: Id
    category_id: Id
    title: Title
    max_points: MaxPoints
    due_date: date | None = None


class AssessmentUpdate(PatchModel):
    nullable = frozenset({"due_date"})

    category_id: Id | None = None
    title: Title | None = None
    max_points: MaxPoints | None = None
    due_date: date | None = None


class AssessmentFilters(BaseModel):
    section_id: Id | None = None
    category_id: Id | None = None
    due_before: date | None = Field(default=None, description="Due on or before this date")
    due_after: date | None = Field(default=None, description="Due on or after this date")
