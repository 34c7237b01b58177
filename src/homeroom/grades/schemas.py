from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from homeroom.kit.schemas import CreateModel, Id, PatchModel

Score = Annotated[
    float,
    Field(ge=0, le=1_000_000, allow_inf_nan=False, description="0 .. the assessment's max_points"),
]
# PostgreSQL text cannot hold NUL: refuse it here rather than fail in the driver.
Comment = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")]

MAX_BULK_ROWS = 1000


class GradeRead(BaseModel):
    id: int
    school_id: int
    section_id: int
    assessment_id: int
    enrollment_id: int
    student_id: int
    score: float
    comment: str
    graded_by: int | None
    graded_at: datetime


class GradeCreate(CreateModel):
    assessment_id: Id
    student_id: Id
    score: Score
    comment: Comment = ""


class GradeUpdate(PatchModel):
    score: Score | None = None
    comment: Comment | None = None


class GradeFilters(BaseModel):
    assessment_id: Id | None = None
    section_id: Id | None = None
    student_id: Id | None = None


class BulkGradeRow(CreateModel):
    student_id: Id
    score: Score
    comment: Comment = ""


class BulkGrades(CreateModel):
    assessment_id: Id
    grades: Annotated[list[BulkGradeRow], Field(min_length=1, max_length=MAX_BULK_ROWS)]


class BulkGradesResult(BaseModel):
    assessment_id: int
    created: int
    updated: int


# --- a student's grades by section ---------------------------------------------------------------


class CategorySummary(BaseModel):
    name: str
    weight: float
    percentage: float | None


class GradeLine(BaseModel):
    assessment_id: int
    title: str
    category: str
    max_points: float
    score: float | None = Field(description="null while the assessment is not graded")
    due_date: date | None


class SectionGrades(BaseModel):
    section_id: int
    course_code: str
    course_title: str
    term_id: int
    final_percentage: float | None
    letter: str | None
    categories: list[CategorySummary]
    grades: list[GradeLine]


class StudentGrades(BaseModel):
    student_id: int
    sections: list[SectionGrades]


class StudentGradesQuery(BaseModel):
    term_id: Id | None = Field(default=None, description="Only this term's sections")
