"""Report cards, transcripts and bulk report-card jobs: queries, bodies and the JSON forms."""

from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from homeroom.kit.schemas import CreateModel, Id

DocumentFormat = Literal["pdf", "json"]
FORMAT_DESCRIPTION = (
    "pdf (the default) or json (the same data); without it, an Accept header preferring "
    "application/json gives JSON"
)


class ReportCardQuery(BaseModel):
    term_id: Id | None = Field(
        default=None,
        description="The term; by default the one in progress (else the latest started) among "
        "the terms the student is enrolled in",
    )
    format: DocumentFormat | None = Field(default=None, description=FORMAT_DESCRIPTION)


class TranscriptQuery(BaseModel):
    format: DocumentFormat | None = Field(default=None, description=FORMAT_DESCRIPTION)


class SchoolRef(BaseModel):
    id: int
    name: str


class StudentRef(BaseModel):
    id: int
    student_number: str
    first_name: str
    last_name: str
    grade_level: int


class TermRef(BaseModel):
    id: int
    name: str
    start_date: date
    end_date: date


class CategoryResult(BaseModel):
    name: str
    weight: float
    percentage: float | None


class Comment(BaseModel):
    assessment_id: int
    assessment: str
    comment: str


class _SectionResult(BaseModel):
    """What a report card and a transcript both show of a section."""

    section_id: int
    section_name: str
    course_code: str
    course_title: str
    credits: float
    teacher: str | None
    final_percentage: float | None
    letter: str | None


class ReportCardSection(_SectionResult):
    categories: list[CategoryResult]
    comments: list[Comment] = Field(description="The teacher's feedback on graded work")


class AttendanceTotals(BaseModel):
    total: int
    present: int
    absent: int
    late: int
    excused: int
    rate: float | None = Field(description="(present + late) / total; null without records")


class ReportCard(BaseModel):
    school: SchoolRef
    student: StudentRef
    term: TermRef
    partial: bool = Field(description="True for a teacher: only the sections they teach")
    sections: list[ReportCardSection]
    attendance: AttendanceTotals


class TranscriptSection(_SectionResult):
    grade_points: float | None


class TranscriptTerm(BaseModel):
    term: TermRef
    in_progress: bool = Field(description="The term has not ended: its grades may change")
    sections: list[TranscriptSection]
    credits_attempted: float
    credits_earned: float
    gpa: float | None
    cumulative_gpa: float | None = Field(description="Over this term and every earlier one")


class Transcript(BaseModel):
    school: SchoolRef
    student: StudentRef
    partial: bool = Field(description="True for a teacher: only the sections they teach")
    terms: list[TranscriptTerm]
    credits_attempted: float
    credits_earned: float
    cumulative_gpa: float | None
    gpa_scale: dict[str, float]


class ReportCardsCreate(CreateModel):
    """The students of a section (term_id optional: the section's), or of a grade level in a
    term (term_id required)."""

    term_id: Id | None = None
    section_id: Id | None = None
    grade_level: int | None = Field(default=None, ge=0, le=13)

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.section_id is None) == (self.grade_level is None):
            raise ValueError("give either section_id or grade_level")
        if self.grade_level is not None and self.term_id is None:
            raise ValueError("term_id is required with grade_level")
        return self
