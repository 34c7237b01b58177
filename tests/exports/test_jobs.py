"""POST /exports: background exports run in the submitter's scope, end to end through the job
runner; validation up front; status and the file for the owner only."""

from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from homeroom.jobs import service as jobs
from homeroom.kit.db import Database, run_after_commit
from homeroom.kit.security import AccessClaims
from homeroom.models import Job, School, Student, User
from tests.exports import csv_rows, xlsx_rows
from tests.factories import Factory
from tests.jobs import wait_for_job

EXPORTS = "/api/v1/exports"


class District:
    """Two terms of one school (graded, with attendance) and a second school beside it."""

    school: School
    other: School
    term1: Any
    term2: Any
    section1: Any
    section2: Any
    x: Student
    y: Student
    stranger: Student


@pytest.fixture
async def district(factory: Factory) -> District:
    d = District()
    d.school = await factory.school()
    d.other = await factory.school()
    d.term1 = await factory.term(d.school, name="Fall")
    d.term2 = await factory.term(d.school, name="Spring")
    teacher = await factory.teacher(d.school)
    d.section1 = await factory.section(await factory.course(d.term1, code="MATH1"), teacher)
    d.section2 = await factory.section(await factory.course(d.term2, code="ART2"), teacher)
    d.x = await factory.student(d.school, first_name="Xena", last_name="Warrior")
    d.y = await factory.student(d.school, first_name="=Yuri", last_name="Gagarin")
    x1 = await factory.enroll(d.x, d.section1)
    y1 = await factory.enroll(d.y, d.section1, status="dropped")
    x2 = await factory.enroll(d.x, d.section2)
    a1 = await factory.assessment(
        d.section1, await factory.category(d.section1, "Tests", 100), title="Quiz 1"
    )
    a2 = await factory.assessment(
        d.section2, await factory.category(d.section2, "Tests", 100), title="Sketch"
    )
    await factory.grade(x1, a1, 90, comment="Well done, really")
    await factory.grade(y1, a1, 75)
    await factory.grade(x2, a2, 60)
    await factory.attendance(d.section1, d.x, date(2026, 9, 1), "present")
    await factory.attendance(d.section1, d.x, date(2026, 9, 2), "absent")
    await factory.attendance(d.section1, d.y, date(2026, 9, 3), "late")
    # The other school's records never show up in the first school's exports.
    other_term = await factory.term(d.other)
    other_section = await factory.section(await factory.course(other_term), None)
    d.stranger = await factory.student(d.other, first_name="Not", last_name="Mine")
    other_enrollment = await factory.enroll(d.stranger, other_section)
    other_assessment = await factory.assessment(
        other_section, await factory.category(other_section, "All", 100)
    )
    await factory.grade(other_enrollment, other_assessment, 50)
    await factory.attendance(other_section, d.stranger, date(2026, 9, 1), "present")
    return d


async def staff_of(factory: Factory, school: School) -> tuple[dict[str, str], User]:
    user = await factory.user("staff", school)
    return factory.headers(user), user


async def run_export(
    client: AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> tuple[dict[str, Any], bytes]:
    """Submits an export, waits for it, and downloads its file."""
    r = await client.post(EXPORTS, headers=headers, json=body)
    assert r.status_code == 202, r.text
    submitted = r.json()
    assert submitted["status"] == "queued" and submitted["kind"] == "export"
    job = await wait_for_job(client, headers, submitted["id"])
    assert job["status"] == "succeeded", job
    view = await client.get(f"{EXPORTS}/{job['id']}", headers=headers)
    assert view.status_code == 200
    assert view.json()["download_url"] == f"/api/v1/jobs/{job['id']}/download"
    file = await client.get(view.json()["download_url"], headers=headers)
    assert file.status_code == 200, file.text
    return view.json(), file.content


async def job_count(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)


class TestKinds:
    async def test_students_match_the_streamed_export(
        self, client: AsyncClient, factory: Factory, district: District
    ) -> None:
        headers, _ = await staff_of(factory, district.school)
        job, content = await run_export(
            client, headers, {"kind": "students", "format": "csv", "q": "a", "sort": "-last_name"}
        )
        streamed = await client.get(
            "/api/v1/export/students/csv?q=a&sort=-last_name", headers=headers
        )
        assert csv_rows(content) == csv_rows(streamed.content)
        assert [r["last_name"] for r in csv_rows(content)] == ["Warrior", "Gagarin"]
        assert job["result"] == {"kind": "students", "format": "csv", "rows": 2}
        assert job["progress"] == 100
        assert job["file_name"].startswith("students-") and job["file_name"].endswith(".csv")
        assert job["media_type"] == "text/csv; charset=utf-8"

    @pytest.mark.parametrize(("q", "names"), [("ARRI", ["Warrior"]), ("ga", ["Gagarin"])])
    async def test_students_searched_as_the_list_searches(
        self, client: AsyncClient, factory: Factory, district: District, q: str, names: list[str]
    ) -> None:
        headers, _ = await staff_of(factory, district.school)
        job, content = await run_export(
            client, headers, {"kind": "students", "format": "xlsx", "q": q}
        )
        listed = await client.get(f"/api/v1/students?q={q}", headers=headers)
        assert [r["id"] for r in xlsx_rows(content)] == [s["id"] for s in listed.json()["items"]]
        assert [r["last_name"] for r in xlsx_rows(content)] == names
        assert job["result"]["rows"] == len(names)

    async def test_grades_xlsx_in_the_school_and_term(
        self, client: AsyncClient, factory: Factory, district: District
    ) -> None:
        headers, _ = await staff_of(factory, district.school)
        _, content = await run_export(client, headers, {"kind": "grades", "format": "xlsx"})
        rows = xlsx_rows(content)
        assert {
            (r["last_name"], r["term"], r["course_code"], r["assessment"], r["score"]) for r in rows
        } == {
            ("Warrior", "Fall", "MATH1", "Quiz 1", 90),
            ("Gagarin", "Fall", "MATH1", "Quiz 1", 75),
            ("Warrior", "Spring", "ART2", "Sketch", 60),
        }
        assert {r["first_name"] for r in rows} == {"Xena", "'=Yuri"}  # neutralised
        assert "Well done, really" in {r["comment"] for r in rows}
        _, content = await run_export(
            client, headers, {"kind": "grades", "format": "xlsx", "term_id": district.term2.id}
        )
        assert [(r["student_id"], r["score"]) for r in xlsx_rows(content)] == [(district.x.id, 60)]

    async def test_attendance_by_dates_and_status(
        self, client: AsyncClient, factory: Factory, district: District
    ) -> None:
        headers, _ = await staff_of(factory, district.school)
        _, content = await run_export(
            client,
            headers,
            {
                "kind": "attendance",
                "format": "csv",
                "date_from": "2026-09-02",
                "date_to": "2026-09-03",
            },
        )
        assert [(r["date"], r["student_number"], r["status"]) for r in csv_rows(content)] == [
            ("2026-09-02", district.x.student_number, "absent"),
            ("2026-09-03", district.y.student_number, "late"),
        ]
        _, content = await run_export(
            client, headers, {"kind": "attendance", "format": "xlsx", "status": "present"}
        )
        rows = xlsx_rows(content)
        assert [(r["date"], r["student_id"], r["course_code"]) for r in rows] == [
            ("2026-09-01", district.x.id, "MATH1")
        ]

    async def test_enrollments_by_term_and_status(
        self, client: AsyncClient, factory: Factory, district: District
    ) -> None:
        headers, _ = await staff_of(factory, district.school)
        body = {"kind": "enrollments", "format": "xlsx", "term_id": district.term1.id}
        _, content = await run_export(client, headers, body)
        assert {(r["student_id"], r["section_id"], r["status"]) for r in xlsx_rows(content)} == {
            (district.x.id, district.section1.id, "enrolled"),
            (district.y.id, district.section1.id, "dropped"),
        }
        _, content = await run_export(client, headers, {**body, "status": "dropped"})
        assert [r["student_id"] for r in xlsx_rows(content)] == [district.y.id]

    async def test_an_admin_of_every_school_exports_every_school(
        self, client: AsyncClient, factory: Factory, district: District
    ) -> None:
        admin = factory.headers(await factory.user("admin", None))
        _, content = await run_export(client, admin, {"kind": "enrollments", "format": "csv"})
        students = {int(r["student_id"]) for r in csv_rows(content)}
        assert students == {district.x.id, district.y.id, district.stranger.id}

    async def test_the_other_school_sees_only_its_own(
        self, client: AsyncClient, factory: Factory, district: District
    ) -> None:
        headers, _ = await staff_of(factory, district.other)
        for kind in ("students", "grades", "attendance", "enrollments"):
            _, content = await run_export(client, headers, {"kind": kind, "format": "csv"})
            rows = csv_rows(content)
            ids = {r["id"] if kind == "students" else r["student_id"] for r in rows}
            assert ids == {str(district.stranger.id)}, kind


class TestOwnership:
    async def test_status_and_file_are_the_owners_only(
        self, client: AsyncClient, factory: Factory, district: District
    ) -> None:
        owner, _ = await staff_of(factory, district.school)
        colleague, _ = await staff_of(factory, district.school)
        job, _ = await run_export(client, owner, {"kind": "students", "format": "xlsx"})
        for url in (f"{EXPORTS}/{job['id']}", job["download_url"], f"/api/v1/jobs/{job['id']}"):
            r = await client.get(url, headers=colleague)
            assert r.status_code == 404, (url, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"
        mine = await client.get(EXPORTS, headers=owner)
        assert [j["id"] for j in mine.json()["items"]] == [job["id"]]
        assert (await client.get(EXPORTS, headers=colleague)).json()["items"] == []

    async def test_only_export_jobs_are_exports(
        self, client: AsyncClient, db: Database, factory: Factory, district: District
    ) -> None:
        headers, user = await staff_of(factory, district.school)
        async with db.sessionmaker() as session:
            claims = AccessClaims(user.id, user.role, user.school_id, None)
            other = await jobs.submit(session, claims, "test.echo", {"text": "x"})
            await session.commit()
            await run_after_commit(session)
        await wait_for_job(client, headers, other["id"])
        assert (await client.get(f"{EXPORTS}/{other['id']}", headers=headers)).status_code == 404
        assert (await client.get(EXPORTS, headers=headers)).json()["items"] == []

    async def test_status_has_an_etag(
        self, client: AsyncClient, factory: Factory, district: District
    ) -> None:
        headers, _ = await staff_of(factory, district.school)
        job, _ = await run_export(client, headers, {"kind": "grades", "format": "csv"})
        r = await client.get(f"{EXPORTS}/{job['id']}", headers=headers)
        assert r.headers["cache-control"] == "private, no-cache"
        again = await client.get(
            f"{EXPORTS}/{job['id']}", headers={**headers, "If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304

    @pytest.mark.parametrize("role", ["teacher", "student", "guardian"])
    async def test_only_staff_and_admins_may_export(
        self, client: AsyncClient, db: Database, factory: Factory, district: District, role: str
    ) -> None:
        headers, _ = await factory.login_as(role, district.school)
        r = await client.post(EXPORTS, headers=headers, json={"kind": "grades", "format": "csv"})
        assert r.status_code == 403
        assert await job_count(db) == 0


class TestValidation:
    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "timetable", "format": "csv"},
            {"kind": "students", "format": "pdf"},
            {"kind": "students"},
            {"format": "csv"},
            {"kind": "students", "format": "csv", "colour": "red"},
            {"kind": "students", "format": "csv", "term_id": 1},
            {"kind": "students", "format": "csv", "status": "expelled"},
            {"kind": "students", "format": "csv", "grade_level": 14},
            {"kind": "students", "format": "csv", "sort": "email"},
            {"kind": "students", "format": "csv", "q": "a\x00b"},
            {"kind": "grades", "format": "xlsx", "term_id": 0},
            {"kind": "grades", "format": "xlsx", "date_from": "2026-01-01"},
            {
                "kind": "attendance",
                "format": "csv",
                "date_from": "2026-09-05",
                "date_to": "2026-09-01",
            },
            {"kind": "attendance", "format": "csv", "date_from": "yesterday"},
            {"kind": "attendance", "format": "csv", "status": "asleep"},
            {"kind": "enrollments", "format": "csv", "status": "maybe"},
            {"kind": "enrollments", "format": "csv", "student_id": "x"},
        ],
    )
    async def test_bad_bodies_are_422_and_queue_nothing(
        self, client: AsyncClient, db: Database, factory: Factory, body: dict[str, Any]
    ) -> None:
        headers, _ = await staff_of(factory, await factory.school())
        r = await client.post(EXPORTS, headers=headers, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"]
        assert await job_count(db) == 0

    async def test_a_job_with_bad_parameters_fails_with_a_message(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        """Parameters that never passed the endpoint (a job row written by hand or by an older
        version) fail the job with a readable error instead of crashing."""
        headers, user = await staff_of(factory, await factory.school())
        async with db.sessionmaker() as session:
            claims = AccessClaims(user.id, user.role, user.school_id, None)
            job = await jobs.submit(session, claims, "export", {"kind": "students"})
            await session.commit()
            await run_after_commit(session)
        done = await wait_for_job(client, headers, job["id"])
        assert done["status"] == "failed"
        assert "parameters are not valid" in done["error"]
        assert done["download_url"] is None
