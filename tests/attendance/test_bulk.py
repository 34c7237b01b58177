import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select

from homeroom.kit.db import Database
from homeroom.models import AttendanceRecord, AttendanceSession, AuditLog
from tests.attendance.conftest import API, DAY, NEXT_DAY, World, bulk_body, data_statements
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = f"{API}/attendance/bulk"


async def stored(factory: Factory) -> dict[int, tuple[str, str]]:
    """student_id -> (status, note) of every stored record."""
    async with factory.db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(AttendanceRecord.student_id, AttendanceRecord.status, AttendanceRecord.note)
            )
        ).all()
    return {r.student_id: (r.status, r.note) for r in rows}


class TestBulkAttendance:
    async def test_takes_a_class_and_retaking_updates(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        a, b, c = (s.id for s in world.students)
        body = bulk_body(world.section, DAY, [(a, "present"), (b, "absent")])
        body["records"][1]["note"] = "sick"
        r = await client.post(URL, headers=world.teacher_h, json=body)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "section_id": world.section.id,
            "date": DAY.isoformat(),
            "created": 2,
            "updated": 0,
        }
        assert "ETag" in r.headers
        r = await client.post(
            URL,
            headers=world.teacher_h,
            json=bulk_body(world.section, DAY, [(a, "late"), (b, "absent"), (c, "present")]),
        )
        assert r.status_code == 200, r.text
        assert (r.json()["created"], r.json()["updated"]) == (1, 2)
        assert await stored(factory) == {a: ("late", ""), b: ("absent", ""), c: ("present", "")}
        async with factory.db.sessionmaker() as session:
            sessions = (await session.execute(select(AttendanceSession))).scalars().all()
        assert len(sessions) == 1

    async def test_bulk_and_single_records_share_the_session(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        a, b = world.students[0].id, world.students[1].id
        single = {"section_id": world.section.id, "student_id": a, "date": DAY.isoformat()}
        r = await client.post(
            f"{API}/attendance", headers=world.staff, json=single | {"status": "absent"}
        )
        assert r.status_code == 201
        r = await client.post(
            URL,
            headers=world.teacher_h,
            json=bulk_body(world.section, DAY, [(a, "present"), (b, "present")]),
        )
        assert (r.json()["created"], r.json()["updated"]) == (1, 1)
        got = await client.get(f"{API}/attendance", headers=world.staff, params={"student_id": a})
        assert [i["status"] for i in got.json()["items"]] == ["present"]

    async def test_bad_rows_are_all_named_and_nothing_is_written(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        a, b = world.students[0].id, world.students[1].id
        rows = [
            (a, "present"),
            (world.outsider.id, "present"),
            (b, "late"),
            (a, "absent"),
            (999_999, "present"),
        ]
        r = await client.post(
            URL, headers=world.teacher_h, json=bulk_body(world.section, DAY, rows)
        )
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        errors = r.json()["errors"]
        assert [e["loc"] for e in errors] == [
            ["body", "records", 1, "student_id"],
            ["body", "records", 3, "student_id"],
            ["body", "records", 4, "student_id"],
        ]
        assert "more than once" in errors[1]["msg"]
        assert await stored(factory) == {}
        async with factory.db.sessionmaker() as session:
            assert (await session.execute(select(AttendanceSession))).first() is None
            assert (await session.execute(select(AuditLog))).first() is None

    async def test_a_bad_row_keeps_earlier_records_unchanged(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        a = world.students[0].id
        await client.post(
            URL, headers=world.teacher_h, json=bulk_body(world.section, DAY, [(a, "present")])
        )
        rows = [(a, "absent"), (world.outsider.id, "absent")]
        r = await client.post(
            URL, headers=world.teacher_h, json=bulk_body(world.section, DAY, rows)
        )
        assert r.status_code == 422
        assert await stored(factory) == {a: ("present", "")}

    async def test_bad_status_names_the_row(self, client: AsyncClient, world: World) -> None:
        rows = [(world.students[0].id, "present"), (world.students[1].id, "sleeping")]
        r = await client.post(
            URL, headers=world.teacher_h, json=bulk_body(world.section, DAY, rows)
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "records", 1, "status"]

    async def test_batch_size_and_date_limits(self, client: AsyncClient, world: World) -> None:
        a = world.students[0].id
        too_many = bulk_body(world.section, DAY, [(a, "present")] * 1001)
        assert (await client.post(URL, headers=world.admin, json=too_many)).status_code == 422
        empty = bulk_body(world.section, DAY, [])
        assert (await client.post(URL, headers=world.admin, json=empty)).status_code == 422
        future = bulk_body(world.section, dt.date.today() + dt.timedelta(days=1), [(a, "present")])
        r = await client.post(URL, headers=world.admin, json=future)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "date"]

    async def test_who_may_take_attendance(self, client: AsyncClient, world: World) -> None:
        body = bulk_body(world.section, DAY, [(world.students[0].id, "present")])
        assert (await client.post(URL, headers=world.student_h, json=body)).status_code == 403
        assert (await client.post(URL, headers=world.guardian_h, json=body)).status_code == 403
        assert (await client.post(URL, headers=world.other_teacher_h, json=body)).status_code == 404
        assert (await client.post(URL, headers=world.foreign_staff, json=body)).status_code == 404
        for headers in (world.teacher_h, world.staff, world.admin):
            assert (await client.post(URL, headers=headers, json=body)).status_code == 200
        unknown = bulk_body(world.section, DAY, [(world.students[0].id, "present")])
        unknown["section_id"] = 999_999
        assert (await client.post(URL, headers=world.admin, json=unknown)).status_code == 404

    async def test_one_audit_row_per_batch(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        rows = [(s.id, "present") for s in world.students]
        await client.post(URL, headers=world.teacher_h, json=bulk_body(world.section, DAY, rows))
        async with factory.db.sessionmaker() as session:
            logs = (await session.execute(select(AuditLog))).scalars().all()
        assert [(log.action, log.details["created"]) for log in logs] == [("bulk_upsert", 3)]

    async def test_statements_do_not_grow_with_the_batch(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        extra = [await factory.student(world.school) for _ in range(200)]
        for s in extra:
            await factory.enroll(s, world.section)
        counts: dict[tuple[str, int], int] = {}
        for day, n in ((DAY, 1), (NEXT_DAY, 200)):
            rows = [(s.id, "present") for s in extra[:n]]
            for phase in ("create", "update"):
                with count_queries() as statements:
                    r = await client.post(
                        URL, headers=world.teacher_h, json=bulk_body(world.section, day, rows)
                    )
                assert r.status_code == 200, r.text
                assert r.json()["created" if phase == "create" else "updated"] == n
                counts[(phase, n)] = len(data_statements(statements))
        assert (
            counts[("create", 1)] == counts[("create", 200)] <= 5
        )  # + the cache version bump (kit/cache.py)
        assert (
            counts[("update", 1)] == counts[("update", 200)] <= 5
        )  # + the cache version bump (kit/cache.py)
        assert len(await stored(factory)) == 200


class TestChangedWhileSaving:
    """The batch is checked on the read path, then written with a guard: a change that lands
    in between (a student dropped, the section given to another teacher) writes nothing, and
    the answer is what a check now finds."""

    @staticmethod
    def change_after_the_check(
        monkeypatch: pytest.MonkeyPatch, factory: Factory, statement: Any
    ) -> None:
        from homeroom.attendance import repository

        check = repository.bulk_context
        calls: list[int] = []

        async def checked_then_changed(*args: Any) -> Any:
            rows = await check(*args)
            if not calls:  # after the first check only: the second runs in the transaction
                calls.append(1)
                async with factory.db.sessionmaker() as session:
                    await session.execute(statement)
                    await session.commit()
            return rows

        monkeypatch.setattr(repository, "bulk_context", checked_then_changed)

    async def test_a_student_dropped_meanwhile_is_a_422_and_nothing_is_written(
        self, client: AsyncClient, factory: Factory, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from sqlalchemy import update

        from homeroom.models import Enrollment

        a, b = world.students[0].id, world.students[1].id
        drop = (
            update(Enrollment)
            .where(Enrollment.student_id == b, Enrollment.section_id == world.section.id)
            .values(status="dropped")
        )
        self.change_after_the_check(monkeypatch, factory, drop)
        body = bulk_body(world.section, DAY, [(a, "present"), (b, "absent")])
        r = await client.post(URL, headers=world.teacher_h, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", "records", 1, "student_id"]
        assert await stored(factory) == {}

    async def test_a_section_given_to_another_teacher_meanwhile_is_out_of_scope(
        self, client: AsyncClient, factory: Factory, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from sqlalchemy import update

        from homeroom.models import Section

        other = await factory.teacher(world.school)
        hand_over = (
            update(Section).where(Section.id == world.section.id).values(teacher_id=other.id)
        )
        self.change_after_the_check(monkeypatch, factory, hand_over)
        body = bulk_body(world.section, DAY, [(world.students[0].id, "present")])
        r = await client.post(URL, headers=world.teacher_h, json=body)
        assert r.status_code == 404, r.text  # no longer theirs: as if it did not exist
        assert await stored(factory) == {}


class _LoopTurns:
    """An ASGI app around `app` that counts the times a request's coroutine gave the event
    loop a turn (each yield of a future to the loop). Under load each turn costs the request
    a round of every other request ready meanwhile (~10 ms at 32 connections per worker)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.given = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await _Counted(self.app(scope, receive, send), self)


class _Counted:
    def __init__(self, coro: Any, turns: _LoopTurns) -> None:
        self.coro, self.turns = coro, turns

    def __await__(self) -> Any:
        step = self.coro.__await__()
        try:
            future = step.send(None)
            while True:
                self.turns.given += 1
                try:
                    value = yield future
                except BaseException as exc:  # thrown into the request as it is
                    future = step.throw(exc)
                else:
                    future = step.send(value)
        except StopIteration as done:
            return done.value


class TestNoTurnOfTheLoop:
    async def test_a_sqlite_bulk_write_runs_without_giving_the_loop_a_turn(
        self, app: FastAPI, db: Database, world: World
    ) -> None:
        """Nothing holds the write lock: the request, from its first byte to its answer (the
        body read, the check, the upsert, the commit, the session's close), runs at once.
        A session closed by `async with sessionmaker()` closed in a task of its own: one turn."""
        if not db.is_sqlite:
            pytest.skip("PostgreSQL's round trips give the loop a turn each, by nature")
        turns = _LoopTurns(app)
        a, b = world.students[0].id, world.students[1].id
        async with AsyncClient(transport=ASGITransport(app=turns), base_url="http://t") as c:
            body = bulk_body(world.section, DAY, [(a, "present"), (b, "absent")])
            first = await c.post(URL, headers=world.teacher_h, json=body)
            given = turns.given
            turns.given = 0
            again = await c.post(URL, headers=world.teacher_h, json=body)
        assert (first.status_code, again.status_code) == (200, 200), again.text
        assert (given, turns.given) == (0, 0)
