"""Idempotency-Key on creating requests (kit/idempotency.py), on SQLite and PostgreSQL.

The same key with the same request replays the first answer (status, body, the headers that
matter) and creates nothing more; another request with the key is a 422; keys are per user;
a failed request keeps nothing; keys expire; requests with one key at the same time create
once. Every creating POST takes a key, found by walking the routes.
"""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from httpx import AsyncClient, Response
from sqlalchemy import func, select, update

from homeroom.config import Settings
from homeroom.jobs import runner
from homeroom.kit.db import Database
from homeroom.kit.routing import Route
from homeroom.models import IdempotencyKey, Job, School, Student, utcnow
from homeroom.students import service as student_service
from tests.factories import Factory
from tests.fixture_types import CountQueries

STUDENTS = "/api/v1/students"
KEY = "Idempotency-Key"


def new_student(n: int = 1, **overrides: Any) -> dict[str, Any]:
    return {
        "student_number": f"K-{n}",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": f"ada{n}@example.edu",
        "date_of_birth": "2011-12-10",
        "grade_level": 9,
    } | overrides


async def count(db: Database, model: Any) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def data(statements: list[str]) -> list[str]:
    return [s for s in statements if not s.lstrip().upper().startswith("BEGIN")]


def same_answer(first: Response, again: Response) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    for name in ("content-type", "etag", "location", "cache-control"):
        assert again.headers.get(name) == first.headers.get(name), name
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


@pytest.fixture
async def admin(factory: Factory, school: School) -> dict[str, str]:
    return (await factory.login_as("admin", school))[0]


@pytest.fixture
async def staff(factory: Factory, school: School) -> dict[str, str]:
    return (await factory.login_as("staff", school))[0]


class TestReplay:
    async def test_same_key_same_body_replays_the_first_answer(
        self, client: AsyncClient, db: Database, admin: dict[str, str], count_queries: CountQueries
    ) -> None:
        headers = admin | {KEY: "create-ada-1"}
        first = await client.post(STUDENTS, headers=headers, json=new_student())
        assert first.status_code == 201, first.text
        with count_queries() as statements:
            again = await client.post(STUDENTS, headers=headers, json=new_student())
        same_answer(first, again)
        assert len(data(statements)) == 2  # the key's claim and its stored answer
        assert await count(db, Student) == 1
        # The replayed ETag is the record's: it can be sent as If-Match.
        url = f"{STUDENTS}/{first.json()['id']}"
        r = await client.patch(url, headers=admin | {"If-Match": again.headers["ETag"]}, json={})
        assert r.status_code == 200

    async def test_a_keyed_create_costs_two_statements_more(
        self, client: AsyncClient, admin: dict[str, str], count_queries: CountQueries
    ) -> None:
        with count_queries() as plain:
            r = await client.post(STUDENTS, headers=admin, json=new_student(1))
        assert r.status_code == 201
        with count_queries() as keyed:
            r = await client.post(STUDENTS, headers=admin | {KEY: "k"}, json=new_student(2))
        assert r.status_code == 201
        assert len(data(keyed)) == len(data(plain)) + 2

    async def test_another_body_path_or_query_with_the_key_is_422(
        self, client: AsyncClient, db: Database, admin: dict[str, str]
    ) -> None:
        headers = admin | {KEY: "reused"}
        assert (await client.post(STUDENTS, headers=headers, json=new_student())).status_code == 201
        for method_path, body in (
            (STUDENTS, new_student(first_name="Grace")),
            (STUDENTS + "?x=1", new_student()),
            ("/api/v1/guardians", {"first_name": "G", "last_name": "H", "email": "g@x.edu"}),
        ):
            r = await client.post(method_path, headers=headers, json=body)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["errors"][0]["loc"] == ["header", KEY]
        assert await count(db, Student) == 1

    async def test_keys_are_per_user(
        self, client: AsyncClient, db: Database, admin: dict[str, str], staff: dict[str, str]
    ) -> None:
        mine = await client.post(STUDENTS, headers=admin | {KEY: "same"}, json=new_student(1))
        theirs = await client.post(STUDENTS, headers=staff | {KEY: "same"}, json=new_student(2))
        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["id"] != theirs.json()["id"]
        assert "idempotent-replayed" not in theirs.headers
        # Another user's key is not a replay of mine, even with my body (409: the email).
        r = await client.post(STUDENTS, headers=staff | {KEY: "same2"}, json=new_student(1))
        assert r.status_code == 409
        assert await count(db, Student) == 2

    async def test_without_a_key_nothing_changes(
        self, client: AsyncClient, db: Database, admin: dict[str, str]
    ) -> None:
        assert (await client.post(STUDENTS, headers=admin, json=new_student())).status_code == 201
        r = await client.post(STUDENTS, headers=admin, json=new_student())
        assert r.status_code == 409  # a second create, refused by the unique email
        assert await count(db, IdempotencyKey) == 0

    async def test_a_job_and_its_location_are_replayed(
        self, client: AsyncClient, db: Database, factory: Factory, school: School
    ) -> None:
        section = await factory.section(
            await factory.course(await factory.term(school)), await factory.teacher(school)
        )
        await factory.enroll(await factory.student(school), section)
        headers = (await factory.login_as("staff", school))[0] | {KEY: "cards-1"}
        body = {"section_id": section.id}
        first = await client.post("/api/v1/report-cards", headers=headers, json=body)
        assert first.status_code == 202, first.text
        assert first.headers["location"] == f"/api/v1/jobs/{first.json()['id']}"
        again = await client.post("/api/v1/report-cards", headers=headers, json=body)
        same_answer(first, again)
        assert await count(db, Job) == 1

    async def test_bulk_writes_take_keys(
        self, client: AsyncClient, db: Database, factory: Factory, school: School
    ) -> None:
        teacher = await factory.teacher(school, with_login=True)
        section = await factory.section(await factory.course(await factory.term(school)), teacher)
        students = [await factory.student(school) for _ in range(3)]
        for s in students:
            await factory.enroll(s, section)
        headers = factory.headers(await factory.user_of(teacher), teacher.id) | {KEY: "day-1"}
        records = [{"student_id": s.id, "status": "present"} for s in students]
        body = {
            "section_id": section.id,
            "date": (utcnow().date() - timedelta(days=1)).isoformat(),
            "records": records,
        }
        first = await client.post("/api/v1/attendance/bulk", headers=headers, json=body)
        assert first.status_code == 200, first.text
        again = await client.post("/api/v1/attendance/bulk", headers=headers, json=body)
        same_answer(first, again)
        other = body | {"records": records[:1]}
        r = await client.post("/api/v1/attendance/bulk", headers=headers, json=other)
        assert r.status_code == 422

    async def test_an_upload_is_fingerprinted_by_its_bytes(
        self, client: AsyncClient, db: Database, staff: dict[str, str]
    ) -> None:
        header = "student_number,first_name,last_name,email,date_of_birth,grade_level\n"
        csv = (header + "N1,A,B,a@example.edu,2010-01-01,9\n").encode()
        headers = staff | {KEY: "import-1", "Content-Type": "text/csv"}
        first = await client.post("/api/v1/imports/students", headers=headers, content=csv)
        assert first.status_code == 200, first.text
        again = await client.post("/api/v1/imports/students", headers=headers, content=csv)
        same_answer(first, again)
        changed = csv.replace(b"N1,A", b"N1,Z")
        r = await client.post("/api/v1/imports/students", headers=headers, content=changed)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["header", KEY]
        assert await count(db, Student) == 1


class TestFailuresKeepNothing:
    async def test_a_failed_request_can_be_retried_with_its_key(
        self, client: AsyncClient, db: Database, admin: dict[str, str]
    ) -> None:
        headers = admin | {KEY: "retry-me"}
        bad = await client.post(STUDENTS, headers=headers, json=new_student(grade_level=99))
        assert bad.status_code == 422
        await client.post(STUDENTS, headers=admin, json=new_student(2))
        taken = await client.post(STUDENTS, headers=headers, json=new_student(2))
        assert taken.status_code == 409  # refused by the database's rules: nothing kept
        assert await count(db, IdempotencyKey) == 0
        good = await client.post(STUDENTS, headers=headers, json=new_student(3))
        assert good.status_code == 201 and "idempotent-replayed" not in good.headers
        assert await count(db, IdempotencyKey) == 1

    async def test_a_request_refused_before_its_endpoint_keeps_nothing(
        self, client: AsyncClient, db: Database, factory: Factory, school: School
    ) -> None:
        teacher = (await factory.login_as("teacher", school))[0]
        r = await client.post(STUDENTS, headers=teacher | {KEY: "k"}, json=new_student())
        assert r.status_code == 403
        r = await client.post(STUDENTS, headers={KEY: "k"}, json=new_student())
        assert r.status_code == 401
        assert await count(db, IdempotencyKey) == 0

    @pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é"])
    async def test_malformed_keys_are_422(
        self, client: AsyncClient, db: Database, admin: dict[str, str], key: str
    ) -> None:
        headers = {name.encode(): value.encode() for name, value in admin.items()}
        headers[KEY.encode()] = key.encode("latin-1")
        r = await client.post(STUDENTS, headers=headers, json=new_student())
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["header", KEY]
        assert await count(db, Student) == 0

    async def test_the_longest_key_is_fine(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        headers = admin | {KEY: "~" * 255}
        assert (await client.post(STUDENTS, headers=headers, json=new_student())).status_code == 201
        r = await client.post(STUDENTS, headers=headers, json=new_student())
        assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"


class TestExpiry:
    async def test_keys_last_the_ttl_then_are_taken_over_and_swept(
        self,
        client: AsyncClient,
        db: Database,
        settings: Settings,
        admin: dict[str, str],
    ) -> None:
        headers = admin | {KEY: "old"}
        first = await client.post(STUDENTS, headers=headers, json=new_student(1))
        await client.post(STUDENTS, headers=admin | {KEY: "kept"}, json=new_student(2))
        async with db.sessionmaker() as session:
            stored = (
                await session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "old"))
            ).one()
            ttl = timedelta(seconds=settings.idempotency_ttl_seconds)
            assert ttl == timedelta(hours=24) and stored.expires_at - stored.created_at == ttl
            past = utcnow() - timedelta(seconds=1)
            await session.execute(
                update(IdempotencyKey).where(IdempotencyKey.key == "old").values(expires_at=past)
            )
            await session.commit()
        # An expired key is no longer a replay: the request runs again (and is the key's now).
        again = await client.post(STUDENTS, headers=headers, json=new_student(1))
        assert again.status_code == 409 and "idempotent-replayed" not in again.headers
        other = await client.post(STUDENTS, headers=headers, json=new_student(3))
        assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
        # The sweep deletes what expired, and only that.
        async with db.sessionmaker() as session:
            await session.execute(
                update(IdempotencyKey).where(IdempotencyKey.key == "old").values(expires_at=past)
            )
            await session.commit()
        await runner.recover(db, settings)
        async with db.sessionmaker() as session:
            left = (await session.scalars(select(IdempotencyKey.key))).all()
        assert left == ["kept"]


class TestConcurrency:
    async def test_requests_with_one_key_at_once_create_once(
        self, client: AsyncClient, db: Database, admin: dict[str, str]
    ) -> None:
        headers = admin | {KEY: "burst"}
        answers = await asyncio.gather(
            *(client.post(STUDENTS, headers=headers, json=new_student()) for _ in range(5))
        )
        assert [r.status_code for r in answers] == [201] * 5
        assert len({r.content for r in answers}) == 1
        assert sum("idempotent-replayed" in r.headers for r in answers) == 4
        assert await count(db, Student) == 1

    async def test_the_second_request_waits_for_the_first_and_replays_it(
        self,
        client: AsyncClient,
        db: Database,
        admin: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The first request has created its student and holds its transaction open; the
        second, with the same key, waits (PostgreSQL: on the key's primary key; SQLite: for
        the writer) and then answers what the first committed."""
        created = asyncio.Event()
        release = asyncio.Event()
        # The last step of create_student (the route holds the function itself, kit/crud.py):
        # held there, the student is inserted and the transaction still open.
        changed = student_service._changed

        async def slow_changed(*args: Any) -> None:
            await changed(*args)
            created.set()
            await release.wait()

        monkeypatch.setattr(student_service, "_changed", slow_changed)
        headers = admin | {KEY: "held"}
        first = asyncio.create_task(client.post(STUDENTS, headers=headers, json=new_student()))
        await created.wait()
        monkeypatch.setattr(student_service, "_changed", changed)
        second = asyncio.create_task(client.post(STUDENTS, headers=headers, json=new_student()))
        await asyncio.sleep(0.5)
        assert not second.done()
        release.set()
        one, two = await first, await second
        assert one.status_code == 201, one.text
        same_answer(one, two)
        assert await count(db, Student) == 1


class TestEveryCreatingPost:
    MARKED = {
        "/api/v1/attendance/bulk",
        "/api/v1/grades/bulk",
        *(f"/api/v1/imports/{kind}" for kind in ("students", "guardians", "enrollments")),
    }

    def test_every_post_answering_201_or_202_takes_a_key(self, app: FastAPI) -> None:
        posts = [r for r in app.routes if isinstance(r, APIRoute) and "POST" in r.methods]
        idempotent = {r.path for r in posts if isinstance(r, Route) and r.idempotent}
        creating = {r.path for r in posts if r.status_code in (201, 202)}
        assert creating <= idempotent
        assert idempotent >= self.MARKED
        for path in (
            "/api/v1/auth/login",
            "/api/v1/batch",
            "/api/v1/students/{student_id}/restore",
        ):
            assert path not in idempotent
        assert {
            "/api/v1/students",
            "/api/v1/guardians",
            "/api/v1/guardians/{guardian_id}/students",
            "/api/v1/teachers",
            "/api/v1/terms",
            "/api/v1/courses",
            "/api/v1/sections",
            "/api/v1/enrollments",
            "/api/v1/enrollments/bulk",
            "/api/v1/assessments",
            "/api/v1/grades",
            "/api/v1/attendance",
            "/api/v1/users",
            "/api/v1/exports",
            "/api/v1/report-cards",
        } <= idempotent

    def test_openapi_documents_the_header(self, app: FastAPI) -> None:
        schema = app.openapi()
        for path, operations in schema["paths"].items():
            post = operations.get("post")
            if post is None:
                continue
            names = {p["name"] for p in post.get("parameters", [])}
            takes_key = KEY in names
            assert takes_key == bool(post.get("x-idempotent")), path
            if path in ("/api/v1/students", "/api/v1/grades/bulk") or path in self.MARKED:
                assert takes_key, path
        patch = schema["paths"]["/api/v1/students/{student_id}"]["patch"]
        assert "If-Match" in {p["name"] for p in patch["parameters"]}
        assert "412" in patch["responses"]
