import datetime as dt
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select

from homeroom.models import AttendanceRecord, AttendanceSession, AuditLog
from tests.attendance.conftest import API, DAY, NEXT_DAY, World, bulk_body, data_statements
from tests.factories import Factory
from tests.fixture_types import CountQueries


def create_body(world: World, student_index: int = 0, **kw: Any) -> dict[str, Any]:
    return {
        "section_id": world.section.id,
        "student_id": world.students[student_index].id,
        "date": DAY.isoformat(),
        "status": "present",
    } | kw


async def count_rows(factory: Factory, model: Any) -> int:
    async with factory.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


class TestCreateAttendance:
    async def test_section_teacher_creates_a_record(
        self, client: AsyncClient, world: World
    ) -> None:
        r = await client.post(
            f"{API}/attendance", headers=world.teacher_h, json=create_body(world, note=" bus ")
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["section_id"] == world.section.id
        assert body["student_id"] == world.students[0].id
        assert body["date"] == DAY.isoformat()
        assert (body["status"], body["note"]) == ("present", "bus")
        assert body["recorded_by"] is not None and body["recorded_at"]
        assert "ETag" in r.headers
        read = await client.get(f"{API}/attendance/{body['id']}", headers=world.teacher_h)
        assert read.status_code == 200
        assert {k: v for k, v in read.json().items() if k != "recorded_at"} == {
            k: v for k, v in body.items() if k != "recorded_at"
        }
        assert dt.datetime.fromisoformat(read.json()["recorded_at"]) == dt.datetime.fromisoformat(
            body["recorded_at"]
        )

    async def test_one_session_row_per_section_and_day(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        for i in range(3):
            r = await client.post(
                f"{API}/attendance", headers=world.staff, json=create_body(world, i)
            )
            assert r.status_code == 201, r.text
        r = await client.post(
            f"{API}/attendance",
            headers=world.admin,
            json=create_body(world, 0, date=NEXT_DAY.isoformat()),
        )
        assert r.status_code == 201, r.text
        assert await count_rows(factory, AttendanceSession) == 2
        assert await count_rows(factory, AttendanceRecord) == 4

    async def test_second_record_for_the_same_day_conflicts(
        self, client: AsyncClient, world: World
    ) -> None:
        first = await client.post(
            f"{API}/attendance", headers=world.teacher_h, json=create_body(world)
        )
        assert first.status_code == 201
        r = await client.post(
            f"{API}/attendance", headers=world.teacher_h, json=create_body(world, status="late")
        )
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"

    async def test_student_not_enrolled_is_422(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        body = create_body(world) | {"student_id": world.outsider.id}
        r = await client.post(f"{API}/attendance", headers=world.teacher_h, json=body)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "student_id"]
        assert await count_rows(factory, AttendanceSession) == 0

    async def test_dropped_student_is_not_enrolled(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        dropped = await factory.student(world.school)
        await factory.enroll(dropped, world.section, status="dropped")
        body = create_body(world) | {"student_id": dropped.id}
        r = await client.post(f"{API}/attendance", headers=world.teacher_h, json=body)
        assert r.status_code == 422

    async def test_unknown_student_is_422_not_500(self, client: AsyncClient, world: World) -> None:
        body = create_body(world) | {"student_id": 999_999}
        r = await client.post(f"{API}/attendance", headers=world.admin, json=body)
        assert r.status_code == 422

    async def test_future_date_is_422(self, client: AsyncClient, world: World) -> None:
        tomorrow = dt.date.today() + dt.timedelta(days=1)
        r = await client.post(
            f"{API}/attendance",
            headers=world.teacher_h,
            json=create_body(world, date=tomorrow.isoformat()),
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "date"]

    async def test_today_is_allowed(self, client: AsyncClient, world: World) -> None:
        r = await client.post(
            f"{API}/attendance",
            headers=world.teacher_h,
            json=create_body(world, date=dt.date.today().isoformat()),
        )
        assert r.status_code == 201, r.text

    async def test_bad_bodies_are_422(self, client: AsyncClient, world: World) -> None:
        for body, field in [
            (create_body(world, status="asleep"), "status"),
            (create_body(world, extra=1), "extra"),
            (create_body(world, note="x" * 501), "note"),
            ({k: v for k, v in create_body(world).items() if k != "student_id"}, "student_id"),
        ]:
            r = await client.post(f"{API}/attendance", headers=world.admin, json=body)
            assert r.status_code == 422, body
            assert r.json()["errors"][0]["loc"][:2] == ["body", field]

    async def test_teacher_of_another_section_gets_404(
        self, client: AsyncClient, world: World
    ) -> None:
        r = await client.post(
            f"{API}/attendance", headers=world.other_teacher_h, json=create_body(world)
        )
        assert r.status_code == 404

    async def test_students_and_guardians_may_not_write(
        self, client: AsyncClient, world: World
    ) -> None:
        for headers in (world.student_h, world.guardian_h):
            r = await client.post(f"{API}/attendance", headers=headers, json=create_body(world))
            assert r.status_code == 403

    async def test_staff_of_another_school_gets_404(
        self, client: AsyncClient, world: World
    ) -> None:
        r = await client.post(
            f"{API}/attendance", headers=world.foreign_staff, json=create_body(world)
        )
        assert r.status_code == 404

    async def test_unknown_section_is_404(self, client: AsyncClient, world: World) -> None:
        r = await client.post(
            f"{API}/attendance", headers=world.admin, json=create_body(world, section_id=999_999)
        )
        assert r.status_code == 404

    async def test_create_writes_an_audit_row_in_at_most_4_statements(
        self, client: AsyncClient, factory: Factory, world: World, count_queries: CountQueries
    ) -> None:
        with count_queries() as statements:
            r = await client.post(
                f"{API}/attendance", headers=world.teacher_h, json=create_body(world)
            )
        assert r.status_code == 201
        assert len(data_statements(statements)) <= 5  # + the cache version bump (kit/cache.py)
        async with factory.db.sessionmaker() as session:
            log = (await session.execute(select(AuditLog))).scalars().one()
        assert (log.action, log.entity, log.entity_id) == ("create", "attendance", r.json()["id"])


class TestReadAttendance:
    async def _seed(self, client: AsyncClient, world: World) -> None:
        for day in (DAY, NEXT_DAY):
            rows = [(s.id, "present") for s in world.students[:2]] + [
                (world.students[2].id, "absent")
            ]
            r = await client.post(
                f"{API}/attendance/bulk",
                headers=world.teacher_h,
                json=bulk_body(world.section, day, rows),
            )
            assert r.status_code == 200, r.text
        r = await client.post(
            f"{API}/attendance/bulk",
            headers=world.admin,
            json=bulk_body(
                world.other_section,
                DAY,
                [(world.outsider.id, "late"), (world.students[0].id, "present")],
            ),
        )
        assert r.status_code == 200, r.text

    async def test_staff_sees_the_school(self, client: AsyncClient, world: World) -> None:
        await self._seed(client, world)
        r = await client.get(f"{API}/attendance", headers=world.staff)
        assert r.status_code == 200
        assert r.json()["total"] == 8
        assert "ETag" in r.headers
        item = r.json()["items"][0]
        assert set(item) == {
            "id", "section_id", "date", "student_id", "status", "note", "recorded_by", "recorded_at"
        }  # fmt: skip
        r = await client.get(f"{API}/attendance", headers=world.foreign_staff)
        assert r.json()["total"] == 0

    async def test_teacher_sees_only_own_sections(self, client: AsyncClient, world: World) -> None:
        await self._seed(client, world)
        body = (await client.get(f"{API}/attendance", headers=world.teacher_h)).json()
        assert body["total"] == 6
        assert {i["section_id"] for i in body["items"]} == {world.section.id}
        body = (await client.get(f"{API}/attendance", headers=world.other_teacher_h)).json()
        assert {i["section_id"] for i in body["items"]} == {world.other_section.id}

    async def test_student_and_guardian_see_only_the_student(
        self, client: AsyncClient, world: World
    ) -> None:
        await self._seed(client, world)
        for headers in (world.student_h, world.guardian_h):
            body = (await client.get(f"{API}/attendance", headers=headers)).json()
            assert body["total"] == 3
            assert {i["student_id"] for i in body["items"]} == {world.students[0].id}

    async def test_out_of_scope_record_is_404(self, client: AsyncClient, world: World) -> None:
        await self._seed(client, world)
        items = (await client.get(f"{API}/attendance", headers=world.staff)).json()["items"]
        classmate = next(i for i in items if i["student_id"] == world.students[1].id)
        other = next(i for i in items if i["section_id"] == world.other_section.id)
        assert (
            await client.get(f"{API}/attendance/{classmate['id']}", headers=world.student_h)
        ).status_code == 404
        assert (
            await client.get(f"{API}/attendance/{classmate['id']}", headers=world.guardian_h)
        ).status_code == 404
        assert (
            await client.get(f"{API}/attendance/{other['id']}", headers=world.teacher_h)
        ).status_code == 404
        assert (
            await client.get(f"{API}/attendance/{other['id']}", headers=world.foreign_staff)
        ).status_code == 404
        assert (
            await client.get(f"{API}/attendance/{other['id']}", headers=world.other_teacher_h)
        ).status_code == 200
        assert (
            await client.get(f"{API}/attendance/999999", headers=world.admin)
        ).status_code == 404

    async def test_filters(self, client: AsyncClient, world: World) -> None:
        await self._seed(client, world)

        async def total(**params: Any) -> int:
            r = await client.get(f"{API}/attendance", headers=world.staff, params=params)
            assert r.status_code == 200, r.text
            return int(r.json()["total"])

        assert await total(section_id=world.section.id) == 6
        assert await total(student_id=world.students[0].id) == 3
        assert await total(date=DAY.isoformat()) == 5
        assert await total(date_from=NEXT_DAY.isoformat()) == 3
        assert await total(date_to=DAY.isoformat()) == 5
        assert await total(status="absent") == 2
        assert await total(status="late", section_id=world.other_section.id) == 1
        assert (
            await total(date_from=DAY.isoformat(), date_to=NEXT_DAY.isoformat(), status="present")
            == 5
        )
        r = await client.get(f"{API}/attendance", headers=world.staff, params={"status": "nope"})
        assert r.status_code == 422

    async def test_sort_and_keyset_paging(self, client: AsyncClient, world: World) -> None:
        await self._seed(client, world)
        r = await client.get(f"{API}/attendance", headers=world.staff, params={"limit": 100})
        dates = [i["date"] for i in r.json()["items"]]
        assert dates == sorted(dates, reverse=True)  # newest first by default
        seen: list[int] = []
        params: dict[str, Any] = {"limit": 3, "sort": "date"}
        while True:
            r = await client.get(f"{API}/attendance", headers=world.staff, params=params)
            assert r.status_code == 200, r.text
            body = r.json()
            seen += [i["id"] for i in body["items"]]
            if body["next_cursor"] is None:
                break
            assert 'rel="next"' in r.headers["Link"]
            params["cursor"] = body["next_cursor"]
        assert len(seen) == len(set(seen)) == 8
        ids = (
            await client.get(f"{API}/attendance", headers=world.staff, params={"sort": "id"})
        ).json()
        assert [i["id"] for i in ids["items"]] == sorted(seen)
        bad = await client.get(f"{API}/attendance", headers=world.staff, params={"sort": "status"})
        assert bad.status_code == 422

    async def test_etag_answers_304(self, client: AsyncClient, world: World) -> None:
        await self._seed(client, world)
        r = await client.get(f"{API}/attendance", headers=world.staff)
        again = await client.get(
            f"{API}/attendance", headers=world.staff | {"If-None-Match": r.headers["ETag"]}
        )
        assert again.status_code == 304

    async def test_list_statements_do_not_grow_with_page_size(
        self, client: AsyncClient, world: World, factory: Factory, count_queries: CountQueries
    ) -> None:
        extra = [await factory.student(world.school) for _ in range(70)]
        for s in extra:
            await factory.enroll(s, world.section)
        ids = [s.id for s in extra + world.students]
        for day in (DAY, NEXT_DAY, dt.date(2026, 9, 16)):
            r = await client.post(
                f"{API}/attendance/bulk",
                headers=world.teacher_h,
                json=bulk_body(world.section, day, [(i, "present") for i in ids]),
            )
            assert r.status_code == 200
        for headers in (world.staff, world.teacher_h, world.guardian_h):
            counts = []
            for n in (1, 200):
                with count_queries() as statements:
                    r = await client.get(f"{API}/attendance", headers=headers, params={"limit": n})
                assert r.status_code == 200
                assert len(r.json()["items"]) == min(n, r.json()["total"])
                counts.append(len(statements))
            assert max(counts) <= 2
        with count_queries() as statements:
            r = await client.get(
                f"{API}/attendance/{r.json()['items'][0]['id']}", headers=world.staff
            )
        assert r.status_code == 200 and len(statements) == 1


class TestUpdateAttendance:
    async def _record(self, client: AsyncClient, world: World) -> dict[str, Any]:
        r = await client.post(f"{API}/attendance", headers=world.teacher_h, json=create_body(world))
        assert r.status_code == 201
        return dict(r.json())

    async def test_teacher_changes_status_and_note(
        self, client: AsyncClient, world: World, count_queries: CountQueries, ending: int
    ) -> None:
        record = await self._record(client, world)
        with count_queries() as statements:
            r = await client.patch(
                f"{API}/attendance/{record['id']}",
                headers=world.teacher_h,
                json={"status": "excused", "note": "doctor"},
            )
        assert r.status_code == 200, r.text
        assert len(data_statements(statements)) == 2 + ending  # read+lock, update, the end
        assert (r.json()["status"], r.json()["note"]) == ("excused", "doctor")
        read = (await client.get(f"{API}/attendance/{record['id']}", headers=world.staff)).json()
        assert (read["status"], read["note"]) == ("excused", "doctor")

    async def test_if_match(
        self, client: AsyncClient, world: World, count_queries: CountQueries, ending: int
    ) -> None:
        record = await self._record(client, world)
        url = f"{API}/attendance/{record['id']}"
        etag = (await client.get(url, headers=world.teacher_h)).headers["ETag"]
        with count_queries() as statements:
            ok = await client.patch(
                url, headers=world.teacher_h | {"If-Match": etag}, json={"status": "late"}
            )
        assert ok.status_code == 200
        assert len(data_statements(statements)) == 2 + ending  # If-Match costs no statement
        assert (
            ok.headers["ETag"] == (await client.get(url, headers=world.teacher_h)).headers["ETag"]
        )
        stale = await client.patch(
            url, headers=world.teacher_h | {"If-Match": etag}, json={"status": "absent"}
        )
        assert stale.status_code == 412
        assert (
            await client.delete(url, headers=world.teacher_h | {"If-Match": etag})
        ).status_code == 412
        assert (await client.get(url, headers=world.teacher_h)).json()["status"] == "late"

    async def test_bad_patches_are_422(self, client: AsyncClient, world: World) -> None:
        record = await self._record(client, world)
        url = f"{API}/attendance/{record['id']}"
        for body in ({"status": None}, {"status": "gone"}, {"date": "2026-01-01"}):
            assert (await client.patch(url, headers=world.admin, json=body)).status_code == 422

    async def test_who_may_patch(self, client: AsyncClient, world: World) -> None:
        record = await self._record(client, world)
        url = f"{API}/attendance/{record['id']}"
        body = {"status": "late"}
        assert (await client.patch(url, headers=world.student_h, json=body)).status_code == 403
        assert (await client.patch(url, headers=world.guardian_h, json=body)).status_code == 403
        assert (
            await client.patch(url, headers=world.other_teacher_h, json=body)
        ).status_code == 404
        assert (await client.patch(url, headers=world.foreign_staff, json=body)).status_code == 404
        assert (await client.patch(url, headers=world.staff, json=body)).status_code == 200
        assert (await client.patch(url, headers=world.admin, json={"note": "x"})).status_code == 200

    async def test_delete(
        self,
        client: AsyncClient,
        factory: Factory,
        world: World,
        count_queries: CountQueries,
        ending: int,
    ) -> None:
        record = await self._record(client, world)
        url = f"{API}/attendance/{record['id']}"
        assert (await client.delete(url, headers=world.student_h)).status_code == 403
        assert (await client.delete(url, headers=world.other_teacher_h)).status_code == 404
        with count_queries() as statements:
            r = await client.delete(url, headers=world.teacher_h)
        assert r.status_code == 204
        assert len(data_statements(statements)) == 2 + ending  # read+lock, delete, the end
        assert (await client.get(url, headers=world.teacher_h)).status_code == 404
        assert (await client.delete(url, headers=world.teacher_h)).status_code == 404
        async with factory.db.sessionmaker() as session:
            actions = (await session.execute(select(AuditLog.action))).scalars().all()
        assert sorted(actions) == ["create", "delete"]
