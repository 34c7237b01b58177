from typing import Any

import pytest
from httpx import AsyncClient
from pydantic import TypeAdapter
from sqlalchemy import func, select

from homeroom.grades.schemas import GradeRead
from homeroom.kit.db import Database
from homeroom.kit.schemas import Page
from homeroom.models import Assessment, AuditLog, Grade
from tests.assessments.conftest import World, queries
from tests.factories import Factory
from tests.fixture_types import CountQueries

PageOfGrades = TypeAdapter(Page[GradeRead])
URL = "/api/v1/grades"


@pytest.fixture
async def quiz(factory: Factory, world: World) -> Assessment:
    return await factory.assessment(world.section, world.tests, max_points=50.0)


async def count(db: Database, model: type, **where: object) -> int:
    async with db.sessionmaker() as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(await session.scalar(stmt) or 0)


async def grades_of(db: Database, assessment_id: int) -> dict[int, tuple[Any, ...]]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(Grade.student_id, Grade.score, Grade.comment, Grade.graded_by).where(
                Grade.assessment_id == assessment_id
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows}


class TestListGrades:
    async def test_scopes(
        self, client: AsyncClient, factory: Factory, world: World, quiz: Assessment
    ) -> None:
        other = await factory.assessment(world.other_section, world.other_category)
        other_enrollment = await factory.enroll(world.outsider, world.section)
        mine = await factory.grade(world.enrollment, quiz, 40)
        classmate = await factory.grade(world.classmate_enrollment, quiz, 30)
        outsider = await factory.grade(other_enrollment, quiz, 20)
        bio_student = await factory.student(world.school)
        bio = await factory.grade(await factory.enroll(bio_student, world.other_section), other, 9)

        async def visible(headers: dict[str, str], query: str = "") -> set[int]:
            r = await client.get(f"{URL}{query}", headers=headers)
            assert r.status_code == 200, r.text
            return {g["id"] for g in r.json()["items"]}

        algebra = {mine.id, classmate.id, outsider.id}
        everyone = algebra | {bio.id}
        assert await visible(world.admin) == everyone
        assert await visible(world.staff) == everyone
        assert await visible(world.teacher) == algebra
        # the biology teacher teaches the student too, but sees only biology's grades
        assert await visible(world.other_teacher) == {bio.id}
        assert await visible(world.student_login) == {mine.id}
        assert await visible(world.guardian) == {mine.id}
        assert await visible(world.foreign_admin) == set()
        assert await visible(world.admin, f"?student_id={world.classmate.id}") == {classmate.id}
        assert await visible(world.admin, f"?assessment_id={other.id}") == {bio.id}
        assert await visible(world.admin, f"?section_id={world.section.id}") == algebra

    async def test_envelope_sort_and_constant_statements(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        for i in range(201):
            a = await factory.assessment(world.section, world.tests)
            await factory.grade(world.enrollment, a, i % 100)
        r = await client.get(f"{URL}?limit=3&sort=-score", headers=world.teacher)
        assert r.status_code == 200
        page = PageOfGrades.validate_python(r.json())
        assert page.total == 201 and page.next_cursor and r.headers["ETag"]
        assert [g.score for g in page.items] == [99, 99, 98]
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(f"{URL}?limit={limit}", headers=world.student_login)
            assert r.status_code == 200 and len(r.json()["items"]) == limit
            counts.append(len(statements))
        assert counts == [2, 2]


class TestCreateGrade:
    async def test_teacher_records_a_grade(
        self,
        client: AsyncClient,
        db: Database,
        world: World,
        quiz: Assessment,
        count_queries: CountQueries,
        ending: int,
    ) -> None:
        body = {"assessment_id": quiz.id, "student_id": world.student.id, "score": 42.5}
        with count_queries() as statements:
            r = await client.post(URL, headers=world.teacher, json=body | {"comment": "good"})
        assert r.status_code == 201, r.text
        grade = GradeRead.model_validate(r.json())
        assert grade.enrollment_id == world.enrollment.id
        assert grade.section_id == world.section.id
        assert (grade.score, grade.comment) == (42.5, "good")
        assert grade.graded_by is not None
        assert len(queries(statements)) == 2 + ending  # check, insert ... returning, the end
        assert await count(db, AuditLog, entity="grade", action="create") == 1
        r = await client.get(f"{URL}/{grade.id}", headers=world.student_login)
        assert r.status_code == 200 and r.json() == grade.model_dump(mode="json") | {
            "graded_at": r.json()["graded_at"]
        }

    async def test_one_grade_per_enrollment_and_assessment(
        self, client: AsyncClient, factory: Factory, world: World, quiz: Assessment
    ) -> None:
        await factory.grade(world.enrollment, quiz, 10)
        body = {"assessment_id": quiz.id, "student_id": world.student.id, "score": 20}
        r = await client.post(URL, headers=world.teacher, json=body)
        assert r.status_code == 409, r.text

    @pytest.mark.parametrize(
        ("score", "ok"), [(0, True), (50, True), (50.01, False), (-1, False), ("x", False)]
    )
    async def test_score_within_zero_and_max_points(
        self, client: AsyncClient, world: World, quiz: Assessment, score: object, ok: bool
    ) -> None:
        body = {"assessment_id": quiz.id, "student_id": world.student.id, "score": score}
        r = await client.post(URL, headers=world.teacher, json=body)
        if ok:
            assert r.status_code == 201, r.text
        else:
            assert r.status_code == 422, r.text
            assert r.json()["errors"][0]["loc"] == ["body", "score"]

    async def test_student_must_be_enrolled_in_the_section(
        self, client: AsyncClient, factory: Factory, world: World, quiz: Assessment
    ) -> None:
        body = {"assessment_id": quiz.id, "student_id": world.outsider.id, "score": 5}
        r = await client.post(URL, headers=world.teacher, json=body)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "student_id"]
        dropped = await factory.student(world.school)
        await factory.enroll(dropped, world.section, status="dropped")
        r = await client.post(URL, headers=world.teacher, json=body | {"student_id": dropped.id})
        assert r.status_code == 422
        r = await client.post(URL, headers=world.teacher, json=body | {"student_id": 999_999})
        assert r.status_code == 422

    async def test_who_may_grade(self, client: AsyncClient, world: World, quiz: Assessment) -> None:
        body = {"assessment_id": quiz.id, "student_id": world.student.id, "score": 5}
        for headers in (world.staff, world.student_login, world.guardian):
            assert (await client.post(URL, headers=headers, json=body)).status_code == 403
        for headers in (world.other_teacher, world.foreign_admin):
            r = await client.post(URL, headers=headers, json=body)
            assert r.status_code == 422
            assert r.json()["errors"][0]["loc"] == ["body", "assessment_id"]
        assert (await client.post(URL, headers=world.admin, json=body)).status_code == 201


class TestChangeGrade:
    async def test_patch_score_and_comment(
        self,
        client: AsyncClient,
        factory: Factory,
        world: World,
        quiz: Assessment,
        count_queries: CountQueries,
        ending: int,
    ) -> None:
        grade = await factory.grade(world.enrollment, quiz, 10)
        with count_queries() as statements:
            r = await client.patch(
                f"{URL}/{grade.id}",
                headers=world.teacher,
                json={"score": 49, "comment": "regraded"},
            )
        assert r.status_code == 200, r.text
        assert (r.json()["score"], r.json()["comment"]) == (49, "regraded")
        assert r.json()["graded_by"] is not None
        assert len(queries(statements)) == 2 + ending  # read+lock, update ... returning, the end
        r = await client.patch(f"{URL}/{grade.id}", headers=world.teacher, json={"score": 51})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "score"]
        r = await client.patch(f"{URL}/{grade.id}", headers=world.teacher, json={"student_id": 1})
        assert r.status_code == 422

    async def test_patch_and_delete_permissions(
        self, client: AsyncClient, db: Database, factory: Factory, world: World, quiz: Assessment
    ) -> None:
        grade = await factory.grade(world.enrollment, quiz, 10)
        for headers in (world.staff, world.student_login, world.guardian):
            r = await client.patch(f"{URL}/{grade.id}", headers=headers, json={"score": 1})
            assert r.status_code == 403
            assert (await client.delete(f"{URL}/{grade.id}", headers=headers)).status_code == 403
        for headers in (world.other_teacher, world.foreign_admin):
            r = await client.patch(f"{URL}/{grade.id}", headers=headers, json={"score": 1})
            assert r.status_code == 404
            assert (await client.delete(f"{URL}/{grade.id}", headers=headers)).status_code == 404
            assert (await client.get(f"{URL}/{grade.id}", headers=headers)).status_code == 404
        assert (await client.delete(f"{URL}/{grade.id}", headers=world.admin)).status_code == 204
        assert await count(db, Grade, id=grade.id) == 0
        assert await count(db, AuditLog, entity="grade", action="delete") == 1
        assert (await client.get(f"{URL}/{grade.id}", headers=world.admin)).status_code == 404


class TestBulkGrades:
    async def test_upsert_creates_and_updates(
        self, client: AsyncClient, db: Database, factory: Factory, world: World, quiz: Assessment
    ) -> None:
        await factory.grade(world.classmate_enrollment, quiz, 5, comment="keep me")
        body = {
            "assessment_id": quiz.id,
            "grades": [
                {"student_id": world.student.id, "score": 44, "comment": "new"},
                {"student_id": world.classmate.id, "score": 33},
            ],
        }
        r = await client.post(f"{URL}/bulk", headers=world.teacher, json=body)
        assert r.status_code == 200, r.text
        assert r.json() == {"assessment_id": quiz.id, "created": 1, "updated": 1}
        stored = await grades_of(db, quiz.id)
        assert stored[world.student.id][:2] == (44, "new")
        # re-entering a grade updates it; a row without a comment keeps the old one
        assert stored[world.classmate.id][:2] == (33, "keep me")
        assert stored[world.classmate.id][2] is not None
        assert await count(db, AuditLog, entity="assessment_grades") == 1
        # entering the same column again only updates
        r = await client.post(f"{URL}/bulk", headers=world.teacher, json=body)
        assert r.json() == {"assessment_id": quiz.id, "created": 0, "updated": 2}
        assert await count(db, Grade, assessment_id=quiz.id) == 2

    async def test_all_or_nothing_naming_every_bad_row(
        self, client: AsyncClient, db: Database, world: World, quiz: Assessment
    ) -> None:
        body = {
            "assessment_id": quiz.id,
            "grades": [
                {"student_id": world.student.id, "score": 10},  # fine
                {"student_id": world.classmate.id, "score": 51},  # above max_points
                {"student_id": world.outsider.id, "score": 5},  # not enrolled
                {"student_id": world.student.id, "score": 12},  # listed twice
            ],
        }
        r = await client.post(f"{URL}/bulk", headers=world.teacher, json=body)
        assert r.status_code == 422, r.text
        locs = [e["loc"] for e in r.json()["errors"]]
        assert locs == [
            ["body", "grades", 1, "score"],
            ["body", "grades", 2, "student_id"],
            ["body", "grades", 3, "student_id"],
        ]
        assert await count(db, Grade) == 0
        # schema-level errors name the row too
        body["grades"] = [{"student_id": world.student.id, "score": -1}]
        r = await client.post(f"{URL}/bulk", headers=world.teacher, json=body)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "grades", 0, "score"]
        assert await count(db, Grade) == 0

    async def test_limits_and_permissions(
        self, client: AsyncClient, world: World, quiz: Assessment
    ) -> None:
        row = {"student_id": world.student.id, "score": 1}
        too_many = {"assessment_id": quiz.id, "grades": [row] * 1001}
        assert (
            await client.post(f"{URL}/bulk", headers=world.admin, json=too_many)
        ).status_code == 422
        empty = {"assessment_id": quiz.id, "grades": []}
        assert (
            await client.post(f"{URL}/bulk", headers=world.admin, json=empty)
        ).status_code == 422
        body = {"assessment_id": quiz.id, "grades": [row]}
        for headers in (world.staff, world.student_login, world.guardian):
            assert (await client.post(f"{URL}/bulk", headers=headers, json=body)).status_code == 403
        for headers in (world.other_teacher, world.foreign_admin):
            r = await client.post(f"{URL}/bulk", headers=headers, json=body)
            assert r.status_code == 422
            assert r.json()["errors"][0]["loc"] == ["body", "assessment_id"]

    async def test_same_statements_for_1_and_200_rows(
        self,
        client: AsyncClient,
        db: Database,
        factory: Factory,
        world: World,
        quiz: Assessment,
        count_queries: CountQueries,
    ) -> None:
        students = [world.student]
        for _ in range(199):
            student = await factory.student(world.school)
            await factory.enroll(student, world.section)
            students.append(student)

        async def enter(rows: list[dict[str, Any]]) -> int:
            with count_queries() as statements:
                r = await client.post(
                    f"{URL}/bulk",
                    headers=world.teacher,
                    json={"assessment_id": quiz.id, "grades": rows},
                )
            assert r.status_code == 200, r.text
            return len(queries(statements))

        # read, one upsert, then the audit row and the cache version bump
        one = await enter([{"student_id": students[0].id, "score": 1}])
        # 199 new rows and one update: still one upsert
        mixed = await enter([{"student_id": s.id, "score": 2} for s in students])
        # the same column again, a comment on half of the rows: an upsert that sets comments
        # and one that keeps them
        updates = await enter(
            [
                {"student_id": s.id, "score": 3, **({"comment": "ok"} if i % 2 else {})}
                for i, s in enumerate(students)
            ]
        )
        ending = 2 if db.is_sqlite else 1  # kit/epilogue.py: one statement on PostgreSQL
        assert (one, mixed, updates) == (2 + ending, 2 + ending, 3 + ending)
        stored = await grades_of(db, quiz.id)
        assert len(stored) == 200 and {v[0] for v in stored.values()} == {3}


class TestColumnChangedWhileSaving:
    """A gradebook column is checked on the read path, then written with a guard: a change
    that lands in between (an enrollment dropped, the assessment's points lowered) writes
    nothing, and the answer is what a check now finds."""

    @staticmethod
    def change_after_the_check(
        monkeypatch: pytest.MonkeyPatch, db: Database, statement: Any
    ) -> None:
        from homeroom.grades import repository

        check = repository.grading_targets
        calls: list[int] = []

        async def checked_then_changed(*args: Any) -> Any:
            rows = await check(*args)
            if not calls:  # after the first check only: the second runs in the transaction
                calls.append(1)
                async with db.sessionmaker() as session:
                    await session.execute(statement)
                    await session.commit()
            return rows

        monkeypatch.setattr(repository, "grading_targets", checked_then_changed)

    async def test_an_enrollment_dropped_meanwhile(
        self,
        client: AsyncClient,
        db: Database,
        world: World,
        quiz: Assessment,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from sqlalchemy import update

        from homeroom.models import Enrollment

        drop = (
            update(Enrollment)
            .where(Enrollment.id == world.classmate_enrollment.id)
            .values(status="dropped")
        )
        self.change_after_the_check(monkeypatch, db, drop)
        body = {
            "assessment_id": quiz.id,
            "grades": [
                {"student_id": world.student.id, "score": 4},
                {"student_id": world.classmate.id, "score": 5},
            ],
        }
        r = await client.post(f"{URL}/bulk", headers=world.teacher, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", "grades", 1, "student_id"]
        assert await count(db, Grade, assessment_id=quiz.id) == 0

    async def test_points_lowered_meanwhile(
        self,
        client: AsyncClient,
        db: Database,
        world: World,
        quiz: Assessment,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from sqlalchemy import update

        lower = update(Assessment).where(Assessment.id == quiz.id).values(max_points=3)
        self.change_after_the_check(monkeypatch, db, lower)
        body = {"assessment_id": quiz.id, "grades": [{"student_id": world.student.id, "score": 4}]}
        r = await client.post(f"{URL}/bulk", headers=world.teacher, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", "grades", 0, "score"]
        assert await count(db, Grade, assessment_id=quiz.id) == 0
