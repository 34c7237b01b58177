"""One rounding rule in three places: random gradebooks (categories and weights, assessments and
their points, scores with half-way values such as 89.995) give the same final percentage, to
the cent, and the same letter in Python (grades/calculation.py, what the student's page shows)
and in the summaries the database's triggers keep (what the dashboard counts), on each
backend. The gradebook is written, then partly re-scored and partly deleted, so the triggers'
incremental paths are taken as well as the first one."""

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, text, update

from homeroom.grades import calculation
from homeroom.kit.db import Database
from homeroom.models import (
    Assessment,
    AssessmentCategory,
    Course,
    Enrollment,
    Grade,
    School,
    Section,
    Student,
)
from tests.factories import Factory

API = "/api/v1"


@dataclass(frozen=True)
class Gradebook:
    weights: list[float]  # per category
    assessments: list[tuple[int, float]]  # (category index, max_points)
    scores: list[list[float | None]]  # per student, per assessment; None is ungraded
    rescored: list[list[float | None]]  # the same after re-scoring (None: deleted)


def _scores(top: float) -> st.SearchStrategy[float]:
    """A score out of `top` as a client may send it: a percentage in thousandths of a point,
    half of them half-way values (x.xx5), scaled to the points."""
    thousandths = st.one_of(
        st.integers(0, 9_999).map(lambda k: 10 * k + 5), st.integers(0, 100_000)
    )
    return thousandths.map(lambda n: n * top / 100_000)


@st.composite
def gradebooks(draw: st.DrawFn) -> Gradebook:
    weights = draw(
        st.lists(
            st.one_of(st.integers(1, 100).map(float), st.sampled_from([12.5, 33.3, 0.5])),
            min_size=1,
            max_size=4,
        )
    )
    assessments = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(weights) - 1),
                st.sampled_from([1.0, 3.0, 7.5, 10.0, 20.0, 25.0, 50.0, 100.0, 150.0]),
            ),
            min_size=1,
            max_size=5,
        )
    )
    students = draw(st.integers(1, 3))
    scores, rescored = [], []
    for _ in range(students):
        row = [draw(st.one_of(st.none(), _scores(top))) for _, top in assessments]
        scores.append(row)
        # Each grade kept, re-scored or deleted.
        rescored.append(
            [
                None if score is None else draw(st.one_of(st.just(score), _scores(top), st.none()))
                for score, (_, top) in zip(row, assessments, strict=True)
            ]
        )
    return Gradebook(weights, assessments, scores, rescored)


def expected_final(book: Gradebook, scores: list[float | None]) -> float | None:
    """What grades/calculation.py makes of one student's scores."""
    sums = [[0.0, 0.0, 0] for _ in book.weights]
    for score, (category, top) in zip(scores, book.assessments, strict=True):
        if score is not None:
            sums[category][0] += score
            sums[category][1] += top
            sums[category][2] += 1
    totals = [
        calculation.CategoryTotals(w, e, p, int(n))
        for w, (e, p, n) in zip(book.weights, sums, strict=True)
    ]
    return calculation.final_percentage(totals)


@dataclass
class Place:
    school: School
    course: Course
    headers: dict[str, str]  # staff of the school


async def write(db: Database, factory: Factory, place: Place, book: Gradebook) -> dict[str, Any]:
    """The gradebook written in one transaction, then re-scored and deleted in another.
    Returns the ids: section, students, enrollments."""
    school_id = place.school.id
    async with db.sessionmaker() as session:
        section_id = await session.scalar(
            insert(Section)
            .values(school_id=school_id, course_id=place.course.id, name=f"P{factory.n()}")
            .returning(Section.id)
        )
        category_ids = [
            await session.scalar(
                insert(AssessmentCategory)
                .values(school_id=school_id, section_id=section_id, name=f"C{i}", weight=w)
                .returning(AssessmentCategory.id)
            )
            for i, w in enumerate(book.weights)
        ]
        assessment_ids = [
            await session.scalar(
                insert(Assessment)
                .values(
                    school_id=school_id,
                    section_id=section_id,
                    category_id=category_ids[category],
                    title=f"A{i}",
                    max_points=top,
                )
                .returning(Assessment.id)
            )
            for i, (category, top) in enumerate(book.assessments)
        ]
        student_ids, enrollment_ids = [], []
        for _ in book.scores:
            n = factory.n()
            student_id = await session.scalar(
                insert(Student)
                .values(
                    school_id=school_id,
                    student_number=f"P{n:07d}",
                    first_name="Pat",
                    last_name=f"Prop{n}",
                    email=f"prop{n}@test.example.edu",
                    date_of_birth=date(2010, 1, 1),
                    grade_level=9,
                )
                .returning(Student.id)
            )
            student_ids.append(student_id)
            enrollment_ids.append(
                await session.scalar(
                    insert(Enrollment)
                    .values(school_id=school_id, student_id=student_id, section_id=section_id)
                    .returning(Enrollment.id)
                )
            )
        grades = [
            {
                "school_id": school_id,
                "enrollment_id": enrollment_id,
                "assessment_id": assessment_id,
                "student_id": student_id,
                "score": score,
            }
            for student_id, enrollment_id, row in zip(
                student_ids, enrollment_ids, book.scores, strict=True
            )
            for assessment_id, score in zip(assessment_ids, row, strict=True)
            if score is not None
        ]
        if grades:
            await session.execute(insert(Grade), grades)
        await session.commit()

    async with db.sessionmaker() as session:
        for enrollment_id, before, after in zip(
            enrollment_ids, book.scores, book.rescored, strict=True
        ):
            for assessment_id, old, new in zip(assessment_ids, before, after, strict=True):
                if old is None or old == new:
                    continue
                where = (Grade.enrollment_id == enrollment_id, Grade.assessment_id == assessment_id)
                if new is None:
                    await session.execute(delete(Grade).where(*where))
                else:
                    await session.execute(update(Grade).where(*where).values(score=new))
        await session.commit()
    return {"section": section_id, "students": student_ids, "enrollments": enrollment_ids}


@pytest.fixture
async def place(factory: Factory) -> Place:
    school = await factory.school()
    course = await factory.course(await factory.term(school))
    headers, _ = await factory.login_as("staff", school)
    return Place(school, course, headers)


class TestFinalGradesAgree:
    @settings(
        max_examples=60,
        deadline=None,
        # The school is shared by the examples; each writes a section of its own.
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(book=gradebooks())
    # A final of exactly 89.995: half up, 90.00 and an A everywhere.
    @example(book=Gradebook([100.0], [(0, 100.0)], [[89.995]], [[89.995]]))
    # 79.985 (half-even would give 79.98); 59.995 once re-scored (a D, failing nowhere);
    # 69.994999 stays down.
    @example(book=Gradebook([100.0], [(0, 100.0)], [[79.985]], [[79.985]]))
    @example(book=Gradebook([100.0], [(0, 100.0)], [[89.5]], [[59.995]]))
    @example(book=Gradebook([100.0], [(0, 100.0)], [[69.994999]], [[69.994999]]))
    # 60 x 90.0 + 40 x 89.9875 = 89.995 over two categories.
    @example(book=Gradebook([60.0, 40.0], [(0, 10.0), (1, 80.0)], [[9.0, 71.99]], [[9.0, 71.99]]))
    async def test_python_and_the_stored_summaries_agree(
        self, db: Database, factory: Factory, client: AsyncClient, place: Place, book: Gradebook
    ) -> None:
        ids = await write(db, factory, place, book)
        finals = [expected_final(book, scores) for scores in book.rescored]
        letters = [calculation.letter(final) for final in finals]

        async with db.engine.connect() as conn:
            stored_rows = await conn.execute(
                text(
                    "SELECT enrollment_id, final_percentage FROM analytics_enrollments "
                    "WHERE section_id = :s"
                ),
                {"s": ids["section"]},
            )
            stored: dict[int, float | None] = {e: final for e, final in stored_rows.tuples()}
            counts = (
                await conn.execute(
                    text("SELECT a, b, c, d, f FROM analytics_sections WHERE section_id = :s"),
                    {"s": ids["section"]},
                )
            ).one()
            failing_rows = await conn.execute(
                text(
                    "SELECT student_id, failing FROM analytics_students "
                    "WHERE student_id IN (SELECT student_id FROM enrollments "
                    "WHERE section_id = :s)"
                ),
                {"s": ids["section"]},
            )
            failing: dict[int, Any] = {s: f for s, f in failing_rows.tuples()}
        # To the cent: both are a whole number of cents over 100, the same float.
        assert [stored[e] for e in ids["enrollments"]] == finals
        by_letter = Counter(letter for letter in letters if letter is not None)
        assert tuple(counts) == tuple(by_letter[x] for x in "ABCDF")
        assert [failing[s] for s in ids["students"]] == [int(x == "F") for x in letters]

        # The student's page shows Python's figure and letter.
        for student_id, final, letter in zip(ids["students"], finals, letters, strict=True):
            r = await client.get(f"{API}/students/{student_id}/grades", headers=place.headers)
            assert r.status_code == 200, r.text
            (section,) = r.json()["sections"]
            assert (section["final_percentage"], section["letter"]) == (final, letter)
