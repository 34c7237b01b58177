from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from homeroom.models import AuditLog, Enrollment, School, Section, Student, User
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = "/api/v1/enrollments"
BULK = f"{URL}/bulk"


@dataclass
class World:
    school: School
    section: Section
    other_section: Section
    foreign_section: Section
    student: Student
    classmate: Student
    enrollment: Enrollment  # student in section
    classmate_elsewhere: Enrollment  # classmate in other_section


async def world(factory: Factory, school: School | None = None, **section_kw: Any) -> World:
    school = school or await factory.school()
    other = await factory.school()
    course = await factory.course(await factory.term(school))
    section = await factory.section(course, await factory.teacher(school), **section_kw)
    other_section = await factory.section(course, await factory.teacher(school))
    foreign_section = await factory.section(
        await factory.course(await factory.term(other)), await factory.teacher(other)
    )
    student, classmate = await factory.student(school), await factory.student(school)
    enrollment = await factory.enroll(student, section)
    elsewhere = await factory.enroll(classmate, other_section)
    return World(
        school, section, other_section, foreign_section, student, classmate, enrollment, elsewhere
    )


async def headers_for(factory: Factory, user_id: int | None, profile_id: int) -> dict[str, str]:
    async with factory.db.sessionmaker() as session:
        user = await session.get(User, user_id)
    assert user is not None
    return factory.headers(user, profile_id)


async def count_enrollments(factory: Factory) -> int:
    async with factory.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Enrollment)) or 0)


def ids(r: Any) -> list[int]:
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["items"]]


class TestListScopes:
    @pytest.mark.parametrize("role", ["admin", "staff"])
    async def test_office_sees_school(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        w = await world(factory)
        other = await world(factory)
        headers, _ = await factory.login_as(role, w.school)
        assert ids(await client.get(URL, headers=headers)) == [
            w.enrollment.id,
            w.classmate_elsewhere.id,
        ]
        r = await client.get(f"{URL}/{other.enrollment.id}", headers=headers)
        assert r.status_code == 404

    async def test_teacher_sees_own_sections_only(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, teacher = await factory.login_as("teacher", school)
        w = await world(factory, school)
        mine = await factory.section(await factory.course(await factory.term(school)), teacher)
        ours = await factory.enroll(w.classmate, mine)
        assert ids(await client.get(URL, headers=headers)) == [ours.id]
        r = await client.get(f"{URL}/{w.classmate_elsewhere.id}", headers=headers)
        assert r.status_code == 404

    async def test_student_sees_own(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        me = await factory.student(w.school, with_login=True)
        mine = await factory.enroll(me, w.section)
        headers = await headers_for(factory, me.user_id, me.id)
        assert ids(await client.get(URL, headers=headers)) == [mine.id]
        r = await client.get(f"{URL}/{w.enrollment.id}", headers=headers)
        assert r.status_code == 404
        r = await client.get(URL, headers=headers, params={"section_id": w.section.id})
        assert ids(r) == [mine.id]  # a filter never widens the scope

    async def test_guardian_sees_childrens(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        parent = await factory.guardian(w.school, children=[w.student], with_login=True)
        headers = await headers_for(factory, parent.user_id, parent.id)
        assert ids(await client.get(URL, headers=headers)) == [w.enrollment.id]
        assert (await client.get(f"{URL}/{w.enrollment.id}", headers=headers)).status_code == 200
        r = await client.get(f"{URL}/{w.classmate_elsewhere.id}", headers=headers)
        assert r.status_code == 404

    async def test_filters(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        dropped = await factory.enroll(w.classmate, w.section, status="dropped")
        headers, _ = await factory.login_as("staff", w.school)

        async def get(**params: Any) -> list[int]:
            return ids(await client.get(URL, headers=headers, params=params))

        assert await get(section_id=w.section.id) == [w.enrollment.id, dropped.id]
        assert await get(student_id=w.classmate.id) == [w.classmate_elsewhere.id, dropped.id]
        assert await get(status="dropped") == [dropped.id]
        assert await get(student_id=w.classmate.id, status="enrolled") == [w.classmate_elsewhere.id]
        assert await get(sort="-id") == [dropped.id, w.classmate_elsewhere.id, w.enrollment.id]
        r = await client.get(URL, headers=headers, params={"status": "gone"})
        assert r.status_code == 422

    async def test_constant_query_count(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        w = await world(factory)
        staff, _ = await factory.login_as("staff", w.school)
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(URL, headers=staff, params={"limit": limit, "offset": 1})
            assert r.status_code == 200
            assert r.json()["total"] == 2
            counts.append(len(statements))
        assert counts == [2, 2]
        with count_queries() as statements:
            r = await client.get(f"{URL}/{w.enrollment.id}", headers=staff)
        assert r.status_code == 200
        assert r.headers["ETag"]
        assert len(statements) == 1


class TestCreateEnrollment:
    async def test_staff_enrolls(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        payload = {"student_id": w.classmate.id, "section_id": w.section.id}
        r = await client.post(URL, headers=headers, json=payload)
        assert r.status_code == 201, r.text
        item = r.json()
        assert (item["school_id"], item["status"]) == (w.school.id, "enrolled")
        assert item["enrolled_at"]
        assert (await client.get(f"{URL}/{item['id']}", headers=headers)).status_code == 200

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_others_may_not_enroll(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as(role, w.school)
        payload = {"student_id": w.classmate.id, "section_id": w.section.id}
        assert (await client.post(URL, headers=headers, json=payload)).status_code == 403

    async def test_duplicate_is_409(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        payload = {"student_id": w.student.id, "section_id": w.section.id}
        r = await client.post(URL, headers=headers, json=payload)
        assert r.status_code == 409
        assert "already enrolled" in r.json()["detail"]

    async def test_unknown_or_foreign_references_are_422(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        foreign_student = await factory.student(await factory.school())
        headers, _ = await factory.login_as("staff", w.school)
        cases = [
            ({"student_id": 999_999, "section_id": w.section.id}, "student_id"),
            ({"student_id": w.classmate.id, "section_id": 999_999}, "section_id"),
            ({"student_id": w.classmate.id, "section_id": w.foreign_section.id}, "section_id"),
            ({"student_id": foreign_student.id, "section_id": w.section.id}, "student_id"),
        ]
        for payload, field in cases:
            r = await client.post(URL, headers=headers, json=payload)
            assert r.status_code == 422, payload
            assert r.json()["errors"][0]["loc"] == ["body", field]
        r = await client.post(URL, headers=headers, json={"student_id": w.classmate.id})
        assert r.status_code == 422

    async def test_all_schools_admin_may_not_cross_schools(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        headers = factory.headers(await factory.user("admin", None))
        payload = {"student_id": w.classmate.id, "section_id": w.foreign_section.id}
        r = await client.post(URL, headers=headers, json=payload)
        assert r.status_code == 422
        assert "another school" in r.json()["errors"][0]["msg"]
        payload["section_id"] = w.section.id
        assert (await client.post(URL, headers=headers, json=payload)).status_code == 201

    async def test_full_section_is_409_but_dropped_rows_take_no_seat(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory, capacity=1)
        headers, _ = await factory.login_as("staff", w.school)
        payload: dict[str, Any] = {"student_id": w.classmate.id, "section_id": w.section.id}
        r = await client.post(URL, headers=headers, json=payload)
        assert r.status_code == 409
        assert "full" in r.json()["detail"]
        assert "1 seats" in r.json()["detail"]
        payload["status"] = "dropped"
        assert (await client.post(URL, headers=headers, json=payload)).status_code == 201

    async def test_audit_row(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        payload = {"student_id": w.classmate.id, "section_id": w.section.id}
        r = await client.post(URL, headers=headers, json=payload)
        async with factory.db.sessionmaker() as session:
            logs = (await session.scalars(select(AuditLog))).all()
        assert [(a.action, a.entity, a.entity_id) for a in logs] == [
            ("create", "enrollment", r.json()["id"])
        ]


class TestUpdateEnrollment:
    async def test_status_changes(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        url = f"{URL}/{w.enrollment.id}"
        for status in ("dropped", "completed", "enrolled"):
            r = await client.patch(url, headers=headers, json={"status": status})
            assert r.status_code == 200, r.text
            assert r.json()["status"] == status
        for bad in ({"status": "expelled"}, {"status": None}, {"section_id": 1}):
            assert (await client.patch(url, headers=headers, json=bad)).status_code == 422

    async def test_reenrolling_into_a_full_section_is_409(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory, capacity=1)
        dropped = await factory.enroll(w.classmate, w.section, status="dropped")
        headers, _ = await factory.login_as("staff", w.school)
        url = f"{URL}/{dropped.id}"
        r = await client.patch(url, headers=headers, json={"status": "enrolled"})
        assert r.status_code == 409
        await client.patch(f"{URL}/{w.enrollment.id}", headers=headers, json={"status": "dropped"})
        r = await client.patch(url, headers=headers, json={"status": "enrolled"})
        assert r.status_code == 200

    async def test_other_school_is_404_teacher_403(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        other = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        url = f"{URL}/{other.enrollment.id}"
        assert (
            await client.patch(url, headers=headers, json={"status": "dropped"})
        ).status_code == 404
        teacher, _ = await factory.login_as("teacher", w.school)
        r = await client.patch(
            f"{URL}/{w.enrollment.id}", headers=teacher, json={"status": "dropped"}
        )
        assert r.status_code == 403

    async def test_stale_if_match_is_412(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        url = f"{URL}/{w.enrollment.id}"
        etag = (await client.get(url, headers=headers)).headers["ETag"]
        await client.patch(url, headers=headers, json={"status": "dropped"})
        r = await client.delete(url, headers=headers | {"If-Match": etag})
        assert r.status_code == 412


class TestDeleteEnrollment:
    async def test_deletes(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        url = f"{URL}/{w.enrollment.id}"
        assert (await client.delete(url, headers=headers)).status_code == 204
        assert (await client.get(url, headers=headers)).status_code == 404

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        other = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        r = await client.delete(f"{URL}/{other.enrollment.id}", headers=headers)
        assert r.status_code == 404


class TestBulkEnroll:
    async def test_creates_every_row(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        extra = [await factory.student(w.school) for _ in range(3)]
        headers, _ = await factory.login_as("staff", w.school)
        rows: list[dict[str, int | str]] = [
            {"student_id": s.id, "section_id": w.section.id} for s in extra
        ]
        rows.append(
            {"student_id": w.student.id, "section_id": w.other_section.id, "status": "completed"}
        )
        r = await client.post(BULK, headers=headers, json={"enrollments": rows})
        assert r.status_code == 201, r.text
        result = r.json()
        assert result["created"] == 4
        assert [(i["student_id"], i["section_id"]) for i in result["items"]] == [
            (row["student_id"], row["section_id"]) for row in rows
        ]
        assert result["items"][-1]["status"] == "completed"
        assert all(i["school_id"] == w.school.id for i in result["items"])
        for item in result["items"]:
            got = await client.get(f"{URL}/{item['id']}", headers=headers)
            assert got.status_code == 200
        async with factory.db.sessionmaker() as session:
            logs = (await session.scalars(select(AuditLog))).all()
        assert len(logs) == 1
        assert logs[0].details == {"count": 4, "ids": [i["id"] for i in result["items"]]}

    async def test_one_bad_row_writes_nothing_and_names_every_bad_row(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory, capacity=2)
        fresh = [await factory.student(w.school) for _ in range(3)]
        headers, _ = await factory.login_as("staff", w.school)
        before = await count_enrollments(factory)
        rows = [
            {"student_id": fresh[0].id, "section_id": w.other_section.id},  # 0 fine
            {"student_id": 999_999, "section_id": w.other_section.id},  # 1 unknown student
            {"student_id": fresh[0].id, "section_id": 999_999},  # 2 unknown section
            {"student_id": fresh[0].id, "section_id": w.other_section.id},  # 3 dup of row 0
            {"student_id": w.student.id, "section_id": w.section.id},  # 4 already enrolled
            {"student_id": fresh[1].id, "section_id": w.section.id},  # 5 takes the last seat
            {"student_id": fresh[2].id, "section_id": w.section.id},  # 6 over capacity
            {"student_id": fresh[1].id, "section_id": w.foreign_section.id},  # 7 foreign
        ]
        r = await client.post(BULK, headers=headers, json={"enrollments": rows})
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        locs = [tuple(e["loc"]) for e in errors]
        assert locs == [
            ("body", "enrollments", 1, "student_id"),
            ("body", "enrollments", 2, "section_id"),
            ("body", "enrollments", 3, "section_id"),
            ("body", "enrollments", 4, "section_id"),
            ("body", "enrollments", 6, "section_id"),
            ("body", "enrollments", 7, "section_id"),
        ]
        messages = [e["msg"] for e in errors]
        assert "duplicates row 0" in messages[2]
        assert "already enrolled" in messages[3]
        assert "full" in messages[4]
        assert await count_enrollments(factory) == before
        async with factory.db.sessionmaker() as session:
            assert (await session.scalars(select(AuditLog))).all() == []

    async def test_body_validation(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        row = {"student_id": w.classmate.id, "section_id": w.section.id}
        bad: object
        for bad in (
            {"enrollments": []},
            {"enrollments": [row] * 1001},
            {"enrollments": [row | {"status": "maybe"}]},
            {"enrollments": [row | {"grade": 1}]},
            [row],
        ):
            r = await client.post(BULK, headers=headers, json=bad)
            assert r.status_code == 422
        r = await client.post(
            BULK, headers=headers, json={"enrollments": [row, {"student_id": w.student.id}]}
        )
        assert r.json()["errors"][0]["loc"] == ["body", "enrollments", 1, "section_id"]

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_others_may_not_bulk_enroll(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as(role, w.school)
        row = {"student_id": w.classmate.id, "section_id": w.section.id}
        r = await client.post(BULK, headers=headers, json={"enrollments": [row]})
        assert r.status_code == 403

    async def test_statement_count_is_the_same_for_1_and_200_rows(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school))
        sections = [await factory.section(course, None, capacity=500) for _ in range(2)]
        async with factory.db.sessionmaker() as session:
            session.add_all(
                Student(
                    school_id=school.id,
                    student_number=f"B{n:05d}",
                    first_name="Bulk",
                    last_name=f"Student{n}",
                    email=f"bulk{n}@test.example.edu",
                    date_of_birth=date(2011, 1, 1),
                    grade_level=7,
                )
                for n in range(201)
            )
            await session.commit()
            student_ids = list(
                await session.scalars(
                    select(Student.id).where(Student.school_id == school.id).order_by(Student.id)
                )
            )
        headers, _ = await factory.login_as("staff", school)
        counts = []
        for section, batch in ((sections[0], student_ids[:1]), (sections[1], student_ids[1:])):
            rows = [{"student_id": s, "section_id": section.id} for s in batch]
            with count_queries() as statements:
                r = await client.post(BULK, headers=headers, json={"enrollments": rows})
            assert r.status_code == 201, r.text
            assert r.json()["created"] == len(batch)
            counts.append(len(statements))
            inserts = [sql for sql in statements if sql.startswith("INSERT INTO enrollments")]
            assert len(inserts) == 1  # one multi-row INSERT, not one per row
        assert counts[0] == counts[1]
        assert await count_enrollments(factory) == 201


class TestBoundedIds:
    async def test_ids_beyond_32_bits_are_422(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        assert (await client.get(f"{URL}/{2**31}", headers=headers)).status_code == 422
        r = await client.get(URL, headers=headers, params={"student_id": 2**31})
        assert r.status_code == 422
        rows = [
            {"student_id": w.classmate.id, "section_id": w.section.id},
            {"student_id": 2**31, "section_id": w.section.id},
        ]
        r = await client.post(BULK, headers=headers, json={"enrollments": rows})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "enrollments", 1, "student_id"]
