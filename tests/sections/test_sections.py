from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient

from homeroom.models import School, Section, Student, Teacher, User
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = "/api/v1/sections"


@dataclass
class World:
    school: School
    teacher: Teacher
    section: Section  # taught by `teacher`, `student` enrolled
    other_section: Section  # same school, another teacher, nobody enrolled
    foreign: Section  # another school
    student: Student


async def world(
    factory: Factory, teacher: Teacher | None = None, school: School | None = None
) -> World:
    school = school or await factory.school()
    other = await factory.school()
    teacher = teacher or await factory.teacher(school)
    course = await factory.course(await factory.term(school), code="MATH-1", title="Algebra")
    section = await factory.section(course, teacher, name="A")
    other_section = await factory.section(course, await factory.teacher(school), name="B")
    foreign = await factory.section(
        await factory.course(await factory.term(other)), await factory.teacher(other)
    )
    student = await factory.student(school)
    await factory.enroll(student, section)
    return World(school, teacher, section, other_section, foreign, student)


async def login_guardian_of(
    factory: Factory, school: School, children: list[Student]
) -> dict[str, str]:
    parent = await factory.guardian(school, children=children, with_login=True)
    async with factory.db.sessionmaker() as session:
        user = await session.get(User, parent.user_id)
    assert user is not None
    return factory.headers(user, parent.id)


def ids(r: Any) -> list[int]:
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()["items"]]


class TestListScopes:
    @pytest.mark.parametrize("role", ["admin", "staff"])
    async def test_office_sees_every_section_of_the_school(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as(role, w.school)
        assert ids(await client.get(URL, headers=headers)) == [w.section.id, w.other_section.id]

    async def test_teacher_sees_own_sections(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, teacher = await factory.login_as("teacher", school)
        w = await world(factory, teacher, school)
        assert ids(await client.get(URL, headers=headers)) == [w.section.id]
        r = await client.get(f"{URL}/{w.other_section.id}", headers=headers)
        assert r.status_code == 404

    async def test_student_sees_enrolled_sections(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        headers, me = await factory.login_as("student", w.school)
        assert ids(await client.get(URL, headers=headers)) == []
        await factory.enroll(me, w.other_section)
        assert ids(await client.get(URL, headers=headers)) == [w.other_section.id]
        assert (await client.get(f"{URL}/{w.section.id}", headers=headers)).status_code == 404

    async def test_guardian_sees_childrens_sections(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("guardian", w.school)
        assert ids(await client.get(URL, headers=headers)) == []
        headers = await login_guardian_of(factory, w.school, [w.student])
        assert ids(await client.get(URL, headers=headers)) == [w.section.id]
        r = await client.get(f"{URL}/{w.other_section.id}", headers=headers)
        assert r.status_code == 404

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        assert (await client.get(f"{URL}/{w.foreign.id}", headers=headers)).status_code == 404


class TestReadSection:
    async def test_rows_carry_course_teacher_and_enrolled_count(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        dropped = await factory.student(w.school)
        await factory.enroll(dropped, w.section, status="dropped")
        headers, _ = await factory.login_as("staff", w.school)
        r = await client.get(f"{URL}/{w.section.id}", headers=headers)
        assert r.status_code == 200
        assert r.headers["ETag"]
        item = r.json()
        assert item["course_code"] == "MATH-1"
        assert item["course_title"] == "Algebra"
        assert item["teacher_name"] == f"{w.teacher.first_name} {w.teacher.last_name}"
        assert item["enrolled_count"] == 1  # the dropped student holds no seat
        assert item["term_id"] is not None
        listed = (await client.get(URL, headers=headers)).json()["items"]
        assert listed[0] == item
        assert listed[1]["enrolled_count"] == 0

    async def test_section_without_teacher(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        section = await factory.section(await factory.course(await factory.term(school)), None)
        headers, _ = await factory.login_as("staff", school)
        r = await client.get(f"{URL}/{section.id}", headers=headers)
        assert (r.json()["teacher_id"], r.json()["teacher_name"]) == (None, None)

    async def test_filters(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        fall, spring = await factory.term(school), await factory.term(school)
        t1, t2 = await factory.teacher(school), await factory.teacher(school)
        bio, chem = await factory.course(fall), await factory.course(spring)
        s1 = await factory.section(bio, t1)
        s2 = await factory.section(bio, t2)
        s3 = await factory.section(chem, t1)
        headers, _ = await factory.login_as("staff", school)

        async def get(**params: Any) -> list[int]:
            return ids(await client.get(URL, headers=headers, params=params | {"sort": "id"}))

        assert await get(course_id=bio.id) == [s1.id, s2.id]
        assert await get(teacher_id=t1.id) == [s1.id, s3.id]
        assert await get(term_id=spring.id) == [s3.id]
        assert await get(term_id=fall.id, teacher_id=t2.id) == [s2.id]

    async def test_constant_query_count(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school))
        teacher = await factory.teacher(school)
        for _ in range(3):
            section = await factory.section(course, teacher)
            await factory.enroll(await factory.student(school), section)
        headers, _ = await factory.login_as("staff", school)
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(URL, headers=headers, params={"limit": limit, "offset": 1})
            assert r.status_code == 200
            assert r.json()["total"] == 3
            counts.append(len(statements))
        assert counts == [2, 2]
        with count_queries() as statements:
            await client.get(f"{URL}/{section.id}", headers=headers)
        assert len(statements) == 2  # + the cache's version lookup on a miss


class TestRoster:
    async def test_office_and_own_teacher_list_the_roster(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        teacher_headers, teacher = await factory.login_as("teacher", school)
        w = await world(factory, teacher, school)
        gone = await factory.student(w.school)
        await factory.enroll(gone, w.section, status="dropped")
        staff, _ = await factory.login_as("staff", w.school)
        for headers in (teacher_headers, staff):
            r = await client.get(f"{URL}/{w.section.id}/roster", headers=headers)
            assert r.status_code == 200, r.text
            rows = r.json()["items"]
            assert [e["id"] for e in rows] == [w.student.id, gone.id]  # by last name
            assert rows[0]["student_number"] == w.student.student_number
            assert rows[0]["status"] == "enrolled"
            assert set(rows[0]) == {
                "id",
                "student_number",
                "first_name",
                "last_name",
                "email",
                "grade_level",
                "enrollment_id",
                "status",
            }
        r = await client.get(
            f"{URL}/{w.section.id}/roster", headers=staff, params={"status": "enrolled"}
        )
        assert [e["id"] for e in r.json()["items"]] == [w.student.id]

    async def test_other_teacher_gets_404(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("teacher", w.school)
        r = await client.get(f"{URL}/{w.section.id}/roster", headers=headers)
        assert r.status_code == 404

    async def test_student_in_section_gets_403_others_404(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        headers, me = await factory.login_as("student", w.school)
        r = await client.get(f"{URL}/{w.section.id}/roster", headers=headers)
        assert r.status_code == 404
        await factory.enroll(me, w.section)
        r = await client.get(f"{URL}/{w.section.id}/roster", headers=headers)
        assert r.status_code == 403

    async def test_other_school_staff_gets_404(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", await factory.school())
        r = await client.get(f"{URL}/{w.section.id}/roster", headers=headers)
        assert r.status_code == 404

    async def test_roster_pages_with_constant_queries(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        w = await world(factory)
        for _ in range(3):
            await factory.enroll(await factory.student(w.school), w.section)
        headers, _ = await factory.login_as("staff", w.school)
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                r = await client.get(
                    f"{URL}/{w.section.id}/roster",
                    headers=headers,
                    params={"limit": limit, "offset": 1},
                )
            assert r.status_code == 200
            assert r.json()["total"] == 4
            counts.append(len(statements))
        assert counts == [3, 3]
        seen: list[int] = []
        params: dict[str, str | int] = {"limit": 3, "sort": "student_number"}
        while True:
            page = (
                await client.get(f"{URL}/{w.section.id}/roster", headers=headers, params=params)
            ).json()
            seen += [e["id"] for e in page["items"]]
            if not page["next_cursor"]:
                break
            params = {"limit": 3, "sort": "student_number", "cursor": page["next_cursor"]}
        assert len(seen) == len(set(seen)) == 4


class TestCreateSection:
    async def test_staff_creates(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school), code="ART")
        teacher = await factory.teacher(school)
        headers, _ = await factory.login_as("staff", school)
        r = await client.post(
            URL,
            headers=headers,
            json={"course_id": course.id, "teacher_id": teacher.id, "name": "01", "capacity": 2},
        )
        assert r.status_code == 201, r.text
        item = r.json()
        assert (item["school_id"], item["course_code"], item["capacity"]) == (school.id, "ART", 2)
        assert item["enrolled_count"] == 0
        assert item["room"] is None

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_others_may_not_write(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school))
        headers, _ = await factory.login_as(role, school)
        r = await client.post(URL, headers=headers, json={"course_id": course.id, "name": "X"})
        assert r.status_code == 403

    async def test_course_and_teacher_must_be_in_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        course = await factory.course(await factory.term(school))
        their_course = await factory.course(await factory.term(other))
        their_teacher = await factory.teacher(other)
        headers, _ = await factory.login_as("staff", school)
        cases = [
            ({"course_id": their_course.id, "name": "X"}, "course_id"),
            ({"course_id": 999_999, "name": "X"}, "course_id"),
            ({"course_id": course.id, "teacher_id": their_teacher.id, "name": "X"}, "teacher_id"),
            ({"course_id": course.id, "teacher_id": 999_999, "name": "X"}, "teacher_id"),
        ]
        for payload, field in cases:
            r = await client.post(URL, headers=headers, json=payload)
            assert r.status_code == 422, payload
            assert r.json()["errors"][0]["loc"] == ["body", field]

    async def test_bad_bodies_are_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        course = await factory.course(await factory.term(school))
        headers, _ = await factory.login_as("staff", school)
        for bad in (
            {"course_id": course.id, "name": "X", "capacity": 0},
            {"course_id": course.id, "name": ""},
            {"course_id": course.id, "name": "X", "school_id": school.id},
            {"name": "X"},
        ):
            r = await client.post(URL, headers=headers, json=bad)
            assert r.status_code == 422, bad

    async def test_duplicate_name_in_course_is_409(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        term = await factory.term(school)
        course, other_course = await factory.course(term), await factory.course(term)
        await factory.section(course, None, name="01")
        headers, _ = await factory.login_as("staff", school)
        r = await client.post(URL, headers=headers, json={"course_id": course.id, "name": "01"})
        assert r.status_code == 409
        r = await client.post(
            URL, headers=headers, json={"course_id": other_course.id, "name": "01"}
        )
        assert r.status_code == 201


class TestUpdateSection:
    async def test_patch_teacher_room_and_unassign(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        new_teacher = await factory.teacher(w.school)
        headers, _ = await factory.login_as("staff", w.school)
        url = f"{URL}/{w.section.id}"
        r = await client.patch(url, headers=headers, json={"teacher_id": new_teacher.id})
        assert r.status_code == 200, r.text
        assert r.json()["teacher_name"] == f"{new_teacher.first_name} {new_teacher.last_name}"
        r = await client.patch(url, headers=headers, json={"teacher_id": None, "room": None})
        assert (r.json()["teacher_id"], r.json()["room"]) == (None, None)
        r = await client.patch(url, headers=headers, json={"name": None})
        assert r.status_code == 422

    async def test_teacher_of_another_school_is_422(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        foreign_teacher = await factory.teacher(await factory.school())
        headers, _ = await factory.login_as("staff", w.school)
        r = await client.patch(
            f"{URL}/{w.section.id}", headers=headers, json={"teacher_id": foreign_teacher.id}
        )
        assert r.status_code == 422

    async def test_capacity_below_enrolled_is_409(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        await factory.enroll(await factory.student(w.school), w.section)
        headers, _ = await factory.login_as("staff", w.school)
        url = f"{URL}/{w.section.id}"
        r = await client.patch(url, headers=headers, json={"capacity": 1})
        assert r.status_code == 409
        assert "2 students" in r.json()["detail"]
        r = await client.patch(url, headers=headers, json={"capacity": 2})
        assert r.status_code == 200
        assert r.json()["capacity"] == 2

    async def test_duplicate_name_is_409(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        r = await client.patch(f"{URL}/{w.section.id}", headers=headers, json={"name": "B"})
        assert r.status_code == 409

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        r = await client.patch(f"{URL}/{w.foreign.id}", headers=headers, json={"room": "X"})
        assert r.status_code == 404


class TestDeleteSection:
    async def test_section_with_enrollments_is_409(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        assert (await client.delete(f"{URL}/{w.section.id}", headers=headers)).status_code == 409
        r = await client.delete(f"{URL}/{w.other_section.id}", headers=headers)
        assert r.status_code == 204
        assert (await client.get(f"{URL}/{w.other_section.id}", headers=headers)).status_code == 404

    async def test_other_school_404_and_teacher_403(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        assert (await client.delete(f"{URL}/{w.foreign.id}", headers=headers)).status_code == 404
        teacher, _ = await factory.login_as("teacher", w.school)
        r = await client.delete(f"{URL}/{w.other_section.id}", headers=teacher)
        assert r.status_code == 403


class TestBoundedIds:
    async def test_ids_beyond_32_bits_are_422(self, client: AsyncClient, factory: Factory) -> None:
        w = await world(factory)
        headers, _ = await factory.login_as("staff", w.school)
        for url in (f"{URL}/{2**31}", f"{URL}/{2**31}/roster"):
            assert (await client.get(url, headers=headers)).status_code == 422
        r = await client.get(URL, headers=headers, params={"teacher_id": 2**31})
        assert r.status_code == 422
        payload = {"course_id": w.section.course_id, "name": "Z", "teacher_id": 2**31}
        r = await client.post(URL, headers=headers, json=payload)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "teacher_id"]
