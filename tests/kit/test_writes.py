"""The write path (kit/writes.py): If-Match is compared with the record as it stands inside
the write transaction, with the row locked, so two writers that read the same ETag cannot
both win (a lost update). Runs on SQLite and, when configured, PostgreSQL."""

import asyncio

import pytest
from httpx import AsyncClient

from homeroom.kit.db import Database, statement_counter
from homeroom.kit.errors import PreconditionFailed
from homeroom.kit.security import AccessClaims
from homeroom.kit.writes import Target
from homeroom.models import School, Student
from homeroom.students import service as student_service
from homeroom.students.schemas import StudentUpdate
from tests.factories import Factory

URL = "/api/v1/students"


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


@pytest.fixture
async def admin(factory: Factory, school: School) -> tuple[dict[str, str], AccessClaims]:
    headers, user = await factory.login_as("admin", school)
    return headers, AccessClaims(user.id, user.role, user.school_id, None)


@pytest.fixture
async def student(factory: Factory, school: School) -> Student:
    return await factory.student(school)


class TestConcurrentIfMatch:
    async def test_a_writer_holding_the_row_makes_the_other_wait_and_fail(
        self,
        client: AsyncClient,
        db: Database,
        admin: tuple[dict[str, str], AccessClaims],
        student: Student,
    ) -> None:
        """Two PATCHes carrying the same ETag, truly interleaved: the first has changed the
        student and holds its transaction open while the second arrives. The second waits for
        the row (PostgreSQL) or the write lock (SQLite), then compares its ETag with what the
        first committed: 412, and the first one's change stands."""
        headers, principal = admin
        url = f"{URL}/{student.id}"
        etag = (await client.get(url, headers=headers)).headers["ETag"]
        async with db.sessionmaker() as first:
            changed = await student_service.update_student(
                db, first, principal, Target(student.id, etag), StudentUpdate(first_name="First")
            )
            assert changed["first_name"] == "First"
            second = asyncio.create_task(
                client.patch(url, headers=headers | {"If-Match": etag}, json={"last_name": "2"})
            )
            await asyncio.sleep(0.5)
            assert not second.done()  # it waits for the first transaction
            await first.commit()
        r = await second
        assert r.status_code == 412, r.text
        assert r.headers["content-type"] == "application/problem+json"
        now = (await client.get(url, headers=headers)).json()
        assert (now["first_name"], now["last_name"]) == ("First", student.last_name)

    async def test_two_patches_at_once_with_one_etag_exactly_one_wins(
        self, client: AsyncClient, admin: tuple[dict[str, str], AccessClaims], student: Student
    ) -> None:
        headers, _ = admin
        url = f"{URL}/{student.id}"
        etag = (await client.get(url, headers=headers)).headers["ETag"]
        stale = headers | {"If-Match": etag}
        answers = await asyncio.gather(
            *(client.patch(url, headers=stale, json={"first_name": f"N{i}"}) for i in range(4))
        )
        assert sorted(r.status_code for r in answers) == [200, 412, 412, 412]
        winner = next(r for r in answers if r.status_code == 200)
        now = await client.get(url, headers=headers)
        assert now.json() == winner.json() and now.headers["ETag"] == winner.headers["ETag"]

    async def test_the_record_is_read_and_locked_in_the_transaction(
        self,
        db: Database,
        admin: tuple[dict[str, str], AccessClaims],
        student: Student,
    ) -> None:
        """A stale ETag is refused by the read that locks the row: nothing else runs."""
        _, principal = admin
        async with db.sessionmaker() as session:
            with statement_counter.counting() as statements, pytest.raises(PreconditionFailed):
                await student_service.update_student(
                    db, session, principal, Target(student.id, '"stale"'), StudentUpdate()
                )
        sql = [s for s in statements if not s.lstrip().upper().startswith("BEGIN")]
        assert len(sql) == 1 and sql[0].lstrip().upper().startswith("SELECT")
        if not db.is_sqlite:
            assert sql[0].rstrip().endswith("FOR UPDATE OF students")
