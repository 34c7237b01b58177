"""Assessment categories (weights per section), assessments and grades."""

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from homeroom.models.base import Base, TimestampMixin, UTCDateTime, utcnow
from homeroom.models.catalog import Enrollment, Section


class AssessmentCategory(Base):
    __tablename__ = "assessment_categories"
    __table_args__ = (
        UniqueConstraint("section_id", "name"),
        CheckConstraint("weight > 0 AND weight <= 100", name="weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(
        ForeignKey("schools.id", ondelete="RESTRICT"), index=True
    )
    section_id: Mapped[int] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    weight: Mapped[float] = mapped_column(Float)


class Assessment(TimestampMixin, Base):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("max_points > 0", name="max_points"),
        Index(None, "section_id", "due_date", "id"),
        Index(None, "school_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_categories.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    max_points: Mapped[float] = mapped_column(Float)
    due_date: Mapped[date | None] = mapped_column(Date)

    section: Mapped[Section] = relationship(lazy="raise")
    category: Mapped[AssessmentCategory] = relationship(lazy="raise")


class Grade(Base):
    """One score per enrollment and assessment. student_id repeats the enrollment's student
    so that a student's or guardian's grade queries are one indexed lookup."""

    __tablename__ = "grades"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "assessment_id"),
        CheckConstraint("score >= 0", name="score"),
        Index(None, "student_id", "assessment_id"),
        Index(None, "assessment_id", "id"),
        Index(None, "school_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    graded_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrollment: Mapped[Enrollment] = relationship(lazy="raise")
    assessment: Mapped[Assessment] = relationship(lazy="raise")
