"""The fixed shape of the demo school: departments, the course catalogue, grading templates,
the bell schedule and the school calendar."""

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    slug: str  # the courses' category
    room_prefix: str


DEPARTMENTS = (
    Department("Mathematics", "mathematics", "M"),
    Department("English", "english", "E"),
    Department("Science", "science", "S"),
    Department("Social Studies", "social-studies", "H"),
    Department("World Languages", "world-languages", "L"),
    Department("Arts", "arts", "A"),
    Department("Physical Education", "physical-education", "G"),
    Department("Computer Science", "computer-science", "C"),
)
DEPARTMENT_BY_SLUG = {d.slug: d for d in DEPARTMENTS}

ALL_GRADES = (9, 10, 11, 12)


@dataclass(frozen=True, slots=True)
class CourseSpec:
    code: str
    title: str
    department: str  # Department.slug
    credits: float
    grades: tuple[int, ...]
    kind: str  # core (one per subject and grade level), pe, elective
    period: int  # first period (0-7) its sections meet in; further sections take the next ones


def _core(code: str, title: str, dept: str, grade: int, subject: int) -> CourseSpec:
    # Grades 9 and 11 have their core courses in the morning, 10 and 12 in the afternoon
    # (when a school is small enough for one section a course).
    return CourseSpec(code, title, dept, 1.0, (grade,), "core", subject + 4 * (grade % 2 == 0))


CATALOG = (
    _core("MATH101", "Algebra I", "mathematics", 9, 0),
    _core("MATH201", "Geometry", "mathematics", 10, 0),
    _core("MATH301", "Algebra II", "mathematics", 11, 0),
    _core("MATH401", "Precalculus", "mathematics", 12, 0),
    _core("ENGL101", "English 9", "english", 9, 1),
    _core("ENGL201", "English 10", "english", 10, 1),
    _core("ENGL301", "American Literature", "english", 11, 1),
    _core("ENGL401", "British Literature", "english", 12, 1),
    _core("SCI101", "Biology", "science", 9, 2),
    _core("SCI201", "Chemistry", "science", 10, 2),
    _core("SCI301", "Physics", "science", 11, 2),
    _core("SCI401", "Environmental Science", "science", 12, 2),
    _core("HIST101", "World History", "social-studies", 9, 3),
    _core("HIST201", "Modern World History", "social-studies", 10, 3),
    _core("HIST301", "U.S. History", "social-studies", 11, 3),
    _core("HIST401", "Government and Economics", "social-studies", 12, 3),
    CourseSpec("PE101", "Physical Education", "physical-education", 0.5, (9, 10), "pe", 3),
    CourseSpec("PE201", "Health and Wellness", "physical-education", 0.5, (11, 12), "pe", 3),
    CourseSpec("LANG101", "Spanish I", "world-languages", 1.0, (9, 10), "elective", 6),
    CourseSpec("LANG201", "Spanish II", "world-languages", 1.0, (10, 11, 12), "elective", 7),
    CourseSpec("LANG301", "Spanish III", "world-languages", 1.0, (11, 12), "elective", 0),
    CourseSpec("LANG111", "French I", "world-languages", 1.0, ALL_GRADES, "elective", 7),
    CourseSpec("LANG211", "French II", "world-languages", 1.0, (10, 11, 12), "elective", 6),
    CourseSpec("LANG121", "Mandarin I", "world-languages", 1.0, ALL_GRADES, "elective", 1),
    CourseSpec("ART101", "Studio Art", "arts", 0.5, ALL_GRADES, "elective", 6),
    CourseSpec("ART111", "Concert Band", "arts", 0.5, ALL_GRADES, "elective", 7),
    CourseSpec("ART121", "Choir", "arts", 0.5, ALL_GRADES, "elective", 5),
    CourseSpec("ART131", "Drama", "arts", 0.5, ALL_GRADES, "elective", 4),
    CourseSpec("ART141", "Photography", "arts", 0.5, (10, 11, 12), "elective", 2),
    CourseSpec(
        "CS101",
        "Introduction to Computer Science",
        "computer-science",
        1.0,
        ALL_GRADES,
        "elective",
        7,
    ),
    CourseSpec("CS201", "AP Computer Science A", "computer-science", 1.0, (11, 12), "elective", 6),
    CourseSpec("CS211", "Web Development", "computer-science", 0.5, (10, 11, 12), "elective", 3),
    CourseSpec("MATH450", "AP Calculus AB", "mathematics", 1.0, (12,), "elective", 7),
    CourseSpec("MATH460", "AP Statistics", "mathematics", 1.0, (11, 12), "elective", 5),
    CourseSpec("SCI450", "AP Biology", "science", 1.0, (11, 12), "elective", 6),
    CourseSpec("HIST450", "Psychology", "social-studies", 0.5, (11, 12), "elective", 2),
    CourseSpec("ENGL450", "Creative Writing", "english", 0.5, (10, 11, 12), "elective", 3),
    CourseSpec("ENGL460", "Journalism", "english", 0.5, ALL_GRADES, "elective", 0),
)

# Students take their four core courses, a PE/health course and 1-3 electives: 6-8 sections.
ELECTIVE_COUNTS = (1, 2, 2, 3)

# About 47 students per section: the `school` (2,000 students, ~300 sections) and `district`
# (50,000 students, ~7,500 sections) datasets of bench/README.md.
STUDENTS_PER_SECTION = 47
STUDENTS_PER_TEACHER = 20


@dataclass(frozen=True, slots=True)
class GradingTemplate:
    categories: tuple[tuple[str, float], ...]  # (name, weight); the weights sum to 100
    # (category, title, max points) in due-date order; the last ones are still to come.
    assessments: tuple[tuple[str, str, float], ...]


ACADEMIC = GradingTemplate(
    categories=(("Homework", 30.0), ("Quizzes", 30.0), ("Exams", 40.0)),
    assessments=(
        ("Homework", "Homework 1", 10.0),
        ("Quizzes", "Quiz 1", 20.0),
        ("Homework", "Homework 2", 10.0),
        ("Quizzes", "Quiz 2", 20.0),
        ("Exams", "Unit 1 Test", 100.0),
        ("Homework", "Homework 3", 10.0),
        ("Quizzes", "Quiz 3", 20.0),
        ("Exams", "Midterm Exam", 100.0),
        ("Homework", "Homework 4", 10.0),
        ("Quizzes", "Quiz 4", 20.0),
        ("Homework", "Homework 5", 10.0),
        ("Exams", "Final Exam", 100.0),
    ),
)
STUDIO = GradingTemplate(
    categories=(("Participation", 40.0), ("Projects", 40.0), ("Quizzes", 20.0)),
    assessments=(
        ("Participation", "Participation: weeks 1-2", 10.0),
        ("Quizzes", "Quiz 1", 20.0),
        ("Participation", "Participation: weeks 3-4", 10.0),
        ("Projects", "Project 1", 50.0),
        ("Participation", "Participation: weeks 5-6", 10.0),
        ("Quizzes", "Quiz 2", 20.0),
        ("Participation", "Participation: weeks 7-8", 10.0),
        ("Projects", "Project 2", 50.0),
        ("Participation", "Participation: weeks 9-10", 10.0),
        ("Quizzes", "Quiz 3", 20.0),
        ("Participation", "Participation: weeks 11-12", 10.0),
        ("Projects", "Final Project", 100.0),
    ),
)
ASSESSMENTS_PER_SECTION = 12
UPCOMING_ASSESSMENTS = 2  # per section, not yet due (so not graded)
assert all(len(t.assessments) == ASSESSMENTS_PER_SECTION for t in (ACADEMIC, STUDIO))


def grading_template(department: str) -> GradingTemplate:
    return STUDIO if department in ("arts", "physical-education") else ACADEMIC


# Bell schedule: eight 50-minute periods.
def period_label(period: int) -> str:
    start = 8 * 60 + period * 55
    end = start + 50
    return (
        f"Mon-Fri P{period + 1} {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    )


def period_start_minutes(period: int) -> int:
    return 8 * 60 + period * 55


# --- calendar ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermDates:
    name: str
    start: date
    end: date


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _friday_on_or_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 4) % 7)


def fall_term(year: int) -> TermDates:
    return TermDates(
        f"Fall {year}",
        _monday_on_or_after(date(year, 8, 24)),
        _friday_on_or_before(date(year, 12, 18)),
    )


def spring_term(year: int) -> TermDates:
    return TermDates(
        f"Spring {year}",
        _monday_on_or_after(date(year, 1, 11)),
        _friday_on_or_before(date(year, 5, 28)),
    )


def school_year(today: date) -> tuple[TermDates, TermDates, int]:
    """The school year's (fall, spring) terms and which one is current (0 or 1).

    The current term is the latest one that began at least two weeks before `today`, so the
    demo always has past school days with attendance and graded work.
    """
    candidates = []
    for year in (today.year - 1, today.year):
        candidates.append((fall_term(year), spring_term(year + 1), 0))
        candidates.append((fall_term(year), spring_term(year + 1), 1))
    chosen, *_ = candidates
    for fall, spring, current in candidates:
        if (fall, spring)[current].start + timedelta(days=14) <= today:
            chosen = (fall, spring, current)
    return chosen


def school_days_before(term: TermDates, today: date, count: int) -> list[date]:
    """The last `count` weekdays of `term` before `today` (today itself is still open)."""
    day = min(today - timedelta(days=1), term.end)
    days: list[date] = []
    while day >= term.start and len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    days.reverse()
    return days
