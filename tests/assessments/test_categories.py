from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select

from homeroom.kit.db import Database
from homeroom.models import AssessmentCategory, AuditLog
from tests.assessments.conftest import World, queries
from tests.factories import Factory
from tests.fixture_types import CountQueries


def url(world: World, section_id: int | None = None) -> str:
    return f"/api/v1/sections/{section_id or world.section.id}/categories"


async def stored(db: Database, section_id: int) -> list[tuple[Any, ...]]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(AssessmentCategory.id, AssessmentCategory.name, AssessmentCategory.weight)
            .where(AssessmentCategory.section_id == section_id)
            .order_by(AssessmentCategory.id)
        )
        return [tuple(r) for r in rows]


class TestReadCategories:
    async def test_every_role_that_sees_the_section_reads_its_weights(
        self, client: AsyncClient, world: World
    ) -> None:
        expected = [
            {"id": world.tests.id, "section_id": world.section.id, "name": "Tests", "weight": 60},
            {
                "id": world.homework.id,
                "section_id": world.section.id,
                "name": "Homework",
                "weight": 40,
            },
        ]
        for headers in (
            world.admin,
            world.staff,
            world.teacher,
            world.student_login,
            world.guardian,
        ):
            r = await client.get(url(world), headers=headers)
            assert r.status_code == 200, r.text
            assert r.json() == expected
            assert r.headers["ETag"]

    async def test_out_of_scope_section_is_404(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        # the other teacher does not teach it; a foreign admin is of another school
        for headers in (world.other_teacher, world.foreign_admin):
            r = await client.get(url(world), headers=headers)
            assert r.status_code == 404, r.text
        # a student not enrolled in it
        loner_headers, _ = await factory.login_as("student", world.school)
        assert (await client.get(url(world), headers=loner_headers)).status_code == 404
        assert (await client.get(url(world, 999_999), headers=world.admin)).status_code == 404

    async def test_section_without_categories_lists_none(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        term = await factory.term(world.school)
        empty = await factory.section(await factory.course(term), None)
        r = await client.get(url(world, empty.id), headers=world.admin)
        assert r.status_code == 200 and r.json() == []

    async def test_one_statement(
        self, client: AsyncClient, world: World, count_queries: CountQueries
    ) -> None:
        with count_queries() as statements:
            r = await client.get(url(world), headers=world.teacher)
        assert r.status_code == 200
        assert len(statements) == 1


class TestReplaceCategories:
    async def test_teacher_reweights_renames_adds_and_removes(
        self, client: AsyncClient, db: Database, world: World
    ) -> None:
        body = [
            {"id": world.tests.id, "name": "Exams", "weight": 50},
            {"name": "Projects", "weight": 30.5},
            {"name": "Participation", "weight": 19.5},
        ]
        r = await client.put(url(world), headers=world.teacher, json=body)
        assert r.status_code == 200, r.text
        items = r.json()
        assert [(c["name"], c["weight"]) for c in items] == [
            ("Exams", 50),
            ("Projects", 30.5),
            ("Participation", 19.5),
        ]
        assert items[0]["id"] == world.tests.id
        rows = await stored(db, world.section.id)
        assert [(name, weight) for _, name, weight in rows] == [
            ("Exams", 50),
            ("Projects", 30.5),
            ("Participation", 19.5),
        ]
        # what GET says afterwards is what PUT answered
        assert (await client.get(url(world), headers=world.teacher)).json() == items
        async with db.sessionmaker() as session:
            audits = await session.scalar(
                select(func.count()).where(AuditLog.entity == "assessment_categories")
            )
        assert audits == 1

    async def test_names_can_be_swapped(
        self, client: AsyncClient, db: Database, world: World
    ) -> None:
        body = [
            {"id": world.tests.id, "name": "Homework", "weight": 60},
            {"id": world.homework.id, "name": "Tests", "weight": 40},
        ]
        r = await client.put(url(world), headers=world.admin, json=body)
        assert r.status_code == 200, r.text
        assert await stored(db, world.section.id) == [
            (world.tests.id, "Homework", 60),
            (world.homework.id, "Tests", 40),
        ]

    async def test_weights_must_add_up_to_100(
        self, client: AsyncClient, db: Database, world: World
    ) -> None:
        before = await stored(db, world.section.id)
        for body in (
            [{"name": "A", "weight": 60}, {"name": "B", "weight": 39.9}],
            [{"name": "A", "weight": 60}, {"name": "B", "weight": 40.01}],
            [],
        ):
            r = await client.put(url(world), headers=world.teacher, json=body)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["errors"]
        assert await stored(db, world.section.id) == before

    async def test_tolerance_accepts_float_noise(self, client: AsyncClient, world: World) -> None:
        body = [{"name": n, "weight": 100 / 3} for n in ("A", "B", "C")]
        r = await client.put(url(world), headers=world.teacher, json=body)
        assert r.status_code == 200, r.text

    async def test_weights_must_be_positive(self, client: AsyncClient, world: World) -> None:
        body = [{"name": "A", "weight": 100}, {"name": "B", "weight": 0}]
        r = await client.put(url(world), headers=world.teacher, json=body)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", 1, "weight"]

    async def test_names_must_be_unique_in_the_set(self, client: AsyncClient, world: World) -> None:
        body = [{"name": "Quiz", "weight": 50}, {"name": "quiz ", "weight": 50}]
        r = await client.put(url(world), headers=world.teacher, json=body)
        assert r.status_code == 422
        assert r.json()["errors"] == [
            {"loc": ["body", 1, "name"], "msg": "duplicate name 'quiz'", "type": "value_error"}
        ]

    async def test_ids_must_be_this_sections_categories(
        self, client: AsyncClient, world: World
    ) -> None:
        body = [{"id": world.other_category.id, "name": "Stolen", "weight": 100}]
        r = await client.put(url(world), headers=world.teacher, json=body)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", 0, "id"]

    async def test_category_with_assessments_cannot_be_removed(
        self, client: AsyncClient, db: Database, factory: Factory, world: World
    ) -> None:
        await factory.assessment(world.section, world.homework)
        body = [{"id": world.tests.id, "name": "Tests", "weight": 100}]
        r = await client.put(url(world), headers=world.teacher, json=body)
        assert r.status_code == 409, r.text
        assert "Homework" in r.json()["detail"]
        assert len(await stored(db, world.section.id)) == 2
        # an unused one can go
        body = [{"id": world.homework.id, "name": "Homework", "weight": 100}]
        r = await client.put(url(world), headers=world.teacher, json=body)
        assert r.status_code == 200, r.text
        assert [c["id"] for c in r.json()] == [world.homework.id]

    async def test_who_may_write(self, client: AsyncClient, world: World) -> None:
        body = [{"name": "Everything", "weight": 100}]
        for headers in (world.staff, world.student_login, world.guardian):
            assert (await client.put(url(world), headers=headers, json=body)).status_code == 403
        for headers in (world.other_teacher, world.foreign_admin):
            assert (await client.put(url(world), headers=headers, json=body)).status_code == 404

    async def test_if_match_guards_the_set(self, client: AsyncClient, world: World) -> None:
        """The categories' ETag (GET) guards a PUT: a stale one is 412 and changes nothing;
        the current one, in either form, is accepted and the answer's ETag is the new GET's."""
        etag = (await client.get(url(world), headers=world.teacher)).headers["ETag"]
        body = [{"name": "Everything", "weight": 100}]
        r = await client.put(url(world), headers=world.teacher | {"If-Match": '"x"'}, json=body)
        assert r.status_code == 412
        assert (await client.get(url(world), headers=world.teacher)).headers["ETag"] == etag
        r = await client.put(url(world), headers=world.teacher | {"If-Match": etag}, json=body)
        assert r.status_code == 200, r.text
        again = await client.get(url(world), headers=world.teacher)
        assert r.headers["ETag"] == again.headers["ETag"] != etag
        weak = world.teacher | {"If-Match": "W/" + r.headers["ETag"].removeprefix("W/")}
        assert (await client.put(url(world), headers=weak, json=body)).status_code == 200
        stale = world.teacher | {"If-Match": etag}
        assert (await client.put(url(world), headers=stale, json=body)).status_code == 412

    async def test_constant_statements(
        self, client: AsyncClient, world: World, db: Database, count_queries: CountQueries
    ) -> None:
        small = [{"name": "A", "weight": 100}]
        many = [{"name": f"C{i}", "weight": 2} for i in range(50)]
        counts = []
        for body in (small, many):
            with count_queries() as statements:
                r = await client.put(
                    url(world, world.other_section.id), headers=world.admin, json=body
                )
            assert r.status_code == 200, r.text
            counts.append(len(queries(statements)))
        # read, delete the old set, insert the new set, then the audit row and the cache
        # version bump (kit/epilogue.py: one statement on PostgreSQL)
        ending = 2 if db.is_sqlite else 1
        assert counts == [3 + ending, 3 + ending]
