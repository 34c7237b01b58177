"""Query parameters and answers of the analytics endpoints."""

import datetime as dt

from pydantic import BaseModel, Field

RATE_DEFINITION = (
    "rate = (present + late) / total records, a fraction between 0 and 1; "
    "null when there are no records"
)
FINAL_DEFINITION = (
    "weighted final percentage of the graded work (each category's points earned over points "
    "possible, weighed by the category weights of the categories with graded work), rounded "
    "to 2 decimals; null before anything is graded. Letters: A >= 90, B >= 80, C >= 70, "
    "D >= 60, else F"
)


# --- queries -----------------------------------------------------------------------------------


class DashboardQuery(BaseModel):
    school_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The school to show; only an administrator of every school may choose "
        "(without it, theirs is every school together). Others see their own school.",
    )
    date: dt.date | None = Field(
        default=None,
        description="The day taken as today (default: the server's date): today's and this "
        "week's attendance, the trend up to it.",
    )
    days: int = Field(
        default=10,
        ge=1,
        le=60,
        description="School days in the attendance trend (days with "
        "attendance taken), up to `date`.",
    )
    attendance_threshold: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="A student whose attendance rate (over every record so far) is below this "
        "is at risk.",
    )
    at_risk_limit: int = Field(
        default=20, ge=0, le=200, description="How many at-risk students to list."
    )
    activity_limit: int = Field(
        default=20, ge=0, le=200, description="How many recent audit log entries to list."
    )


class MeQuery(BaseModel):
    date: dt.date | None = Field(
        default=None,
        description="The day taken as today for upcoming assessments (default: the server's date).",
    )
    upcoming_limit: int = Field(
        default=5, ge=0, le=100, description="Upcoming assessments listed per student."
    )


# --- shared pieces -----------------------------------------------------------------------------


class StatusCounts(BaseModel):
    present: int
    absent: int
    late: int
    excused: int
    total: int
    rate: float | None = Field(description=RATE_DEFINITION)


class LetterCounts(BaseModel):
    A: int
    B: int
    C: int
    D: int
    F: int


# --- dashboard ---------------------------------------------------------------------------------


class StudentCounts(BaseModel):
    active: int
    inactive: int
    graduated: int
    withdrawn: int
    archived: int = Field(description="Archived students, whatever their status")
    total: int


class TermEnrollments(BaseModel):
    term_id: int
    name: str
    start_date: dt.date
    end_date: dt.date
    enrolled: int
    completed: int
    dropped: int


class DayAttendance(StatusCounts):
    date: dt.date


class WeekAttendance(StatusCounts):
    date_from: dt.date = Field(description="The Monday of the week of `date`")
    date_to: dt.date
    days: int = Field(description="School days with attendance taken this week")


class AttendanceOverview(BaseModel):
    today: DayAttendance
    week: WeekAttendance
    trend: list[DayAttendance] = Field(description="The last `days` school days, oldest first")


class CourseGrades(BaseModel):
    course_id: int
    code: str
    title: str
    term_id: int
    students: int = Field(description="Enrollments not dropped")
    graded: int = Field(description="Those with a final percentage")
    letters: LetterCounts = Field(description=FINAL_DEFINITION)


class FailingSection(BaseModel):
    section_id: int
    course_code: str
    final_percentage: float


class AtRiskStudent(BaseModel):
    student_id: int
    student_number: str
    first_name: str
    last_name: str
    grade_level: int
    attendance: StatusCounts
    failing: list[FailingSection] = Field(
        description="Current enrollments with a failing final grade"
    )
    reasons: list[str] = Field(description='"attendance" (below the threshold), "failing"')


class AtRisk(BaseModel):
    attendance_threshold: float
    total: int = Field(description="Active students at risk, all of them (the list is the top)")
    students: list[AtRiskStudent] = Field(
        description="Most failing sections first, then lowest attendance rate"
    )


class Activity(BaseModel):
    id: int
    action: str
    entity: str
    entity_id: int | None
    actor_id: int | None
    actor_name: str | None
    created_at: dt.datetime


class Dashboard(BaseModel):
    school_id: int | None = Field(description="null: every school together")
    school_name: str | None
    date: dt.date
    students: StudentCounts
    enrollments_by_term: list[TermEnrollments]
    attendance: AttendanceOverview
    grades_by_course: list[CourseGrades]
    at_risk: AtRisk
    recent_activity: list[Activity]


# --- section -----------------------------------------------------------------------------------


class SectionRosterEntry(BaseModel):
    student_id: int
    student_number: str
    first_name: str
    last_name: str
    status: str
    final_percentage: float | None = Field(description=FINAL_DEFINITION)
    letter: str | None
    attendance: StatusCounts


class AssessmentStatistics(BaseModel):
    assessment_id: int
    title: str
    category: str
    max_points: float
    due_date: dt.date | None
    graded: int = Field(description="Scores recorded for students on the roster")
    mean: float | None
    median: float | None
    min: float | None
    max: float | None
    mean_percentage: float | None = Field(description="mean / max_points * 100, 2 decimals")


class SessionAttendance(StatusCounts):
    date: dt.date


class SectionAnalytics(BaseModel):
    section_id: int
    name: str
    course_id: int
    course_code: str
    course_title: str
    term_id: int
    teacher_id: int | None
    students: int = Field(description="Students on the roster (enrollments not dropped)")
    average_final_percentage: float | None = Field(
        description="Mean of the roster's final percentages, 2 decimals"
    )
    letters: LetterCounts
    attendance: StatusCounts
    roster: list[SectionRosterEntry]
    assessments: list[AssessmentStatistics]
    attendance_by_session: list[SessionAttendance]


# --- me ----------------------------------------------------------------------------------------


class SectionGrade(BaseModel):
    section_id: int
    course_code: str
    course_title: str
    term_id: int
    final_percentage: float | None = Field(description=FINAL_DEFINITION)
    letter: str | None


class SectionAttendance(StatusCounts):
    section_id: int
    course_code: str


class MyAttendance(StatusCounts):
    by_section: list[SectionAttendance]


class UpcomingAssessment(BaseModel):
    assessment_id: int
    section_id: int
    course_code: str
    title: str
    due_date: dt.date
    max_points: float
    score: float | None


class MyStudent(BaseModel):
    student_id: int
    student_number: str
    first_name: str
    last_name: str
    grade_level: int
    grades: list[SectionGrade]
    attendance: MyAttendance
    upcoming: list[UpcomingAssessment]


class MyAnalytics(BaseModel):
    date: dt.date
    students: list[MyStudent] = Field(
        description="The student themself; a guardian's children (each of them)"
    )
