from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from homeroom.kit.schemas import CreateModel, PatchModel

Score = Annotated[float, Field(ge=0, le=1_000_000, description="0 .. the assessment's max_points")]
Comment = Annotated[str, Field(max_length=2000)]

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
    assessment_id: int
    student_id: int
    score: Score
    comment: Comment = ""


class GradeUpdate(PatchModel):
    score: Score | None = None
    comment: Comment | None = None


class GradeFilters(BaseModel):
    assessment_id: int | None = None
    section_id: int | None = None
    student_id: int | None = None


class BulkGradeRow(CreateModel):
    student_id: int
    score: Score
    comment: Comment = ""


class BulkGrades(CreateModel):
    assessment_id: int
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
