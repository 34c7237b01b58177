"""`homeroom seed`: the demo school's guarantees, proportions, determinism and refusals.

Most tests seed their own fresh SQLite files (the seed needs an empty database); the
TestSharedDatabase tests seed the harness database, so they also run on PostgreSQL.
"""

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from homeroom.app import create_app
from homeroom.config import Settings
from homeroom.kit.db import Database
from homeroom.kit.migrate import upgrade
from homeroom.seed.catalog import fall_term, school_days_before, school_year, spring_term
from homeroom.seed.plan import DemoPlan
from homeroom.seed.runner import SeedRefused, run_seed
from tests.factories import Factory

TODAY = date(2026, 11, 23)  # a Monday in the fall term
PASSWORD = "demo-password-1"
LOGINS = {
    "admin@example.edu": "admin",
    "registrar@example.edu": "staff",
    "teacher1@example.edu": "teacher",
    "student1@example.edu": "student",
    "guardian1@example.edu": "guardian",
}
SECRET = "seed-test-secret-key-long-enough-for-hs256-0123456789abcdef"


def sqlite_settings(path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{path}", var_dir=path.parent, secret_key=SECRET
    )


async def seed(
    settings: Settings, students: int = 60, seed_value: int = 7, if_empty: bool = False
) -> str:
    return await run_seed(
        settings, students, PASSWORD, seed_value, if_empty=if_empty, quiet=True, today=TODAY
    )


def query(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def scalar(path: Path, sql: str, *params: object) -> Any:
    return query(path, sql, *params)[0][0]


STUDENTS = "SELECT last_name, first_name, email, student_number FROM students"


async def search_matches_brute_force(
    client: httpx.AsyncClient, students: Sequence[Sequence[str]]
) -> None:
    """Searches for pieces of seeded names (short, long, absent) find what a substring filter
    over the students finds (the seed's names are ASCII: any backend folds them alike)."""
    token = (await login(client, "admin@example.edu")).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    last = students[len(students) // 2][0]
    for q in (last[1:5], last[-3:].upper(), last[:2], "zzqx", "@example", "S00"):
        r = await client.get(f"/api/v1/students?q={q}&limit=1", headers=headers)
        expected = sum(any(q.lower() in v.lower() for v in row) for row in students)
        assert r.json()["total"] == expected, q


def digest(path: Path, sql: str) -> str:
    return hashlib.sha256(repr(query(path, sql)).encode()).hexdigest()


@dataclass
class Seeded:
    path: Path
    settings: Settings
    report: str


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    path = tmp_path_factory.mktemp("seed") / "demo.db"
    settings = sqlite_settings(path)
    report = await seed(settings)
    return Seeded(path, settings, report)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


@pytest.fixture(scope="module")
async def demo_client(demo: Seeded) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(demo.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


class TestDemoLogins:
    async def test_report_lists_the_logins_the_password_and_counts(self, demo: Seeded) -> None:
        for email in LOGINS:
            assert email in demo.report
        assert f"password: {PASSWORD}" in demo.report
        assert "60  students" in demo.report
        enrollments = scalar(demo.path, "SELECT count(*) FROM enrollments")
        assert f"{enrollments:,}  enrollments" in demo.report

    async def test_each_guaranteed_login_works_with_its_role_and_profile(
        self, demo_client: httpx.AsyncClient
    ) -> None:
        for email, role in LOGINS.items():
            r = await login(demo_client, email)
            assert r.status_code == 200, (email, r.text)
            token = r.json()["access_token"]
            me = await demo_client.get(
                "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
            )
            assert me.status_code == 200
            body = me.json()
            assert body["role"] == role and body["school_id"] == 1
            if role in ("student", "teacher", "guardian"):
                assert body[f"{role}_id"] == 1  # the first profile of each kind

    async def test_a_wrong_password_is_refused(self, demo_client: httpx.AsyncClient) -> None:
        r = await login(demo_client, "student1@example.edu", "not-the-password")
        assert r.status_code == 401

    async def test_every_demo_user_shares_the_one_demo_hash(self, demo: Seeded) -> None:
        assert scalar(demo.path, "SELECT count(DISTINCT password_hash) FROM users") == 1
        assert (
            scalar(demo.path, "SELECT count(*) FROM users WHERE email NOT LIKE '%@example.edu'")
            == 0
        )


class TestDemoPeople:
    async def test_school_admin_and_registrar(self, demo: Seeded) -> None:
        assert query(demo.path, "SELECT id, code FROM schools") == [(1, "demo")]
        assert query(
            demo.path, "SELECT role, school_id FROM users WHERE id IN (1, 2) ORDER BY id"
        ) == [
            ("admin", 1),
            ("staff", 1),
        ]

    async def test_profiles_are_linked_to_logins_of_their_role(self, demo: Seeded) -> None:
        for table, role in (
            ("teachers", "teacher"),
            ("students", "student"),
            ("guardians", "guardian"),
        ):
            mismatched = scalar(
                demo.path,
                f"SELECT count(*) FROM {table} p LEFT JOIN users u ON u.id = p.user_id"
                " WHERE u.id IS NULL OR u.role != ? OR u.email != p.email",
                role,
            )
            assert mismatched == 0, table

    async def test_students_numbers_grade_levels_and_ages(self, demo: Seeded) -> None:
        rows = query(
            demo.path,
            "SELECT id, student_number, email, grade_level, date_of_birth"
            " FROM students ORDER BY id",
        )
        assert len(rows) == 60
        assert rows[0][:3] == (1, "S000001", "student1@example.edu")
        fall_start = fall_term(2026).start
        for _, _, _, level, born in rows:
            assert 9 <= level <= 12
            birth = date.fromisoformat(str(born))
            # Age on September 1st of the school year = grade level + 5.
            age = 2026 - birth.year - ((birth.month, birth.day) > (9, 1))
            assert age == level + 5, (level, birth)
        assert fall_start.year == 2026

    async def test_about_one_teacher_per_20_students(self, demo: Seeded) -> None:
        assert scalar(demo.path, "SELECT count(*) FROM teachers") == 3
        assert query(demo.path, "SELECT email FROM teachers WHERE id = 1") == [
            ("teacher1@example.edu",)
        ]

    async def test_guardians_roughly_one_per_student_and_guardian1_has_student1(
        self, demo: Seeded
    ) -> None:
        guardians = scalar(demo.path, "SELECT count(*) FROM guardians")
        assert isinstance(guardians, int) and 30 <= guardians <= 90
        assert (1, 1) in query(demo.path, "SELECT student_id, guardian_id FROM student_guardians")
        orphans = scalar(
            demo.path,
            "SELECT count(*) FROM students s WHERE NOT EXISTS"
            " (SELECT 1 FROM student_guardians g WHERE g.student_id = s.id)",
        )
        assert orphans == 0
        siblings = scalar(
            demo.path,
            "SELECT count(*) FROM (SELECT guardian_id FROM student_guardians"
            " GROUP BY guardian_id HAVING count(*) > 1)",
        )
        assert isinstance(siblings, int) and siblings > 0


class TestDemoTimetable:
    async def test_two_terms_and_unique_course_codes_per_term(self, demo: Seeded) -> None:
        assert [r[0] for r in query(demo.path, "SELECT name FROM terms ORDER BY id")] == [
            "Fall 2026",
            "Spring 2027",
        ]
        assert (
            scalar(
                demo.path,
                "SELECT count(*) FROM (SELECT term_id, code FROM courses"
                " GROUP BY 1, 2 HAVING count(*) > 1)",
            )
            == 0
        )
        assert ("MATH101",) in query(demo.path, "SELECT code FROM courses")

    async def test_every_student_takes_6_to_8_sections_of_the_current_term(
        self, demo: Seeded
    ) -> None:
        per_student = query(
            demo.path,
            "SELECT s.id, count(e.id) FROM students s LEFT JOIN enrollments e"
            " ON e.student_id = s.id GROUP BY s.id",
        )
        assert len(per_student) == 60
        assert all(6 <= n <= 8 for _, n in per_student), per_student
        terms = query(
            demo.path,
            "SELECT DISTINCT c.term_id FROM enrollments e JOIN sections x"
            " ON x.id = e.section_id JOIN courses c ON c.id = x.course_id",
        )
        assert terms == [(1,)]

    async def test_sections_have_teacher_room_pattern_and_room_for_their_students(
        self, demo: Seeded
    ) -> None:
        rows = query(
            demo.path,
            "SELECT x.teacher_id, x.room, x.meeting_pattern, x.capacity, count(e.id)"
            " FROM sections x LEFT JOIN enrollments e ON e.section_id = x.id GROUP BY x.id",
        )
        assert rows
        for teacher, room, pattern, capacity, enrolled in rows:
            assert teacher is not None and room and pattern
            assert isinstance(capacity, int) and isinstance(enrolled, int)
            assert 0 < enrolled <= capacity

    async def test_teacher1_teaches_sections_with_students(self, demo: Seeded) -> None:
        enrolled = scalar(
            demo.path,
            "SELECT count(*) FROM enrollments e JOIN sections x"
            " ON x.id = e.section_id WHERE x.teacher_id = 1",
        )
        assert isinstance(enrolled, int) and enrolled > 0


class TestDemoGrades:
    async def test_categories_weigh_100_per_section(self, demo: Seeded) -> None:
        weights = query(
            demo.path, "SELECT sum(weight) FROM assessment_categories GROUP BY section_id"
        )
        assert len(weights) == scalar(demo.path, "SELECT count(*) FROM sections")
        assert {w for (w,) in weights} == {100.0}

    async def test_at_least_10_assessments_per_section(self, demo: Seeded) -> None:
        counts = query(
            demo.path,
            "SELECT count(a.id) FROM sections x LEFT JOIN assessments a"
            " ON a.section_id = x.id GROUP BY x.id",
        )
        assert counts and min(n for (n,) in counts) >= 10

    async def test_every_enrollment_has_a_grade_for_each_past_assessment(
        self, demo: Seeded
    ) -> None:
        past = TODAY.isoformat()
        missing = scalar(
            demo.path,
            "SELECT count(*) FROM enrollments e JOIN assessments a"
            " ON a.section_id = e.section_id AND a.due_date < ? WHERE NOT EXISTS"
            " (SELECT 1 FROM grades g WHERE g.enrollment_id = e.id"
            " AND g.assessment_id = a.id)",
            past,
        )
        assert missing == 0
        future = scalar(
            demo.path,
            "SELECT count(*) FROM grades g JOIN assessments a"
            " ON a.id = g.assessment_id WHERE a.due_date >= ?",
            past,
        )
        assert future == 0
        per_enrollment = query(
            demo.path,
            "SELECT count(g.id) FROM enrollments e LEFT JOIN grades g"
            " ON g.enrollment_id = e.id GROUP BY e.id",
        )
        assert min(n for (n,) in per_enrollment) >= 10

    async def test_scores_are_realistic(self, demo: Seeded) -> None:
        rows = query(
            demo.path,
            "SELECT g.score, a.max_points, g.student_id = e.student_id,"
            " g.graded_by = t.user_id FROM grades g JOIN assessments a ON a.id = g.assessment_id"
            " JOIN enrollments e ON e.id = g.enrollment_id JOIN sections x ON x.id = e.section_id"
            " JOIN teachers t ON t.id = x.teacher_id",
        )
        assert all(0 <= score <= points for score, points, _, _ in rows)
        assert all(same_student and by_teacher for _, _, same_student, by_teacher in rows)
        ratios = [score / points for score, points, _, _ in rows]
        failing = sum(r < 0.6 for r in ratios) / len(ratios)
        mean = sum(ratios) / len(ratios)
        assert 0.01 < failing < 0.35 and 0.65 < mean < 0.9


class TestDemoAttendance:
    async def test_a_session_per_section_for_each_of_the_last_10_school_days(
        self, demo: Seeded
    ) -> None:
        days = [
            date.fromisoformat(str(d))
            for (d,) in query(demo.path, "SELECT DISTINCT date FROM attendance_sessions ORDER BY 1")
        ]
        assert len(days) == 10
        assert all(d.weekday() < 5 and d < TODAY for d in days)
        assert days[-1] == TODAY - timedelta(days=3)  # the Friday before
        per_section = query(
            demo.path,
            "SELECT count(s.id) FROM sections x LEFT JOIN attendance_sessions s"
            " ON s.section_id = x.id GROUP BY x.id",
        )
        assert {n for (n,) in per_section} == {10}

    async def test_a_record_for_every_enrolled_student_mostly_present(self, demo: Seeded) -> None:
        expected = scalar(
            demo.path,
            "SELECT count(*) FROM enrollments e JOIN attendance_sessions s"
            " ON s.section_id = e.section_id",
        )
        assert scalar(demo.path, "SELECT count(*) FROM attendance_records") == expected
        unmatched = scalar(
            demo.path,
            "SELECT count(*) FROM attendance_records r JOIN attendance_sessions s"
            " ON s.id = r.session_id LEFT JOIN enrollments e ON e.section_id = s.section_id"
            " AND e.student_id = r.student_id WHERE e.id IS NULL",
        )
        assert unmatched == 0
        statuses = dict(
            query(demo.path, "SELECT status, count(*) FROM attendance_records GROUP BY 1")
        )
        total = sum(statuses.values())
        assert statuses["present"] / total > 0.8
        assert statuses.get("absent", 0) + statuses.get("late", 0) + statuses.get("excused", 0) > 0


class TestDemoDatabase:
    async def test_constraints_hold(self, demo: Seeded) -> None:
        # The load skips per-row foreign-key and CHECK checks; verify them all now.
        assert query(demo.path, "PRAGMA foreign_key_check") == []
        assert query(demo.path, "PRAGMA integrity_check") == [("ok",)]

    async def test_the_search_index_holds_every_student(
        self, demo: Seeded, demo_client: httpx.AsyncClient
    ) -> None:
        """Built once after the load (its triggers were off): FTS5's own check finds it equal
        to the students table, and searches answer what a substring filter does."""
        query(
            demo.path, "INSERT INTO students_fts (students_fts, rank) VALUES ('integrity-check', 1)"
        )
        await search_matches_brute_force(demo_client, query(demo.path, STUDENTS))

    async def test_schema_is_exactly_the_migrated_one(self, demo: Seeded, tmp_path: Path) -> None:
        fresh = tmp_path / "fresh.db"
        await asyncio.to_thread(upgrade, sqlite_settings(fresh))
        schema = (
            "SELECT type, name, sql FROM sqlite_master"
            " WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name"
        )
        assert query(demo.path, schema) == query(fresh, schema)
        assert scalar(demo.path, "PRAGMA journal_mode") == "wal"


class TestDeterminism:
    async def test_same_seed_and_size_give_identical_rows(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a.db", tmp_path / "b.db"
        await seed(sqlite_settings(first), students=45, seed_value=3)
        await seed(sqlite_settings(second), students=45, seed_value=3)
        for sql in (
            "SELECT * FROM students ORDER BY id",
            "SELECT * FROM guardians ORDER BY id",
            "SELECT * FROM teachers ORDER BY id",
            "SELECT id, email, full_name, role, school_id FROM users ORDER BY id",
            "SELECT * FROM sections ORDER BY id",
            "SELECT * FROM enrollments ORDER BY id",
            "SELECT * FROM grades ORDER BY id",
            "SELECT * FROM attendance_records ORDER BY id",
        ):
            assert digest(first, sql) == digest(second, sql), sql
        assert query(first, "SELECT * FROM students ORDER BY id") == query(
            second, "SELECT * FROM students ORDER BY id"
        )

    async def test_another_seed_gives_other_people(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a.db", tmp_path / "b.db"
        await seed(sqlite_settings(first), students=20, seed_value=1)
        await seed(sqlite_settings(second), students=20, seed_value=2)
        names = "SELECT first_name, last_name FROM students ORDER BY id"
        assert query(first, names) != query(second, names)
        # ...but the same guaranteed logins.
        assert query(first, "SELECT email FROM users ORDER BY id LIMIT 3") == query(
            second, "SELECT email FROM users ORDER BY id LIMIT 3"
        )


class TestRefusal:
    async def test_if_empty_is_a_no_op_on_a_seeded_database(self, demo: Seeded) -> None:
        before = scalar(demo.path, "SELECT count(*) FROM grades")
        message = await seed(demo.settings, students=5, if_empty=True)
        assert "already present" in message and "admin@example.edu" in message
        assert scalar(demo.path, "SELECT count(*) FROM grades") == before
        assert scalar(demo.path, "SELECT count(*) FROM students") == 60

    async def test_seeding_over_existing_data_is_refused(self, demo: Seeded) -> None:
        with pytest.raises(SeedRefused) as refused:
            await seed(demo.settings, students=5)
        assert "already has data" in str(refused.value) and "students" in str(refused.value)
        assert scalar(demo.path, "SELECT count(*) FROM students") == 60

    async def test_any_data_counts_not_only_a_school(self, tmp_path: Path) -> None:
        path = tmp_path / "one-user.db"
        settings = sqlite_settings(path)
        await asyncio.to_thread(upgrade, settings)
        conn = sqlite3.connect(path)
        conn.execute(
            "INSERT INTO users (email, full_name, role, password_hash, is_active, created_at,"
            " updated_at) VALUES ('root@x.org', '', 'admin', 'x', 1, '', '')"
        )
        conn.commit()
        conn.close()
        with pytest.raises(SeedRefused, match="users"):
            await seed(settings, students=5)
        message = await seed(settings, students=5, if_empty=True)
        assert "nothing seeded" in message
        assert scalar(path, "SELECT count(*) FROM schools") == 0

    async def test_nonsense_arguments_are_refused(self, tmp_path: Path) -> None:
        settings = sqlite_settings(tmp_path / "x.db")
        with pytest.raises(SeedRefused):
            await seed(settings, students=0)
        with pytest.raises(SeedRefused):
            await run_seed(settings, 5, "", 1, if_empty=False, quiet=True)


class TestSharedDatabase:
    """Seeds the harness database (SQLite and, when configured, PostgreSQL)."""

    async def test_seed_then_log_in_and_keep_writing(
        self, db: Database, settings: Settings, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        report = await run_seed(settings, 40, PASSWORD, 5, if_empty=False, quiet=True)
        assert "40  students" in report
        for email in LOGINS:
            r = await login(client, email)
            assert r.status_code == 200, (email, r.text)
        async with db.engine.connect() as conn:
            per_student = (
                await conn.execute(text("SELECT count(*) FROM enrollments GROUP BY student_id"))
            ).all()
            assert len(per_student) == 40 and all(6 <= n <= 8 for (n,) in per_student)
            weights = (
                await conn.execute(
                    text("SELECT sum(weight) FROM assessment_categories GROUP BY section_id")
                )
            ).all()
            assert {w for (w,) in weights} == {100.0}
            ungraded = await conn.scalar(
                text(
                    "SELECT count(*) FROM enrollments e WHERE NOT EXISTS"
                    " (SELECT 1 FROM grades g WHERE g.enrollment_id = e.id)"
                )
            )
            assert ungraded == 0
            max_student = await conn.scalar(text("SELECT max(id) FROM students"))
        # The id sequences moved past the seeded ids: ordinary inserts still work.
        async with db.sessionmaker() as session:
            from homeroom.models import School

            school = await session.get(School, 1)
        assert school is not None
        student = await factory.student(school, student_number="NEW-1")
        assert student.id == max_student + 1
        async with db.engine.connect() as conn:
            students = (await conn.execute(text(STUDENTS))).all()
        await search_matches_brute_force(client, students)
        assert await run_seed(settings, 40, PASSWORD, 5, if_empty=True, quiet=True)

    async def test_the_seed_replaces_the_cache_epoch(
        self, app: FastAPI, db: Database, settings: Settings, client: httpx.AsyncClient
    ) -> None:
        """The seed writes logins (and everything else) past the write paths that bump cache
        tags: it gives the database a new cache epoch instead, so no answer cached before it
        (a count of logins, say) can be served after it."""
        await app.state.cache.ensure_epoch()
        statement = text("SELECT version FROM cache_versions WHERE tag = '__epoch__'")
        async with db.engine.connect() as conn:
            before = await conn.scalar(statement)
        await run_seed(settings, 20, PASSWORD, 5, if_empty=False, quiet=True)
        async with db.engine.connect() as conn:
            assert await conn.scalar(statement) not in (None, before)
            logins = await conn.scalar(text("SELECT count(*) FROM users WHERE school_id = 1"))
        token = (await login(client, "admin@example.edu")).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(2):  # built, then from the cache
            r = await client.get("/api/v1/users", params={"limit": 1}, headers=headers)
            assert r.status_code == 200 and r.json()["total"] == logins > 20


class TestCalendar:
    def test_the_current_term_began_at_least_two_weeks_ago(self) -> None:
        fall, spring, current = school_year(date(2026, 11, 22))
        assert (fall.name, spring.name, current) == ("Fall 2026", "Spring 2027", 0)
        assert school_year(date(2027, 3, 1))[2] == 1
        # Early in a term, the previous one is still "current" (it has data to show).
        assert school_year(date(2027, 1, 15))[:3] == (fall, spring, 0)
        assert school_year(date(2026, 8, 30))[0] == fall_term(2025)
        assert school_year(date(2026, 7, 1))[1] == spring_term(2026)

    def test_school_days_are_weekdays_before_today_inside_the_term(self) -> None:
        term = fall_term(2026)
        days = school_days_before(term, date(2026, 11, 22), 10)
        assert len(days) == 10 and days == sorted(days)
        assert all(d.weekday() < 5 and term.start <= d < date(2026, 11, 22) for d in days)
        assert school_days_before(term, date(2026, 8, 26), 10) == [
            date(2026, 8, 24),
            date(2026, 8, 25),
        ]

    def test_every_day_of_the_year_has_10_graded_assessments_and_10_school_days(self) -> None:
        day = date(2026, 1, 1)
        while day < date(2027, 1, 1):
            plan = DemoPlan(1, 1, day)
            assert plan.past_assessments >= 10, day
            assert len(plan.school_days) == 10, day
            assert all(d < day for d in plan.due_dates[: plan.past_assessments]), day
            day += timedelta(days=5)
