from datetime import date

from httpx import AsyncClient
from pydantic import TypeAdapter
from sqlalchemy import func, select

from homeroom.assessments.schemas import AssessmentRead
from homeroom.kit.db import Database
from homeroom.kit.schemas import Page
from homeroom.models import Assessment, AuditLog, Grade
from tests.assessments.conftest import World, queries
from tests.factories import Factory
from tests.fixture_types import CountQueries

PageOfAssessments = TypeAdapter(Page[AssessmentRead])
URL = "/api/v1/assessments"


def new_assessment(world: World, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "section_id": world.section.id,
        "category_id": world.tests.id,
        "title": "Unit 1 test",
        "max_points": 50,
        "due_date": "2026-10-15",
    }
    body.update(overrides)
    return body


async def count(db: Database, model: type, **where: object) -> int:
    async with db.sessionmaker() as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(await session.scalar(stmt) or 0)


class TestListAssessments:
    async def test_envelope_filters_and_sort(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        a = await factory.assessment(
            world.section, world.tests, title="B", due_date=date(2026, 10, 3)
        )
        b = await factory.assessment(world.section, world.homework, title="A", due_date=None)
        c = await factory.assessment(
            world.section, world.tests, title="C", due_date=date(2026, 10, 1)
        )
        d = await factory.assessment(
            world.other_section, world.other_category, due_date=date(2026, 9, 1)
        )

        r = await client.get(URL, headers=world.admin)
        assert r.status_code == 200, r.text
        page = PageOfAssessments.validate_python(r.json())
        assert page.total == 4 and r.headers["ETag"]
        # default sort: due date, undated last
        assert [i.id for i in page.items] == [d.id, c.id, a.id, b.id]

        async def ids(query: str) -> list[int]:
            r = await client.get(f"{URL}?{query}", headers=world.admin)
            assert r.status_code == 200, r.text
            return [i["id"] for i in r.json()["items"]]

        assert await ids(f"section_id={world.section.id}&sort=title") == [b.id, a.id, c.id]
        assert await ids(f"category_id={world.tests.id}&sort=-id") == [c.id, a.id]
        assert await ids("due_before=2026-10-01") == [d.id, c.id]
        assert await ids("due_after=2026-10-02") == [a.id]
        assert await ids("sort=-due_date") == [b.id, a.id, c.id, d.id]
        bad = await client.get(f"{URL}?sort=nope", headers=world.admin)
        assert bad.status_code == 422

    async def test_keyset_pages_walk_every_assessment_once(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        made = set()
        for i in range(7):
            due = None if i % 3 == 0 else date(2026, 10, 1 + i % 2)
            made.add((await factory.assessment(world.section, world.tests, due_date=due)).id)
        for sort in ("due_date", "-due_date", "title"):
            seen: list[int] = []
            url = f"{URL}?limit=3&sort={sort}"
            while url:
                r = await client.get(url, headers=world.teacher)
                assert r.status_code == 200, r.text
                body = r.json()
                seen += [i["id"] for i in body["items"]]
                if body["next_cursor"]:
                    url = f"{URL}?limit=3&sort={sort}&cursor={body['next_cursor']}"
                else:
                    url = ""
            assert sorted(seen) == sorted(made) and len(seen) == len(made), sort

    async def test_scopes(self, client: AsyncClient, factory: Factory, world: World) -> None:
        mine = await factory.assessment(world.section, world.tests)
        theirs = await factory.assessment(world.other_section, world.other_category)

        async def visible(headers: dict[str, str]) -> set[int]:
            r = await client.get(URL, headers=headers)
            assert r.status_code == 200, r.text
            return {i["id"] for i in r.json()["items"]}

        assert await visible(world.admin) == {mine.id, theirs.id}
        assert await visible(world.staff) == {mine.id, theirs.id}
        assert await visible(world.teacher) == {mine.id}
        assert await visible(world.other_teacher) == {theirs.id}
        assert await visible(world.student_login) == {mine.id, theirs.id}
        assert await visible(world.guardian) == {mine.id, theirs.id}
        assert await visible(world.foreign_admin) == set()
        loner, _ = await factory.login_as("student", world.school)
        assert await visible(loner) == set()

    async def test_constant_statements_at_page_size_1_and_200(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        for _ in range(201):
            await factory.assessment(world.section, world.tests)
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(f"{URL}?limit={limit}", headers=world.teacher)
            assert r.status_code == 200 and len(r.json()["items"]) == limit
            counts.append(len(statements))
        assert counts == [2, 2]  # the page and its total


class TestReadAssessment:
    async def test_read_and_404_out_of_scope(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        a = await factory.assessment(world.section, world.tests, max_points=20.0)
        r = await client.get(f"{URL}/{a.id}", headers=world.student_login)
        assert r.status_code == 200
        assert AssessmentRead.model_validate(r.json()).max_points == 20
        assert r.headers["ETag"]
        for headers in (world.other_teacher, world.foreign_admin):
            assert (await client.get(f"{URL}/{a.id}", headers=headers)).status_code == 404
        assert (await client.get(f"{URL}/999999", headers=world.admin)).status_code == 404


class TestCreateAssessment:
    async def test_teacher_creates_in_own_section(
        self,
        client: AsyncClient,
        db: Database,
        world: World,
        count_queries: CountQueries,
        ending: int,
    ) -> None:
        with count_queries() as statements:
            r = await client.post(URL, headers=world.teacher, json=new_assessment(world))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["title"] == "Unit 1 test" and body["due_date"] == "2026-10-15"
        assert body["school_id"] == world.school.id
        assert len(queries(statements)) == 2 + ending  # check, insert ... returning, the end
        assert await count(db, AuditLog, entity="assessment", action="create") == 1
        again = await client.get(f"{URL}/{body['id']}", headers=world.teacher)
        assert again.json() == body

    async def test_category_must_belong_to_the_section(
        self, client: AsyncClient, world: World
    ) -> None:
        body = new_assessment(world, category_id=world.other_category.id)
        r = await client.post(URL, headers=world.admin, json=body)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "category_id"]

    async def test_validation(self, client: AsyncClient, world: World) -> None:
        for override, field in (
            ({"max_points": 0}, "max_points"),
            ({"max_points": -5}, "max_points"),
            ({"title": "  "}, "title"),
            ({"due_date": "not a date"}, "due_date"),
            ({"extra": 1}, "extra"),
        ):
            r = await client.post(
                URL, headers=world.teacher, json=new_assessment(world, **override)
            )
            assert r.status_code == 422, override
            assert r.json()["errors"][0]["loc"][-1] == field

    async def test_who_may_create(self, client: AsyncClient, world: World) -> None:
        body = new_assessment(world)
        for headers in (world.staff, world.student_login, world.guardian):
            assert (await client.post(URL, headers=headers, json=body)).status_code == 403
        # a section the caller cannot see is an unknown id in the body
        for headers in (world.other_teacher, world.foreign_admin):
            r = await client.post(URL, headers=headers, json=body)
            assert r.status_code == 422
            assert r.json()["errors"][0]["loc"] == ["body", "section_id"]
        r = await client.post(URL, headers=world.admin, json=body)
        assert r.status_code == 201


class TestUpdateAssessment:
    async def test_patch_fields(self, client: AsyncClient, factory: Factory, world: World) -> None:
        a = await factory.assessment(world.section, world.tests)
        r = await client.patch(
            f"{URL}/{a.id}",
            headers=world.teacher,
            json={"title": "Renamed", "category_id": world.homework.id, "due_date": None},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["title"], body["category_id"], body["due_date"]) == (
            "Renamed",
            world.homework.id,
            None,
        )
        r = await client.patch(f"{URL}/{a.id}", headers=world.teacher, json={"title": None})
        assert r.status_code == 422

    async def test_category_must_stay_in_the_section(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        a = await factory.assessment(world.section, world.tests)
        r = await client.patch(
            f"{URL}/{a.id}", headers=world.admin, json={"category_id": world.other_category.id}
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "category_id"]

    async def test_max_points_not_below_a_recorded_score(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        a = await factory.assessment(world.section, world.tests, max_points=100.0)
        await factory.grade(world.enrollment, a, 80)
        await factory.grade(world.classmate_enrollment, a, 45)
        r = await client.patch(f"{URL}/{a.id}", headers=world.teacher, json={"max_points": 79})
        assert r.status_code == 409, r.text
        assert "80" in r.json()["detail"]
        r = await client.patch(f"{URL}/{a.id}", headers=world.teacher, json={"max_points": 80})
        assert r.status_code == 200 and r.json()["max_points"] == 80

    async def test_if_match(self, client: AsyncClient, factory: Factory, world: World) -> None:
        a = await factory.assessment(world.section, world.tests)
        etag = (await client.get(f"{URL}/{a.id}", headers=world.teacher)).headers["ETag"]
        r = await client.patch(
            f"{URL}/{a.id}", headers={**world.teacher, "If-Match": etag}, json={"title": "One"}
        )
        assert r.status_code == 200
        r = await client.patch(
            f"{URL}/{a.id}", headers={**world.teacher, "If-Match": etag}, json={"title": "Two"}
        )
        assert r.status_code == 412

    async def test_who_may_update(
        self,
        client: AsyncClient,
        factory: Factory,
        world: World,
        count_queries: CountQueries,
        ending: int,
    ) -> None:
        a = await factory.assessment(world.section, world.tests)
        for headers in (world.staff, world.student_login, world.guardian):
            r = await client.patch(f"{URL}/{a.id}", headers=headers, json={"title": "X"})
            assert r.status_code == 403
        for headers in (world.other_teacher, world.foreign_admin):
            r = await client.patch(f"{URL}/{a.id}", headers=headers, json={"title": "X"})
            assert r.status_code == 404
        with count_queries() as statements:
            r = await client.patch(f"{URL}/{a.id}", headers=world.admin, json={"max_points": 5})
        assert r.status_code == 200
        assert len(queries(statements)) == 2 + ending  # read+lock, update ... returning, the end


class TestDeleteAssessment:
    async def test_delete_takes_its_grades_and_is_audited(
        self, client: AsyncClient, db: Database, factory: Factory, world: World
    ) -> None:
        a = await factory.assessment(world.section, world.tests)
        keep = await factory.assessment(world.section, world.tests)
        await factory.grade(world.enrollment, a, 10)
        await factory.grade(world.classmate_enrollment, a, 20)
        await factory.grade(world.enrollment, keep, 30)
        for headers in (world.other_teacher, world.foreign_admin):
            assert (await client.delete(f"{URL}/{a.id}", headers=headers)).status_code == 404
        assert (await client.delete(f"{URL}/{a.id}", headers=world.staff)).status_code == 403
        r = await client.delete(f"{URL}/{a.id}", headers=world.teacher)
        assert r.status_code == 204
        assert await count(db, Assessment, id=a.id) == 0
        assert await count(db, Grade, assessment_id=a.id) == 0
        assert await count(db, Grade, assessment_id=keep.id) == 1
        assert await count(db, AuditLog, entity="assessment", action="delete") == 1
        assert (await client.get(f"{URL}/{a.id}", headers=world.teacher)).status_code == 404
