"""Summary tables behind GET /analytics/dashboard, kept by database triggers.

The dashboard of a 50,000-student school aggregates 3.5 M grades and 3.5 M attendance records;
computed from those rows it takes seconds. These tables hold the same figures already summed,
one row per school, student, section, enrollment, attendance session and school day, so the
dashboard reads a few thousand small rows instead.

They are written ONLY by the triggers of migrations 0004, 0005 and 0008 (SQLite: row triggers;
PostgreSQL: statement triggers over transition tables), in the transaction of whatever wrote
the source rows: the API, an import, a psql session. No application code maintains them, so no
write path can forget to, and they are never out of date with a committed write. Migration 0004
filled them from existing data; a seed, which turns the triggers off for its load, fills them
with analytics/summary_repository.py. Every change is incremental (counts and sums adjusted by
the rows written, looked up by primary key), never a rescan of the big tables.
"""

from datetime import date

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from homeroom.models.base import Base


class AnalyticsSchool(Base):
    """Students of a school by status (archived ones counted apart, whatever their status)."""

    __tablename__ = "analytics_schools"

    school_id: Mapped[int] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    active: Mapped[int] = mapped_column(Integer, default=0)
    inactive: Mapped[int] = mapped_column(Integer, default=0)
    graduated: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsStudent(Base):
    """A student's attendance counts (every record so far) and how many of their current
    enrollments have a failing final grade: what "at risk" is decided from."""

    __tablename__ = "analytics_students"
    __table_args__ = (
        # At-risk: the failing ones, then the rest by attendance rate, within a school.
        Index(None, "school_id", "active", "failing", "attendance_rate"),
    )

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    # status "active" and not archived
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    present: Mapped[int] = mapped_column(Integer, default=0)
    absent: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    excused: Mapped[int] = mapped_column(Integer, default=0)
    # (present + late) / all records; NULL without records
    attendance_rate: Mapped[float | None] = mapped_column(Float)
    failing: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsSection(Base):
    """A section's enrollments by status, and the final grades of those not dropped by letter
    (the rest have no graded work yet)."""

    __tablename__ = "analytics_sections"
    __table_args__ = (
        # Covers the dashboard's per-course sums: no table lookups.
        Index(
            "ix_analytics_sections_course_counts",
            *("school_id", "course_id", "enrolled", "completed", "dropped"),
            *("a", "b", "c", "d", "f"),
        ),
    )

    section_id: Mapped[int] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(Integer)
    enrolled: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[int] = mapped_column(Integer, default=0)
    a: Mapped[int] = mapped_column(Integer, default=0)
    b: Mapped[int] = mapped_column(Integer, default=0)
    c: Mapped[int] = mapped_column(Integer, default=0)
    d: Mapped[int] = mapped_column(Integer, default=0)
    f: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsEnrollment(Base):
    """An enrollment's status and weighted final percentage (grades/calculation.py's rule,
    in SQL)."""

    __tablename__ = "analytics_enrollments"
    __table_args__ = (Index(None, "section_id"), Index(None, "student_id"))

    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    section_id: Mapped[int] = mapped_column(Integer)
    student_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    final_percentage: Mapped[float | None] = mapped_column(Float)


class AnalyticsEnrollmentCategory(Base):
    """Points earned and possible per enrollment and assessment category, over graded
    assessments, with the category's weight: what the final percentage is weighed from."""

    __tablename__ = "analytics_enrollment_categories"
    __table_args__ = (Index(None, "category_id", "enrollment_id"),)

    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_categories.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[float] = mapped_column(Float)
    earned: Mapped[float] = mapped_column(Float, default=0.0)
    possible: Mapped[float] = mapped_column(Float, default=0.0)
    graded: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsSession(Base):
    """An attendance session's records by status."""

    __tablename__ = "analytics_sessions"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("attendance_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[int] = mapped_column(Integer)
    date: Mapped[date] = mapped_column(Date)
    present: Mapped[int] = mapped_column(Integer, default=0)
    absent: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    excused: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsDay(Base):
    """A school day's attendance records by status, over every section."""

    __tablename__ = "analytics_days"

    school_id: Mapped[int] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    present: Mapped[int] = mapped_column(Integer, default=0)
    absent: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    excused: Mapped[int] = mapped_column(Integer, default=0)
