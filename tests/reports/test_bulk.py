"""POST /report-cards: a job making one PDF per student of a section or grade level, zipped."""

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, func, select

from homeroom.config import Settings
from homeroom.jobs.registry import JobContext, JobFailed
from homeroom.kit.db import Database
from homeroom.kit.security import AccessClaims
from homeroom.models import AuditLog, Enrollment, Job, Section, User
from homeroom.reports import service as report_service
from homeroom.reports.jobs import make_report_cards
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.jobs import wait_for_job
from tests.reports.conftest import World, days
from tests.reports.pdftext import pdf_text

URL = "/api/v1/report-cards"


async def jobs_count(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)


async def download(
    client: AsyncClient, headers: dict[str, str], job: dict[str, Any]
) -> zipfile.ZipFile:
    r = await client.get(job["download_url"], headers=headers)
    assert r.status_code == 200, r.text
    return zipfile.ZipFile(io.BytesIO(r.content))


class TestBulkEndToEnd:
    async def test_teacher_gets_a_zip_of_their_section(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        r = await client.post(URL, json={"section_id": world.algebra.id}, headers=world.teacher)
        assert r.status_code == 202, r.text
        queued = r.json()
        assert queued["status"] == "queued" and queued["kind"] == "report_cards"
        assert queued["params"] == {"term_id": world.current.id, "section_id": world.algebra.id}
        assert r.headers["location"] == f"/api/v1/jobs/{queued['id']}"
        job = await wait_for_job(client, world.teacher, queued["id"])
        assert job["status"] == "succeeded", job
        assert job["progress"] == 100
        assert job["result"]["students"] == 2
        assert job["file_name"] == "report-cards-Fall_Year_2-MATH-1_section_A1.zip"
        assert job["media_type"] == "application/zip"

        archive = await download(client, world.teacher, job)
        classmate = world.classmate
        names = sorted(archive.namelist())
        assert names == sorted(
            [
                "S-0042-Okafor-Zoe.pdf",
                f"{classmate.student_number}-{classmate.last_name}-{classmate.first_name}.pdf",
            ]
        )
        text = pdf_text(archive.read("S-0042-Okafor-Zoe.pdf")).splitlines()
        assert "Okafor, Zoë" in text and "87.00%" in text
        # the teacher's own section only, as their single report card shows it
        assert "BIO-1" not in text
        assert "Partial: only the sections taught by the requesting teacher are shown." in text
        single = await client.get(
            f"/api/v1/students/{world.student.id}/report-card", headers=world.teacher
        )
        assert archive.read("S-0042-Okafor-Zoe.pdf") == single.content

        # nobody else gets the job or its file
        for other in (world.other_teacher, world.staff, world.admin, world.student_login):
            assert (await client.get(f"/api/v1/jobs/{job['id']}", headers=other)).status_code == 404
            assert (await client.get(job["download_url"], headers=other)).status_code == 404

    async def test_staff_by_grade_level(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        senior = await factory.student(world.school, grade_level=12)
        await factory.enroll(senior, world.algebra)
        idle = await factory.student(world.school)  # grade 9, no sections this term
        r = await client.post(
            URL, json={"term_id": world.current.id, "grade_level": 9}, headers=world.staff
        )
        assert r.status_code == 202, r.text
        job = await wait_for_job(client, world.staff, r.json()["id"])
        assert job["status"] == "succeeded", job
        archive = await download(client, world.staff, job)
        # the grade-9 students enrolled this term: the student, the classmate, the outsider
        numbers = sorted(
            n.split("-")[0] if not n.startswith("S-") else "S-0042" for n in archive.namelist()
        )
        expected = sorted(["S-0042", world.classmate.student_number, world.outsider.student_number])
        assert numbers == expected and job["result"]["students"] == 3
        assert senior.student_number not in " ".join(archive.namelist())
        assert idle.student_number not in " ".join(archive.namelist())
        full = pdf_text(archive.read("S-0042-Okafor-Zoe.pdf")).splitlines()
        assert "BIO-1" in full and "MATH-1" in full and "Partial" not in " ".join(full)

    async def test_a_section_without_students_fails_with_a_message(
        self, client: AsyncClient, factory: Factory, world: World
    ) -> None:
        empty = await factory.section(
            await factory.course(world.current, code="EMPTY-1"), None, name="E1"
        )
        r = await client.post(URL, json={"section_id": empty.id}, headers=world.staff)
        assert r.status_code == 202
        job = await wait_for_job(client, world.staff, r.json()["id"])
        assert job["status"] == "failed"
        assert job["error"] == (
            "no students to report on: EMPTY-1 section E1 has no enrolled students in Fall Year 2"
        )
        assert job["download_url"] is None

    async def test_submission_is_audited(
        self, client: AsyncClient, db: Database, world: World
    ) -> None:
        r = await client.post(URL, json={"section_id": world.biology.id}, headers=world.admin)
        job_id = r.json()["id"]
        await wait_for_job(client, world.admin, job_id)
        async with db.sessionmaker() as session:
            log = await session.scalar(select(AuditLog).where(AuditLog.entity == "job"))
        assert log is not None and log.entity_id == job_id and log.action == "create"
        assert log.details == {
            "kind": "report_cards",
            "term_id": world.current.id,
            "section_id": world.biology.id,
        }


class TestBulkRefusals:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"term_id": 1},
            {"section_id": 1, "grade_level": 9},
            {"grade_level": 9},
            {"section_id": 0},
            {"section_id": "x"},
            {"grade_level": 14, "term_id": 1},
            {"section_id": 1, "extra": True},
        ],
    )
    async def test_malformed_bodies(
        self, body: dict[str, Any], client: AsyncClient, db: Database, world: World
    ) -> None:
        r = await client.post(URL, json=body, headers=world.staff)
        assert r.status_code == 422, (body, r.text)
        assert await jobs_count(db) == 0

    async def test_references_out_of_reach(
        self, client: AsyncClient, db: Database, factory: Factory, world: World
    ) -> None:
        foreign = await factory.section(
            await factory.course(await factory.term(await factory.school())), None
        )
        cases = [
            (world.staff, {"section_id": 999_999}, 422, "section_id"),
            (world.staff, {"section_id": foreign.id}, 422, "section_id"),
            (world.foreign_staff, {"section_id": world.algebra.id}, 422, "section_id"),
            (
                world.staff,
                {"section_id": world.algebra.id, "term_id": world.past.id},
                422,
                "term_id",
            ),
            (world.staff, {"term_id": 999_999, "grade_level": 9}, 422, "term_id"),
            (world.foreign_staff, {"term_id": world.current.id, "grade_level": 9}, 422, "term_id"),
            # a teacher: only a section they teach, never a grade level
            (world.teacher, {"section_id": world.biology.id}, 422, "section_id"),
            (world.teacher, {"term_id": world.current.id, "grade_level": 9}, 403, None),
            # students and guardians may not make bulk report cards at all
            (world.student_login, {"section_id": world.algebra.id}, 403, None),
            (world.guardian, {"section_id": world.algebra.id}, 403, None),
        ]
        for headers, body, status, field in cases:
            r = await client.post(URL, json=body, headers=headers)
            assert r.status_code == status, (body, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            if field:
                assert r.json()["errors"][0]["loc"] == ["body", field], r.json()
        assert await jobs_count(db) == 0
        assert (await client.post(URL, json={"section_id": world.algebra.id})).status_code == 401


class TestHandler:
    """The handler on its own, as the runner calls it."""

    async def run(
        self,
        db: Database,
        settings: Settings,
        tmp_path: Path,
        owner: AccessClaims,
        params: dict[str, Any],
    ) -> tuple[JobContext, dict[str, Any] | None, list[int]]:
        reported: list[int] = []

        async def report(percent: int) -> None:
            reported.append(percent)

        ctx = JobContext(db, settings, 1, "report_cards", params, owner, tmp_path, report)
        return ctx, await make_report_cards(ctx), reported

    async def staff(self, factory: Factory, world: World) -> AccessClaims:
        user: User = await factory.user("staff", world.school)
        return AccessClaims(user.id, "staff", world.school.id, None)

    async def test_writes_one_pdf_per_student_in_batches(
        self, db: Database, settings: Settings, factory: Factory, world: World, tmp_path: Path
    ) -> None:
        for _ in range(23):  # more than one batch of 20
            await factory.enroll(await factory.student(world.school), world.biology)
        owner = await self.staff(factory, world)
        ctx, result, reported = await self.run(
            db,
            settings,
            tmp_path,
            owner,
            {"term_id": world.current.id, "section_id": world.biology.id},
        )
        assert result == {"students": 24, "term_id": world.current.id, "target": "BIO-1 section B1"}
        assert reported[-1] == 100 and reported == sorted(reported)
        assert ctx.output_type == "application/zip" and ctx.output_path is not None
        with zipfile.ZipFile(ctx.output_path) as archive:
            assert len(archive.namelist()) == len(set(archive.namelist())) == 24
            for name in archive.namelist():
                pdf = archive.read(name)
                assert pdf.startswith(b"%PDF-")
                number = name.split("-")[0] if not name.startswith("S-") else "S-0042"
                assert number in pdf_text(pdf)

    async def test_a_section_deleted_after_submission(
        self, db: Database, settings: Settings, factory: Factory, world: World, tmp_path: Path
    ) -> None:
        owner = await self.staff(factory, world)
        async with db.sessionmaker() as session:
            await session.execute(delete(Enrollment).where(Enrollment.section_id == world.art.id))
            await session.execute(delete(Section).where(Section.id == world.art.id))
            await session.commit()
        with pytest.raises(JobFailed, match="the section no longer exists or is no longer visible"):
            await self.run(
                db,
                settings,
                tmp_path,
                owner,
                {"term_id": world.past.id, "section_id": world.art.id},
            )

    async def test_a_grade_level_without_students(
        self, db: Database, settings: Settings, factory: Factory, world: World, tmp_path: Path
    ) -> None:
        owner = await self.staff(factory, world)
        with pytest.raises(JobFailed, match="no students to report on: grade 4 has no enrolled"):
            await self.run(
                db, settings, tmp_path, owner, {"term_id": world.current.id, "grade_level": 4}
            )

    async def test_three_statements_per_batch(
        self,
        db: Database,
        settings: Settings,
        factory: Factory,
        world: World,
        tmp_path: Path,
        count_queries: CountQueries,
    ) -> None:
        owner = await self.staff(factory, world)
        params = {"term_id": world.current.id, "section_id": world.algebra.id}
        with count_queries() as few:
            await self.run(db, settings, tmp_path, owner, params)
        for _ in range(15):  # still one batch
            student = await factory.student(world.school)
            await factory.enroll(student, world.algebra)
        again = tmp_path / "again"
        again.mkdir()
        with count_queries() as many:
            await self.run(db, settings, again, owner, params)
        # term, section, roster, then sections, assessments, attendance for the batch
        assert len(few) == len(many) == 6


class TestBatchesMatchSingleCards:
    async def test_every_card_of_a_grade_equals_the_students_own(
        self, db: Database, factory: Factory, world: World
    ) -> None:
        """Batches of a grade's students, interleaved with another grade's, give exactly the
        report card GET /students/{id}/report-card gives each of them."""
        statuses = ("present", "absent", "late", "excused")
        quizzes = await factory.category(world.biology, "Quizzes", 20)
        quiz = await factory.assessment(world.biology, quizzes, max_points=10.0)
        for i in range(45):
            student = await factory.student(world.school, grade_level=9 if i % 3 else 10)
            enrollment = await factory.enroll(student, world.biology)
            await factory.grade(enrollment, quiz, i % 11, comment=f"quiz note {i}")
            await factory.attendance(world.biology, student, days(-5), statuses[i % 4])
        user = await factory.user("staff", world.school)
        owner = AccessClaims(user.id, "staff", world.school.id, None)
        target = await report_service.resolve_target(
            db, owner, {"term_id": world.current.id, "grade_level": 9}
        )
        assert target is not None
        roster = await report_service.roster(db, owner, target)
        assert len(roster) == 3 + 30
        for start in range(0, len(roster), 20):
            batch = roster[start : start + 20]
            cards = await report_service.report_cards(db, owner, target, batch)
            for row, card in zip(batch, cards, strict=True):
                single = await report_service.report_card(db, owner, row[0], world.current.id)
                assert card == single, row
                assert card["student"]["id"] == row[0]
