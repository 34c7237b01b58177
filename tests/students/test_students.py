from datetime import date

import pytest
from httpx import AsyncClient
from pydantic import TypeAdapter

from homeroom.kit.db import Database
from homeroom.kit.schemas import Page
from homeroom.models import School
from homeroom.students.schemas import StudentRead
from tests.factories import Factory
from tests.fixture_types import CountQueries

PageOfStudents = TypeAdapter(Page[StudentRead])


def new_student(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "student_number": "N-100",
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.edu",
        "date_of_birth": "2011-12-09",
        "grade_level": 9,
    }
    body.update(overrides)
    return body


@pytest.fixture
async def school(factory: Factory) -> School:
    return await factory.school()


@pytest.fixture
async def admin(factory: Factory, school: School) -> dict[str, str]:
    headers, _ = await factory.login_as("admin", school)
    return headers


class TestListStudents:
    async def test_envelope_matches_contract_and_schema(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        for _ in range(3):
            await factory.student(school)
        r = await client.get("/api/v1/students", headers=admin)
        assert r.status_code == 200
        body = r.json()
        page = PageOfStudents.validate_python(body)
        assert page.total == 3 and page.limit == 50 and page.offset == 0
        assert page.next_cursor is None
        assert "Link" not in r.headers
        assert r.headers["ETag"]
        assert "private" in r.headers["Cache-Control"]

    async def test_keyset_pages_walk_every_student_once(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        made = {(await factory.student(school)).id for _ in range(7)}
        seen: list[int] = []
        url = "/api/v1/students?limit=3&sort=-created_at"
        pages = 0
        while url:
            r = await client.get(url, headers=admin)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["total"] == 7
            seen += [s["id"] for s in body["items"]]
            pages += 1
            if body["next_cursor"]:
                link = r.headers["Link"]
                assert link.endswith('; rel="next"') and "cursor=" in link
                url = link[1 : link.index(">")].removeprefix("http://test")
            else:
                url = ""
        assert pages == 3
        assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))

    async def test_offset_paging_and_sort_by_name(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        for name in ("Cole", "Adams", "Baker", "Dunn"):
            await factory.student(school, last_name=name)
        r = await client.get("/api/v1/students?limit=2&offset=1&sort=last_name", headers=admin)
        assert [s["last_name"] for s in r.json()["items"]] == ["Baker", "Cole"]
        r = await client.get("/api/v1/students?sort=-last_name", headers=admin)
        assert [s["last_name"] for s in r.json()["items"]] == ["Dunn", "Cole", "Baker", "Adams"]

    @pytest.mark.parametrize(
        "query",
        ["limit=1001", "limit=0", "offset=-1", "sort=password", "cursor=not-a-cursor", "status=x"],
    )
    async def test_bad_paging_is_422_problem(
        self, client: AsyncClient, admin: dict[str, str], query: str
    ) -> None:
        r = await client.get(f"/api/v1/students?{query}", headers=admin)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["status"] == 422 and body["errors"]

    async def test_cursor_from_another_sort_is_rejected(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        for _ in range(3):
            await factory.student(school)
        cursor = (await client.get("/api/v1/students?limit=1", headers=admin)).json()["next_cursor"]
        r = await client.get(f"/api/v1/students?cursor={cursor}&sort=id", headers=admin)
        assert r.status_code == 422

    async def test_search_and_filters(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        await factory.student(school, first_name="Marie", last_name="Curie", grade_level=11)
        await factory.student(school, first_name="Ada", last_name="Byron", status="graduated")
        await factory.student(school, first_name="Alan", last_name="Turing")
        r = await client.get("/api/v1/students?q=CURI", headers=admin)
        assert [s["last_name"] for s in r.json()["items"]] == ["Curie"]
        r = await client.get("/api/v1/students?status=graduated", headers=admin)
        assert [s["first_name"] for s in r.json()["items"]] == ["Ada"]
        r = await client.get("/api/v1/students?grade_level=11", headers=admin)
        assert r.json()["total"] == 1
        r = await client.get("/api/v1/students?q=100%25", headers=admin)  # a literal '%'
        assert r.json()["total"] == 0

    async def test_other_schools_are_invisible(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        other = await factory.school()
        theirs = await factory.student(other)
        await factory.student(school)
        assert (await client.get("/api/v1/students", headers=admin)).json()["total"] == 1
        r = await client.get(f"/api/v1/students/{theirs.id}", headers=admin)
        assert r.status_code == 404

    async def test_district_admin_sees_every_school(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        other = await factory.school()
        await factory.student(school)
        await factory.student(other)
        district = factory.headers(await factory.user("admin", None))
        assert (await client.get("/api/v1/students", headers=district)).json()["total"] == 2


class TestQueryCounts:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("/api/v1/students?limit={n}", 2),  # the page, then COUNT from an index
            # A search: its page and total from one statement (tests/students/test_search.py)
            ("/api/v1/students?limit={n}&q=a", 1),
            ("/api/v1/students?limit={n}&q=last", 1),
        ],
    )
    async def test_list_is_constant_whatever_the_page_size(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        admin: dict[str, str],
        count_queries: CountQueries,
        url: str,
        expected: int,
    ) -> None:
        for _ in range(205):
            await factory.student(school)
        counts = []
        for n in (1, 200):
            with count_queries() as statements:
                r = await client.get(url.format(n=n), headers=admin)
            assert r.status_code == 200 and len(r.json()["items"]) == n
            assert r.json()["total"] == 205
            counts.append(len(statements))
        assert counts == [expected, expected]

    async def test_keyset_pages_do_not_count_again(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        admin: dict[str, str],
        count_queries: CountQueries,
    ) -> None:
        for _ in range(5):
            await factory.student(school)
        first = (await client.get("/api/v1/students?limit=2", headers=admin)).json()
        with count_queries() as statements:
            r = await client.get(
                f"/api/v1/students?limit=2&cursor={first['next_cursor']}", headers=admin
            )
        assert len(statements) == 1  # the page itself; the total rides in the cursor
        assert r.json()["total"] == first["total"] == 5

    async def test_detail_is_one_statement(
        self,
        client: AsyncClient,
        factory: Factory,
        school: School,
        admin: dict[str, str],
        count_queries: CountQueries,
    ) -> None:
        student = await factory.student(school)
        with count_queries() as statements:
            r = await client.get(f"/api/v1/students/{student.id}", headers=admin)
        assert r.status_code == 200
        assert len(statements) == 1

    async def test_writes_are_four_statements(
        self,
        client: AsyncClient,
        school: School,
        admin: dict[str, str],
        db: Database,
        count_queries: CountQueries,
    ) -> None:
        """POST: uniqueness check, INSERT ... RETURNING (the answer), cache bump, audit row.
        PATCH and DELETE: the scoped read that locks the row (and checks If-Match), UPDATE ...
        RETURNING, cache bump, audit row. (SQLite adds its BEGIN IMMEDIATE; PostgreSQL writes
        the cache bump and the audit row in one statement, kit/epilogue.py.)"""
        expected = 4 if db.is_sqlite else 3

        def data(statements: list[str]) -> list[str]:
            return [s for s in statements if not s.lstrip().upper().startswith("BEGIN")]

        with count_queries() as statements:
            r = await client.post("/api/v1/students", headers=admin, json=new_student())
        assert r.status_code == 201 and len(data(statements)) == expected, statements
        url = f"/api/v1/students/{r.json()['id']}"
        with count_queries() as statements:
            r = await client.patch(
                url, headers=admin | {"If-Match": r.headers["ETag"]}, json={"grade_level": 10}
            )
        assert r.status_code == 200 and len(data(statements)) == expected, statements
        with count_queries() as statements:
            r = await client.delete(url, headers=admin | {"If-Match": r.headers["ETag"]})
        assert r.status_code == 204 and len(data(statements)) == expected, statements


class TestScopes:
    async def test_student_sees_only_themself(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        headers, me = await factory.login_as("student", school)
        classmate = await factory.student(school)
        body = (await client.get("/api/v1/students", headers=headers)).json()
        assert [s["id"] for s in body["items"]] == [me.id]
        assert (await client.get(f"/api/v1/students/{me.id}", headers=headers)).status_code == 200
        r = await client.get(f"/api/v1/students/{classmate.id}", headers=headers)
        assert r.status_code == 404

    async def test_guardian_sees_only_their_children(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        child, sibling, stranger = [await factory.student(school) for _ in range(3)]
        guardian = await factory.guardian(school, children=[child, sibling], with_login=True)
        user = await factory.user_of(guardian)
        headers = factory.headers(user, guardian.id)
        body = (await client.get("/api/v1/students", headers=headers)).json()
        assert sorted(s["id"] for s in body["items"]) == sorted([child.id, sibling.id])
        r = await client.get(f"/api/v1/students/{stranger.id}", headers=headers)
        assert r.status_code == 404

    async def test_teacher_sees_only_students_of_their_sections(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        headers, teacher = await factory.login_as("teacher", school)
        colleague = await factory.teacher(school)
        course = await factory.course(await factory.term(school))
        mine = await factory.section(course, teacher)
        theirs = await factory.section(course, colleague)
        pupil, other = await factory.student(school), await factory.student(school)
        await factory.enroll(pupil, mine)
        await factory.enroll(other, theirs)
        body = (await client.get("/api/v1/students", headers=headers)).json()
        assert [s["id"] for s in body["items"]] == [pupil.id]
        r = await client.get(f"/api/v1/students/{other.id}", headers=headers)
        assert r.status_code == 404

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_only_registrars_and_admins_write(
        self, client: AsyncClient, factory: Factory, school: School, role: str
    ) -> None:
        headers, _ = await factory.login_as(role, school)
        r = await client.post("/api/v1/students", headers=headers, json=new_student())
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"

    async def test_staff_may_write(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        headers, _ = await factory.login_as("staff", school)
        r = await client.post("/api/v1/students", headers=headers, json=new_student())
        assert r.status_code == 201

    async def test_no_token_is_401(self, client: AsyncClient) -> None:
        r = await client.get("/api/v1/students")
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"


class TestCreateStudent:
    async def test_create_then_read_back(
        self, client: AsyncClient, admin: dict[str, str], school: School
    ) -> None:
        r = await client.post(
            "/api/v1/students", headers=admin, json=new_student(email="Grace@Example.edu")
        )
        assert r.status_code == 201, r.text
        created = StudentRead.model_validate(r.json())
        assert created.school_id == school.id and created.email == "grace@example.edu"
        r = await client.get(f"/api/v1/students/{created.id}", headers=admin)
        assert StudentRead.model_validate(r.json()) == created

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("email", "not-an-email"),
            ("grade_level", 14),
            ("date_of_birth", "2999-01-01"),
            ("date_of_birth", "yesterday"),
            ("first_name", ""),
            ("student_number", "has spaces"),
            ("status", "expelled"),
            ("unknown_field", 1),
        ],
    )
    async def test_invalid_fields_are_422_naming_the_field(
        self, client: AsyncClient, admin: dict[str, str], field: str, value: object
    ) -> None:
        r = await client.post("/api/v1/students", headers=admin, json=new_student(**{field: value}))
        assert r.status_code == 422
        assert any(field in e["loc"] for e in r.json()["errors"])

    async def test_malformed_json_is_422_not_500(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        r = await client.post(
            "/api/v1/students",
            headers={**admin, "Content-Type": "application/json"},
            content=b"{not json",
        )
        assert r.status_code == 422

    @pytest.mark.parametrize("field", ["email", "student_number"])
    async def test_duplicates_are_409(
        self, client: AsyncClient, admin: dict[str, str], field: str
    ) -> None:
        assert (await client.post("/api/v1/students", headers=admin, json=new_student())).is_success
        other = new_student(email="other@example.edu", student_number="N-200")
        other[field] = new_student()[field]
        r = await client.post("/api/v1/students", headers=admin, json=other)
        assert r.status_code == 409
        assert field.replace("_", " ") in r.json()["detail"]

    async def test_same_student_number_in_another_school_is_fine(
        self, client: AsyncClient, factory: Factory, admin: dict[str, str]
    ) -> None:
        other = await factory.school()
        await factory.student(other, student_number="N-100")
        r = await client.post("/api/v1/students", headers=admin, json=new_student())
        assert r.status_code == 201

    async def test_district_admin_must_name_the_school(
        self, client: AsyncClient, factory: Factory, school: School
    ) -> None:
        district = factory.headers(await factory.user("admin", None))
        r = await client.post("/api/v1/students", headers=district, json=new_student())
        assert r.status_code == 422
        r = await client.post(
            "/api/v1/students", headers=district, json=new_student(school_id=school.id)
        )
        assert r.status_code == 201

    async def test_school_admin_cannot_write_into_another_school(
        self, client: AsyncClient, factory: Factory, admin: dict[str, str]
    ) -> None:
        other = await factory.school()
        r = await client.post(
            "/api/v1/students", headers=admin, json=new_student(school_id=other.id)
        )
        assert r.status_code == 403

    async def test_every_write_is_audited(
        self, client: AsyncClient, admin: dict[str, str], db: Database
    ) -> None:
        from sqlalchemy import select

        from homeroom.models import AuditLog

        sid = (await client.post("/api/v1/students", headers=admin, json=new_student())).json()[
            "id"
        ]
        await client.patch(f"/api/v1/students/{sid}", headers=admin, json={"grade_level": 10})
        await client.delete(f"/api/v1/students/{sid}", headers=admin)
        await client.post(f"/api/v1/students/{sid}/restore", headers=admin)
        async with db.sessionmaker() as session:
            actions = (
                await session.scalars(
                    select(AuditLog.action)
                    .where(AuditLog.entity == "student", AuditLog.entity_id == sid)
                    .order_by(AuditLog.id)
                )
            ).all()
        assert actions == ["create", "update", "archive", "restore"]


class TestUpdateStudent:
    async def test_patch_changes_only_given_fields(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        student = await factory.student(school, first_name="Old")
        r = await client.patch(
            f"/api/v1/students/{student.id}", headers=admin, json={"grade_level": 10}
        )
        assert r.status_code == 200
        assert r.json()["grade_level"] == 10 and r.json()["first_name"] == "Old"

    async def test_null_for_a_required_field_is_422(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        student = await factory.student(school)
        r = await client.patch(
            f"/api/v1/students/{student.id}", headers=admin, json={"first_name": None}
        )
        assert r.status_code == 422

    async def test_conflicting_email_is_409_and_nothing_changes(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        a = await factory.student(school)
        b = await factory.student(school)
        r = await client.patch(
            f"/api/v1/students/{a.id}", headers=admin, json={"email": b.email, "grade_level": 12}
        )
        assert r.status_code == 409
        r = await client.get(f"/api/v1/students/{a.id}", headers=admin)
        assert r.json()["grade_level"] == a.grade_level

    async def test_if_match_guards_against_lost_updates(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        student = await factory.student(school)
        url = f"/api/v1/students/{student.id}"
        etag = (await client.get(url, headers=admin)).headers["ETag"]
        r = await client.patch(url, headers={**admin, "If-Match": etag}, json={"grade_level": 10})
        assert r.status_code == 200
        r = await client.patch(url, headers={**admin, "If-Match": etag}, json={"grade_level": 11})
        assert r.status_code == 412
        assert (await client.get(url, headers=admin)).json()["grade_level"] == 10

    async def test_if_none_match_gives_304(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        student = await factory.student(school)
        url = f"/api/v1/students/{student.id}"
        etag = (await client.get(url, headers=admin)).headers["ETag"]
        r = await client.get(url, headers={**admin, "If-None-Match": etag})
        assert r.status_code == 304 and r.content == b""

    async def test_unknown_student_is_404(self, client: AsyncClient, admin: dict[str, str]) -> None:
        r = await client.patch("/api/v1/students/999999", headers=admin, json={"grade_level": 1})
        assert r.status_code == 404


class TestArchive:
    async def test_delete_archives_and_restore_undoes_it(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        student = await factory.student(school)
        url = f"/api/v1/students/{student.id}"
        assert (await client.delete(url, headers=admin)).status_code == 204
        assert (await client.get("/api/v1/students", headers=admin)).json()["total"] == 0
        archived = (await client.get("/api/v1/students?archived=only", headers=admin)).json()
        assert archived["items"][0]["archived_at"] is not None
        # The record itself stays readable: archiving is not deleting.
        assert (await client.get(url, headers=admin)).status_code == 200
        r = await client.post(f"{url}/restore", headers=admin)
        assert r.status_code == 200 and r.json()["archived_at"] is None
        assert (await client.get("/api/v1/students", headers=admin)).json()["total"] == 1

    async def test_birthdays_round_trip(
        self, client: AsyncClient, factory: Factory, school: School, admin: dict[str, str]
    ) -> None:
        student = await factory.student(school, date_of_birth=date(2009, 2, 28))
        r = await client.get(f"/api/v1/students/{student.id}", headers=admin)
        assert r.json()["date_of_birth"] == "2009-02-28"


class TestHostileInput:
    @pytest.mark.parametrize("sid", ["99999999999999999999", "0", "-1", "abc"])
    async def test_out_of_range_ids_are_422(
        self, client: AsyncClient, admin: dict[str, str], sid: str
    ) -> None:
        r = await client.get(f"/api/v1/students/{sid}", headers=admin)
        assert r.status_code == 422

    async def test_nul_characters_are_422(self, client: AsyncClient, admin: dict[str, str]) -> None:
        r = await client.post(
            "/api/v1/students", headers=admin, json=new_student(first_name="A\x00B")
        )
        assert r.status_code == 422
        assert (await client.get("/api/v1/students?q=a%00b", headers=admin)).status_code == 422
