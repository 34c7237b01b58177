"""Migration 0008 recomputes the final percentages already stored (and the letter counts and
failing counts follow), and its downgrade puts the old rounding back. On SQLite: the harness's
PostgreSQL database is the session's, already at head."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, insert, text

from homeroom.config import Settings
from homeroom.kit.migrate import alembic_config, upgrade
from homeroom.models import (
    Assessment,
    AssessmentCategory,
    Course,
    Enrollment,
    Grade,
    School,
    Section,
    Student,
    Term,
)

# 89.99499999999 rounds to 89.99 with SQLite's round(); to 90.00 by the rule (less than a
# millionth of a cent below the half-way value 89.995: floating-point noise).
SCORE = 89.99499999999


@pytest.fixture
def migration_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}",
        var_dir=tmp_path,
        secret_key="test-secret-key-that-is-long-enough-for-hs256-0123456789",
    )


@pytest.fixture
def engine(migration_settings: Settings, tmp_path: Path) -> Iterator[Engine]:
    upgrade(migration_settings, "0007")
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    yield engine
    engine.dispose()


def _one(engine: Engine, table: Any, **values: Any) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def graded_enrollment(engine: Engine) -> None:
    """One student with one grade of SCORE out of 100, written at 0007 (the old rounding)."""
    school = _one(engine, School.__table__, name="S", code="S")
    term = _one(
        engine,
        Term.__table__,
        school_id=school,
        name="T",
        start_date=date(2026, 9, 1),
        end_date=date(2027, 1, 31),
    )
    course = _one(engine, Course.__table__, school_id=school, term_id=term, code="C", title="C")
    section = _one(engine, Section.__table__, school_id=school, course_id=course, name="01")
    student = _one(
        engine,
        Student.__table__,
        school_id=school,
        student_number="S1",
        first_name="A",
        last_name="B",
        email="a@test.example.edu",
        date_of_birth=date(2010, 1, 1),
        grade_level=9,
    )
    enrollment = _one(
        engine, Enrollment.__table__, school_id=school, student_id=student, section_id=section
    )
    category = _one(
        engine,
        AssessmentCategory.__table__,
        school_id=school,
        section_id=section,
        name="Tests",
        weight=100,
    )
    assessment = _one(
        engine,
        Assessment.__table__,
        school_id=school,
        section_id=section,
        category_id=category,
        title="Final",
        max_points=100,
    )
    _one(
        engine,
        Grade.__table__,
        school_id=school,
        enrollment_id=enrollment,
        assessment_id=assessment,
        student_id=student,
        score=SCORE,
    )


def stored(engine: Engine) -> tuple[Any, ...]:
    """(final percentage, A count, B count) of the one enrollment and its section."""
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT e.final_percentage, s.a, s.b FROM analytics_enrollments e "
                    "JOIN analytics_sections s ON s.section_id = e.section_id"
                )
            ).one()
        )


class TestMigration0008:
    def test_stored_finals_are_recomputed_and_put_back(
        self, migration_settings: Settings, engine: Engine
    ) -> None:
        graded_enrollment(engine)
        assert stored(engine) == (89.99, 0, 1)
        upgrade(migration_settings, "0008")
        assert stored(engine) == (90.0, 1, 0)
        command.downgrade(alembic_config(migration_settings), "0007")
        assert stored(engine) == (89.99, 0, 1)
