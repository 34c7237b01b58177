from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from homeroom.enums import STUDENT_STATUSES
from homeroom.models.base import Base, TimestampMixin, UTCDateTime

# A person's columns open their table in this order (sort_order: a class's own columns would
# otherwise come first): id, school_id and user_id, then the name and email.
_KEYS, _NAME = -2, -1


class SchoolPerson:
    """A student, guardian or teacher: a person of one school, who may have a login."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=_KEYS)
    school_id: Mapped[int] = mapped_column(
        ForeignKey("schools.id", ondelete="RESTRICT"), sort_order=_KEYS
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True, sort_order=_KEYS
    )
    first_name: Mapped[str] = mapped_column(String(100), sort_order=_NAME)
    last_name: Mapped[str] = mapped_column(String(100), sort_order=_NAME)
    email: Mapped[str] = mapped_column(String(254), unique=True, sort_order=_NAME)


class Student(SchoolPerson, TimestampMixin, Base):
    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("school_id", "student_number"),
        CheckConstraint(f"status IN {STUDENT_STATUSES!r}", name="status"),
        CheckConstraint("grade_level BETWEEN 0 AND 13", name="grade_level"),
        # One index per list sort; each ends in id for the keyset tie-break.
        Index(None, "school_id", "last_name", "id"),
        Index(None, "school_id", "student_number", "id"),
        Index(None, "school_id", "created_at", "id"),
        Index(None, "school_id", "grade_level", "id"),
        Index(None, "school_id", "status", "id"),
        # Covers the list's COUNT (school, not archived) without touching the table.
        Index(None, "school_id", "archived_at"),
        # An admin of every school lists without a school filter: the same sorts, unscoped.
        Index(None, "last_name", "id"),
        Index(None, "student_number", "id"),
        Index(None, "grade_level", "id"),
        Index(None, "created_at", "id"),
    )

    # Between user_id and the name, where the table has always had it.
    student_number: Mapped[str] = mapped_column(String(32), sort_order=_NAME)
    date_of_birth: Mapped[date] = mapped_column(Date)
    grade_level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Guardian(SchoolPerson, TimestampMixin, Base):
    __tablename__ = "guardians"
    __table_args__ = (Index(None, "school_id", "last_name", "id"),)

    phone: Mapped[str | None] = mapped_column(String(40))


class StudentGuardian(Base):
    __tablename__ = "student_guardians"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    relationship: Mapped[str] = mapped_column(String(40), default="guardian")


class Teacher(SchoolPerson, TimestampMixin, Base):
    __tablename__ = "teachers"
    __table_args__ = (Index(None, "school_id", "last_name", "id"),)

    department: Mapped[str | None] = mapped_column(String(100))
