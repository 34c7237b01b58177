"""Terms, courses, sections and enrollments: what is taught, when, by whom, to whom."""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from homeroom.enums import ENROLLMENT_STATUSES
from homeroom.models.base import Base, TimestampMixin, UTCDateTime, utcnow
from homeroom.models.people import Student, Teacher


class Term(TimestampMixin, Base):
    __tablename__ = "terms"
    __table_args__ = (
        UniqueConstraint("school_id", "name"),
        CheckConstraint("end_date >= start_date", name="dates"),
        Index(None, "school_id", "start_date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)


class Course(TimestampMixin, Base):
    __tablename__ = "courses"
    __table_args__ = (
        UniqueConstraint("term_id", "code"),
        CheckConstraint("credits >= 0", name="credits"),
        Index(None, "school_id", "code", "id"),
        Index(None, "school_id", "title", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    term_id: Mapped[int] = mapped_column(ForeignKey("terms.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(60), default="general")
    credits: Mapped[float] = mapped_column(Float, default=1.0)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")

    term: Mapped[Term] = relationship(lazy="raise")


class Section(TimestampMixin, Base):
    __tablename__ = "sections"
    __table_args__ = (
        UniqueConstraint("course_id", "name"),
        CheckConstraint("capacity > 0", name="capacity"),
        Index(None, "school_id", "id"),
        Index(None, "teacher_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(40))
    room: Mapped[str | None] = mapped_column(String(40))
    meeting_pattern: Mapped[str | None] = mapped_column(String(80))
    capacity: Mapped[int] = mapped_column(Integer, default=30)

    course: Mapped[Course] = relationship(lazy="raise")
    teacher: Mapped[Teacher | None] = relationship(lazy="raise")


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("student_id", "section_id"),
        CheckConstraint(f"status IN {ENROLLMENT_STATUSES!r}", name="status"),
        Index(None, "section_id", "student_id"),
        Index(None, "school_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="enrolled")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    student: Mapped[Student] = relationship(lazy="raise")
    section: Mapped[Section] = relationship(lazy="raise")
