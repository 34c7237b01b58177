"""The summary tables behind the dashboard, kept by the triggers of the migrations, equal a
recomputation from scratch by the application's statements (analytics/summary_repository.py) after
every kind of write (API and plain SQL, cascades included), and their final percentages equal
grades/calculation.py's."""

from collections import defaultdict
from typing import Any, cast

import pytest
from httpx import AsyncClient
from sqlalchemy import Table, delete, select, text, update

from homeroom.analytics import summary_repository as summaries
from homeroom.grades import calculation
from homeroom.kit.db import Database
from homeroom.models import (
    Assessment,
    AssessmentCategory,
    AttendanceRecord,
    AttendanceSession,
    Grade,
    Section,
    Student,
)
from tests.analytics.conftest import API, MONDAY, TUESDAY, World
from tests.factories import Factory


def _select(table: str) -> str:
    # A category whose grades all went, a day whose attendance all went, keep a row of zeros
    # (the same as no row for every figure).
    if table == "analytics_enrollment_categories":
        return f"SELECT * FROM {table} WHERE graded != 0"
    if table == "analytics_days":
        return f"SELECT * FROM {table} WHERE present + absent + late + excused != 0"
    return f"SELECT * FROM {table}"


def _rows(result: Any) -> list[tuple[Any, ...]]:
    out = []
    for row in result:
        out.append(tuple(round(v, 6) if isinstance(v, float) else v for v in row))
    return sorted(out, key=repr)


async def tables(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with db.engine.connect() as conn:
        return {t: _rows(await conn.exec_driver_sql(_select(t))) for t in summaries.TABLES}


async def rebuilt(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """The same tables recomputed by the application's set-based fill, in a transaction rolled
    back afterwards (with the triggers off for it)."""
    out = {}
    async with db.engine.connect() as conn:
        transaction = await conn.begin()
        try:
            if db.is_sqlite:
                names = await conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                )
                for (name,) in names.all():
                    await conn.exec_driver_sql(f"DROP TRIGGER {name}")
            else:
                await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table in reversed(summaries.TABLES):
                await conn.exec_driver_sql(f"DELETE FROM {table}")
            for statement in summaries.fill_statements(db.is_sqlite):
                await conn.exec_driver_sql(statement)
            for table in summaries.TABLES:
                out[table] = _rows(await conn.exec_driver_sql(_select(table)))
        finally:
            await transaction.rollback()
    return out


async def assert_consistent(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    live = await tables(db)
    assert live == await rebuilt(db)
    await assert_finals_match_calculation(db)
    return live


async def assert_finals_match_calculation(db: Database) -> None:
    """Every enrollment's final percentage as grades/calculation.py computes it."""
    async with db.sessionmaker() as session:
        grades = (
            await session.execute(
                select(
                    Grade.enrollment_id,
                    Assessment.category_id,
                    AssessmentCategory.weight,
                    Grade.score,
                    Assessment.max_points,
                )
                .join(Assessment, Assessment.id == Grade.assessment_id)
                .join(AssessmentCategory, AssessmentCategory.id == Assessment.category_id)
            )
        ).all()
        finals: dict[int, float | None] = dict(
            (
                await session.execute(
                    text("SELECT enrollment_id, final_percentage FROM analytics_enrollments")
                )
            )
            .tuples()
            .all()
        )
    sums: dict[int, dict[int, list[float]]] = defaultdict(dict)
    for enrollment_id, category_id, weight, score, max_points in grades:
        acc = sums[enrollment_id].setdefault(category_id, [weight, 0.0, 0.0, 0])
        acc[1] += score
        acc[2] += max_points
        acc[3] += 1
    for enrollment_id, final in finals.items():
        totals = [
            calculation.CategoryTotals(w, e, p, int(n))
            for w, e, p, n in sums[enrollment_id].values()
        ]
        expected = calculation.final_percentage(totals)
        # One rounding rule (grades/calculation.to_cents): the same cent, the same float.
        assert final == expected, (enrollment_id, final, expected)


async def ok(response: Any) -> Any:
    r = await response
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


async def sql(db: Database, *statements: Any) -> None:
    async with db.sessionmaker() as session:
        for statement in statements:
            await session.execute(statement)
        await session.commit()


class TestTriggers:
    async def test_the_hand_built_school(self, db: Database, world: World) -> None:
        live = await assert_consistent(db)
        assert len(live["analytics_students"]) == 5
        days = {row[1]: row[2:] for row in live["analytics_days"]}
        assert {str(k): v for k, v in days.items()} == {
            MONDAY.isoformat(): (1, 1, 1, 0),
            TUESDAY.isoformat(): (2, 1, 0, 1),
        }

    async def test_api_writes(self, client: AsyncClient, db: Database, world: World) -> None:
        teacher, staff = world.teacher_a, world.staff
        # Attendance: a retake of a day (upsert), one record changed, one deleted.
        await ok(
            client.post(
                f"{API}/attendance/bulk",
                headers=teacher,
                json={
                    "section_id": world.x.id,
                    "date": MONDAY.isoformat(),
                    "records": [
                        {"student_id": world.s1.id, "status": "late"},
                        {"student_id": world.s2.id, "status": "absent"},
                    ],
                },
            )
        )
        records = (
            await ok(client.get(f"{API}/attendance?section_id={world.x.id}", headers=teacher))
        )["items"]
        await ok(
            client.patch(
                f"{API}/attendance/{records[0]['id']}", headers=teacher, json={"status": "excused"}
            )
        )
        await ok(client.delete(f"{API}/attendance/{records[1]['id']}", headers=teacher))
        await assert_consistent(db)

        # Grades: a column entered and re-entered, one changed, one deleted.
        for score in (4, 7.5):
            await ok(
                client.post(
                    f"{API}/grades/bulk",
                    headers=teacher,
                    json={
                        "assessment_id": world.ids["hw2"],
                        "grades": [
                            {"student_id": s.id, "score": score}
                            for s in (world.s1, world.s2, world.s3)
                        ],
                    },
                )
            )
        grades = (
            await ok(client.get(f"{API}/grades?assessment_id={world.ids['test']}", headers=teacher))
        )["items"]
        await ok(
            client.patch(f"{API}/grades/{grades[0]['id']}", headers=teacher, json={"score": 1})
        )
        await ok(
            client.patch(f"{API}/grades/{grades[1]['id']}", headers=teacher, json={"comment": "ok"})
        )
        await ok(client.delete(f"{API}/grades/{grades[2]['id']}", headers=teacher))
        await assert_consistent(db)

        # Assessments: points changed, moved to another category, deleted; weights changed.
        await ok(
            client.patch(
                f"{API}/assessments/{world.ids['hw1']}", headers=teacher, json={"max_points": 20}
            )
        )
        await ok(
            client.patch(
                f"{API}/assessments/{world.ids['hw2']}",
                headers=teacher,
                json={"category_id": world.ids["tests"]},
            )
        )
        await assert_consistent(db)
        await ok(
            client.put(
                f"{API}/sections/{world.x.id}/categories",
                headers=teacher,
                json=[
                    {"id": world.ids["tests"], "name": "Tests", "weight": 30},
                    {"id": world.ids["homework"], "name": "Homework", "weight": 70},
                ],
            )
        )
        await ok(client.delete(f"{API}/assessments/{world.ids['test']}", headers=teacher))
        await assert_consistent(db)

        # Enrollments and students.
        enrollments = (
            await ok(client.get(f"{API}/enrollments?section_id={world.x.id}", headers=staff))
        )["items"]
        await ok(
            client.patch(
                f"{API}/enrollments/{enrollments[0]['id']}",
                headers=staff,
                json={"status": "dropped"},
            )
        )
        await ok(client.delete(f"{API}/enrollments/{enrollments[1]['id']}", headers=staff))
        await ok(client.delete(f"{API}/students/{world.s3.id}", headers=staff))
        await ok(
            client.patch(
                f"{API}/students/{world.s1.id}", headers=staff, json={"status": "graduated"}
            )
        )
        await assert_consistent(db)

    async def test_sql_writes_and_cascades(
        self, db: Database, factory: Factory, world: World
    ) -> None:
        other_course = await factory.course(await factory.term(world.school), code="ZZZ1")
        await sql(
            db,
            update(AssessmentCategory)
            .where(AssessmentCategory.id == world.ids["homework"])
            .values(weight=5),
            update(Grade)
            .where(Grade.assessment_id == world.ids["test"])
            .values(score=Grade.score / 2),
            update(Section).where(Section.id == world.y.id).values(course_id=other_course.id),
            update(Student)
            .where(Student.id == world.s2.id)
            .values(school_id=world.other_school.id),
            # A record moved to another student, a grade to another assessment.
            update(AttendanceRecord)
            .where(AttendanceRecord.student_id == world.s1.id, AttendanceRecord.status == "excused")
            .values(student_id=world.s2.id, status="late"),
            update(Grade)
            .where(Grade.student_id == world.s2.id, Grade.assessment_id == world.ids["test"])
            .values(assessment_id=world.ids["hw2"], score=3),
        )
        await assert_consistent(db)
        await sql(
            db,
            update(AttendanceSession)
            .where(AttendanceSession.section_id == world.x.id, AttendanceSession.date == MONDAY)
            .values(date=TUESDAY.replace(day=7)),
            delete(AttendanceSession).where(AttendanceSession.section_id == world.y.id),
        )
        await assert_consistent(db)
        # A section goes with its enrollments, assessments, categories, sessions, records.
        await sql(db, delete(Section).where(Section.id == world.x.id))
        await assert_consistent(db)
        await sql(db, delete(Student).where(Student.id == world.s1.id))
        live = await assert_consistent(db)
        assert live["analytics_enrollment_categories"] == []
        assert live["analytics_days"] == []

    @pytest.mark.parametrize("score", [0.1, 0.7, 33.3])
    async def test_float_sums_return_to_zero(
        self, client: AsyncClient, db: Database, world: World, score: float
    ) -> None:
        """Many changes of one score, then its deletion: the category's sums are exactly
        zero again (the triggers reset them at zero graded instead of accumulating residue)."""
        await sql(db, delete(Grade).where(Grade.enrollment_id == world.ids["ex1"]))
        for i in range(10):
            await sql(
                db,
                cast(Table, Grade.__table__)
                .insert()
                .values(
                    school_id=world.school.id,
                    enrollment_id=world.ids["ex1"],
                    assessment_id=world.ids["hw1"],
                    student_id=world.s1.id,
                    score=score * (i % 3),
                )
                if i == 0
                else update(Grade)
                .where(Grade.enrollment_id == world.ids["ex1"])
                .values(score=score * (i % 3)),
            )
        await assert_consistent(db)
        await sql(db, delete(Grade).where(Grade.enrollment_id == world.ids["ex1"]))
        async with db.engine.connect() as conn:
            mine = (
                await conn.execute(
                    text(
                        "SELECT earned, possible, graded FROM analytics_enrollment_categories "
                        "WHERE enrollment_id = :e"
                    ),
                    {"e": world.ids["ex1"]},
                )
            ).all()
        assert len(mine) == 2 and all(tuple(r) == (0.0, 0.0, 0) for r in mine)


class TestSeed:
    async def test_a_seed_fills_the_summaries_and_leaves_the_triggers_on(
        self, db: Database
    ) -> None:
        """The seed loads with the summary triggers off and fills the summaries once: they
        must equal a recomputation, and later writes must still reach them."""
        from homeroom.seed.runner import run_seed

        await run_seed(db.settings, 60, "seeded-password-1", 5, if_empty=False, quiet=True)
        before = await assert_consistent(db)
        assert before["analytics_students"] and before["analytics_enrollments"]
        async with db.engine.begin() as conn:
            await conn.execute(
                update(AttendanceRecord)
                .where(
                    AttendanceRecord.id == select(AttendanceRecord.id).limit(1).scalar_subquery()
                )
                .values(status="excused")
            )
            await conn.execute(
                delete(Grade).where(Grade.id == select(Grade.id).limit(1).scalar_subquery())
            )
        after = await assert_consistent(db)
        assert after != before
