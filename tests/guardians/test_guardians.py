from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from homeroom.models import AuditLog, StudentGuardian
from tests.factories import Factory
from tests.fixture_types import CountQueries

URL = "/api/v1/guardians"


def _body(**kw: Any) -> dict[str, Any]:
    return {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.edu"} | kw


async def _count(factory: Factory, stmt: Any) -> int:
    async with factory.db.sessionmaker() as session:
        return int(await session.scalar(stmt) or 0)


async def _teacher_with_student(factory: Factory, school: Any, student: Any) -> dict[str, str]:
    headers, teacher = await factory.login_as("teacher", school)
    term = await factory.term(school)
    course = await factory.course(term)
    section = await factory.section(course, teacher)
    await factory.enroll(student, section)
    return headers


class TestListGuardians:
    async def test_admin_lists_school_guardians_with_children(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        kid1, kid2 = await factory.student(school), await factory.student(school)
        g = await factory.guardian(school, children=[kid2, kid1])
        await factory.guardian(school)
        await factory.guardian(other)
        r = await client.get(URL, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 2
        assert "ETag" in r.headers
        first = next(i for i in body["items"] if i["id"] == g.id)
        assert first["student_ids"] == sorted([kid1.id, kid2.id])
        assert {i["school_id"] for i in body["items"]} == {school.id}

    async def test_search_on_name_and_email(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        await factory.guardian(school, first_name="Zelda", email="zz@example.edu")
        await factory.guardian(school, last_name="Okafor")
        await factory.guardian(school, email="unique_mail@example.edu")
        await factory.guardian(school, email="uniqueXmail@example.edu")
        for q, expected in (("zeld", 1), ("OKAF", 1), ("unique_mail", 1), ("nobody", 0)):
            r = await client.get(URL, headers=headers, params={"q": q})
            assert r.status_code == 200, r.text
            assert r.json()["total"] == expected, q

    async def test_keyset_paging_walks_every_row_once(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        for i in range(5):
            await factory.guardian(school, last_name=f"Same{i % 2}")
        seen: list[int] = []
        params: dict[str, Any] = {"limit": 2, "sort": "-last_name"}
        while True:
            r = await client.get(URL, headers=headers, params=params)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["total"] == 5
            seen += [i["id"] for i in body["items"]]
            if body["next_cursor"] is None:
                break
            assert 'rel="next"' in r.headers["Link"]
            params["cursor"] = body["next_cursor"]
        assert len(seen) == len(set(seen)) == 5

    async def test_unknown_sort_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.get(URL, headers=headers, params={"sort": "phone"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "sort"]

    @pytest.mark.parametrize("path", ["list", "detail"])
    async def test_query_count_is_constant(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries, path: str
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        kids = [await factory.student(school) for _ in range(3)]
        guardians = [await factory.guardian(school, children=kids) for _ in range(4)]
        counts = []
        for limit in (1, 200):
            with count_queries() as statements:
                if path == "list":
                    r = await client.get(URL, headers=headers, params={"limit": limit})
                else:
                    r = await client.get(f"{URL}/{guardians[0].id}", headers=headers)
            assert r.status_code == 200, r.text
            counts.append(len(statements))
        if path == "detail":
            assert counts == [1, 1]  # student_ids come in the same statement
        assert counts[0] <= 2 and counts[1] <= 2, counts


class TestReadGuardian:
    async def test_detail_includes_student_ids(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        kid = await factory.student(school)
        g = await factory.guardian(school, children=[kid], phone="+1 555 0100")
        r = await client.get(f"{URL}/{g.id}", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["student_ids"] == [kid.id]
        assert body["phone"] == "+1 555 0100"
        assert r.headers["ETag"]
        again = await client.get(
            f"{URL}/{g.id}", headers=headers | {"If-None-Match": r.headers["ETag"]}
        )
        assert again.status_code == 304

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        g = await factory.guardian(other)
        r = await client.get(f"{URL}/{g.id}", headers=headers)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")

    async def test_all_schools_admin_sees_every_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        admin = await factory.user("admin", None)
        g = await factory.guardian(school)
        r = await client.get(f"{URL}/{g.id}", headers=factory.headers(admin))
        assert r.status_code == 200


class TestScopes:
    async def test_teacher_sees_guardians_of_their_students_only(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        mine, theirs = await factory.student(school), await factory.student(school)
        headers = await _teacher_with_student(factory, school, mine)
        g_mine = await factory.guardian(school, children=[mine, theirs])
        g_theirs = await factory.guardian(school, children=[theirs])
        r = await client.get(URL, headers=headers)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [i["id"] for i in items] == [g_mine.id]
        # only the children the teacher may see are listed
        assert items[0]["student_ids"] == [mine.id]
        assert (await client.get(f"{URL}/{g_theirs.id}", headers=headers)).status_code == 404

    async def test_guardian_sees_only_themself(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        kid = await factory.student(school)
        headers, me = await factory.login_as("guardian", school)
        await factory.save(StudentGuardian(student_id=kid.id, guardian_id=me.id))
        co_parent = await factory.guardian(school, children=[kid])
        r = await client.get(URL, headers=headers)
        assert [i["id"] for i in r.json()["items"]] == [me.id]
        assert r.json()["items"][0]["student_ids"] == [kid.id]
        assert (await client.get(f"{URL}/{me.id}", headers=headers)).status_code == 200
        assert (await client.get(f"{URL}/{co_parent.id}", headers=headers)).status_code == 404

    async def test_student_sees_their_own_guardians(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, me = await factory.login_as("student", school)
        sibling = await factory.student(school)
        parent = await factory.guardian(school, children=[me, sibling])
        await factory.guardian(school, children=[sibling])
        r = await client.get(URL, headers=headers)
        items = r.json()["items"]
        assert [i["id"] for i in items] == [parent.id]
        assert items[0]["student_ids"] == [me.id]

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_only_admin_and_staff_write(
        self, client: AsyncClient, factory: Factory, role: str
    ) -> None:
        school = await factory.school()
        headers, profile = await factory.login_as(role, school)
        target = profile if role == "guardian" else await factory.guardian(school)
        assert (await client.post(URL, headers=headers, json=_body())).status_code == 403
        r = await client.patch(f"{URL}/{target.id}", headers=headers, json={"first_name": "X"})
        assert r.status_code == 403
        assert (await client.delete(f"{URL}/{target.id}", headers=headers)).status_code == 403

    async def test_anonymous_is_401(self, client: AsyncClient, factory: Factory) -> None:
        assert (await client.get(URL)).status_code == 401


class TestCreateGuardian:
    async def test_staff_creates_with_audit(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, user = await factory.login_as("staff", school)
        r = await client.post(URL, headers=headers, json=_body(email="Grace@Example.EDU"))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["email"] == "grace@example.edu"
        assert body["school_id"] == school.id
        assert body["student_ids"] == []
        audits = await _count(
            factory,
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity == "guardian", AuditLog.entity_id == body["id"])
            .where(AuditLog.action == "create", AuditLog.actor_id == user.id),
        )
        assert audits == 1

    async def test_duplicate_email_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        await factory.guardian(school, email="grace@example.edu")
        r = await client.post(URL, headers=headers, json=_body(email="GRACE@example.edu"))
        assert r.status_code == 409
        assert "email" in r.json()["detail"]

    @pytest.mark.parametrize(
        ("patch", "loc"),
        [
            ({"email": "not-an-email"}, ["body", "email"]),
            ({"first_name": ""}, ["body", "first_name"]),
            ({"phone": "call me"}, ["body", "phone"]),
            ({"nickname": "G"}, ["body", "nickname"]),
        ],
    )
    async def test_invalid_body_is_422(
        self, client: AsyncClient, factory: Factory, patch: dict[str, Any], loc: list[str]
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(**patch))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == loc

    async def test_bound_admin_cannot_create_in_other_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        r = await client.post(URL, headers=headers, json=_body(school_id=other.id))
        assert r.status_code == 403

    async def test_all_schools_admin_must_name_school(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers = factory.headers(await factory.user("admin", None))
        r = await client.post(URL, headers=headers, json=_body())
        assert r.status_code == 422
        r = await client.post(URL, headers=headers, json=_body(school_id=school.id))
        assert r.status_code == 201
        assert r.json()["school_id"] == school.id


class TestUpdateGuardian:
    async def test_patch_changes_fields_and_audits(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        g = await factory.guardian(school, phone="555 0100")
        r = await client.patch(
            f"{URL}/{g.id}", headers=headers, json={"last_name": "Byron", "phone": None}
        )
        assert r.status_code == 200, r.text
        assert r.json()["last_name"] == "Byron"
        assert r.json()["phone"] is None
        audits = await _count(
            factory,
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity_id == g.id, AuditLog.action == "update"),
        )
        assert audits == 1

    async def test_null_name_is_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        g = await factory.guardian(school)
        r = await client.patch(f"{URL}/{g.id}", headers=headers, json={"first_name": None})
        assert r.status_code == 422

    async def test_email_taken_by_another_is_409(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        g = await factory.guardian(school)
        other = await factory.guardian(school)
        r = await client.patch(f"{URL}/{g.id}", headers=headers, json={"email": other.email})
        assert r.status_code == 409
        r = await client.patch(f"{URL}/{g.id}", headers=headers, json={"email": g.email})
        assert r.status_code == 200

    async def test_stale_if_match_is_412(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        g = await factory.guardian(school)
        etag = (await client.get(f"{URL}/{g.id}", headers=headers)).headers["ETag"]
        r = await client.patch(
            f"{URL}/{g.id}", headers=headers | {"If-Match": etag}, json={"first_name": "A"}
        )
        assert r.status_code == 200
        r = await client.patch(
            f"{URL}/{g.id}", headers=headers | {"If-Match": etag}, json={"first_name": "B"}
        )
        assert r.status_code == 412

    async def test_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("admin", school)
        g = await factory.guardian(other)
        r = await client.patch(f"{URL}/{g.id}", headers=headers, json={"first_name": "X"})
        assert r.status_code == 404


class TestDeleteGuardian:
    async def test_delete_removes_links(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("admin", school)
        kid = await factory.student(school)
        g = await factory.guardian(school, children=[kid])
        r = await client.delete(f"{URL}/{g.id}", headers=headers)
        assert r.status_code == 204
        assert (await client.get(f"{URL}/{g.id}", headers=headers)).status_code == 404
        links = await _count(factory, select(func.count()).select_from(StudentGuardian))
        assert links == 0
        # the student is untouched
        assert (await client.get(f"/api/v1/students/{kid.id}", headers=headers)).status_code == 200
        audits = await _count(
            factory,
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity_id == g.id, AuditLog.action == "delete"),
        )
        assert audits == 1

    async def test_delete_other_school_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("staff", school)
        g = await factory.guardian(other)
        assert (await client.delete(f"{URL}/{g.id}", headers=headers)).status_code == 404


class TestLinks:
    async def test_link_and_unlink(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        kid = await factory.student(school)
        g = await factory.guardian(school)
        r = await client.post(
            f"{URL}/{g.id}/students",
            headers=headers,
            json={"student_id": kid.id, "relationship": "mother"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["student_ids"] == [kid.id]
        async with factory.db.sessionmaker() as session:
            link = await session.get(StudentGuardian, (kid.id, g.id))
        assert link is not None and link.relationship == "mother"
        r = await client.delete(f"{URL}/{g.id}/students/{kid.id}", headers=headers)
        assert r.status_code == 204
        r = await client.get(f"{URL}/{g.id}", headers=headers)
        assert r.json()["student_ids"] == []
        actions = await _count(
            factory,
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity_id == g.id, AuditLog.action.in_(["link", "unlink"])),
        )
        assert actions == 2

    async def test_already_linked_is_409(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        kid = await factory.student(school)
        g = await factory.guardian(school, children=[kid])
        r = await client.post(
            f"{URL}/{g.id}/students", headers=headers, json={"student_id": kid.id}
        )
        assert r.status_code == 409

    async def test_student_of_other_school_is_422(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers = factory.headers(await factory.user("admin", None))  # sees both schools
        kid = await factory.student(other)
        g = await factory.guardian(school)
        r = await client.post(
            f"{URL}/{g.id}/students", headers=headers, json={"student_id": kid.id}
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "student_id"]

    async def test_invisible_or_unknown_student_is_422(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        school, other = await factory.school(), await factory.school()
        headers, _ = await factory.login_as("staff", school)
        g = await factory.guardian(school)
        hidden = await factory.student(other)
        for student_id in (hidden.id, 999_999):
            r = await client.post(
                f"{URL}/{g.id}/students", headers=headers, json={"student_id": student_id}
            )
            assert r.status_code == 422, student_id

    async def test_oversized_ids_are_422(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        g = await factory.guardian(school)
        r = await client.post(f"{URL}/{g.id}/students", headers=headers, json={"student_id": 2**40})
        assert r.status_code == 422
        assert (await client.get(f"{URL}/{2**40}", headers=headers)).status_code == 422
        r = await client.delete(f"{URL}/{g.id}/students/{2**40}", headers=headers)
        assert r.status_code == 422

    async def test_unlink_not_linked_is_404(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        kid = await factory.student(school)
        g = await factory.guardian(school)
        r = await client.delete(f"{URL}/{g.id}/students/{kid.id}", headers=headers)
        assert r.status_code == 404

    async def test_teacher_cannot_link(self, client: AsyncClient, factory: Factory) -> None:
        school = await factory.school()
        kid = await factory.student(school)
        headers = await _teacher_with_student(factory, school, kid)
        g = await factory.guardian(school, children=[kid])
        r = await client.delete(f"{URL}/{g.id}/students/{kid.id}", headers=headers)
        assert r.status_code == 403

    async def test_link_writes_constant_statements(
        self, client: AsyncClient, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        headers, _ = await factory.login_as("staff", school)
        g = await factory.guardian(school)
        counts = []
        for _ in range(2):
            kid = await factory.student(school)
            with count_queries() as statements:
                r = await client.post(
                    f"{URL}/{g.id}/students", headers=headers, json={"student_id": kid.id}
                )
            assert r.status_code == 201
            counts.append(len(statements))
        assert counts[0] == counts[1] <= 7, counts  # + the cache version bump (kit/cache.py)
