"""Who may import what, into which school; the statement count that does not grow with the
file; cached pages that are fresh after an import."""

import httpx
import pytest
from sqlalchemy import select

from homeroom.kit.db import Database
from homeroom.models import Student
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.imports.conftest import World, counts, csv_text, data_statements, upload

HEADER = "student_number,first_name,last_name,email,date_of_birth,grade_level"
ROW = "N900,Ann,Lee,n900@example.edu,2010-01-01,9"


class TestPermissionsAndSchools:
    @pytest.mark.parametrize("role", ["teacher", "student"])
    async def test_roles_without_the_permission(
        self, client: httpx.AsyncClient, world: World, role: str
    ) -> None:
        headers = world.teacher if role == "teacher" else world.student
        r = await upload(client, "students", csv_text(HEADER, ROW), headers)
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        r = await upload(client, "attendance", b"x", world.student)
        assert r.status_code == 403

    async def test_no_token(self, client: httpx.AsyncClient, world: World) -> None:
        assert (await upload(client, "students", csv_text(HEADER, ROW), {})).status_code == 401

    async def test_all_schools_admin_names_the_school(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = csv_text(HEADER, ROW)
        missing = await upload(client, "students", data, world.district_admin)
        assert missing.status_code == 422
        unknown = await upload(client, "students", data, world.district_admin, school_id=999999)
        assert unknown.status_code == 422
        ok = await upload(client, "students", data, world.district_admin, school_id=world.school.id)
        assert ok.status_code == 200, ok.text
        async with factory.db.sessionmaker() as session:
            school_id = await session.scalar(
                select(Student.school_id).where(Student.student_number == "N900")
            )
        assert school_id == world.school.id

    async def test_other_school(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        before = await counts(factory)
        r = await upload(
            client,
            "students",
            csv_text(HEADER, ROW),
            world.foreign_staff,
            school_id=world.school.id,
        )
        assert r.status_code == 403
        # Their own school has no MATH-101 and no student S0001: row errors, not a leak.
        data = csv_text("student_number,course_code,section", "S0001,MATH-101,01")
        r = await upload(client, "enrollments", data, world.foreign_staff)
        assert r.status_code == 422
        assert {e["message"] for e in r.json()["errors"]} == {
            "no course with this code in the school",
            "no student with this number in the school",
        }
        assert await counts(factory) == before

    async def test_same_number_in_another_school_is_another_student(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = csv_text(HEADER, "S0001,Other,Person,other-s0001@example.edu,2010-01-01,9")
        r = await upload(client, "students", data, world.foreign_staff)
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1


def student_rows(n: int) -> bytes:
    return csv_text(
        HEADER, *(f"Q{i:05d},First,Last,q{i}@example.edu,2010-01-01,9" for i in range(n))
    )


def attendance_rows(world: World, n: int) -> bytes:
    rows = [
        f"{s.student_number},MATH-101,01,2026-09-{day:02d},present"
        for day in range(1, n + 1)
        for s in world.students
    ]
    return csv_text("student_number,course_code,section,date,status", *rows)


class TestStatementCount:
    async def test_constant_whatever_the_rows(
        self, client: httpx.AsyncClient, world: World, db: Database, count_queries: CountQueries
    ) -> None:
        seen: dict[tuple[str, str, int], int] = {}
        cases = {
            "students": (student_rows(3), student_rows(120)),
            "attendance": (attendance_rows(world, 1), attendance_rows(world, 25)),
        }
        for kind, (small, large) in cases.items():
            for size, data in (("small", small), ("large", large)):
                for phase in ("dry", "create", "again"):
                    with count_queries() as statements:
                        r = await upload(client, kind, data, world.staff, dry_run=phase == "dry")
                    assert r.status_code == 200, r.text
                    seen[(kind, phase, size == "large")] = len(data_statements(statements))
        for kind in cases:
            for phase in ("dry", "create", "again"):
                assert seen[(kind, phase, False)] == seen[(kind, phase, True)], (kind, phase, seen)
        # A dry run reads (<= 4); a real import adds its set-based writes, then the cache
        # version bump and the audit row (kit/epilogue.py: one statement on PostgreSQL):
        # lookups + insert + ending for students; for attendance the sessions' insert and read
        # back, and the records' upsert.
        ending = 2 if db.is_sqlite else 1
        assert seen[("students", "dry", True)] == 1
        assert seen[("students", "create", True)] == 2 + ending
        assert seen[("attendance", "dry", True)] == 4
        assert seen[("attendance", "create", True)] == 7 + ending


class TestCacheFreshness:
    async def test_cached_pages_show_the_import(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        s1 = world.students[0]
        page = f"/api/v1/sections/{world.math1.id}/attendance"
        grades = f"/api/v1/students/{s1.id}/grades"
        first = await client.get(page, headers=world.staff)
        first_grades = await client.get(grades, headers=world.staff)
        assert first.status_code == 200 and first_grades.status_code == 200
        assert (await client.get(page, headers=world.staff)).json() == first.json()

        data = csv_text(
            "student_number,course_code,section,date,status",
            f"{s1.student_number},MATH-101,01,2026-09-14,absent",
        )
        assert (await upload(client, "attendance", data, world.teacher)).status_code == 200
        after = (await client.get(page, headers=world.staff)).json()
        assert after["by_date"] == [
            {"date": "2026-09-14", "present": 0, "absent": 1, "late": 0, "excused": 0}
        ]

        rename = csv_text(HEADER, f"{s1.student_number},Renamed,Person,{s1.email},2010-01-01,9")
        assert (await upload(client, "students", rename, world.staff)).status_code == 200
        names = {
            r["first_name"]
            for r in (await client.get(page, headers=world.staff)).json()["by_student"]
        }
        assert "Renamed" in names

        score = csv_text(
            "student_number,assessment_id,score", f"{s1.student_number},{world.quiz.id},15"
        )
        assert (await upload(client, "grades", score, world.teacher)).status_code == 200
        after_grades = (await client.get(grades, headers=world.staff)).json()
        assert after_grades != first_grades.json()
        quiz = next(
            g
            for section in after_grades["sections"]
            for g in section["grades"]
            if g["assessment_id"] == world.quiz.id
        )
        assert quiz["score"] == 15
