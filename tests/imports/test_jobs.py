"""Large imports: checked in the request, then written by a background job that checks again
in its own transaction, all or nothing."""

import httpx
import pytest
from sqlalchemy import func, select

from homeroom.config import Settings
from homeroom.imports import repository as import_repository
from homeroom.imports import rows
from homeroom.imports import service as import_service
from homeroom.imports.xlsx import Limits
from homeroom.jobs import service as jobs
from homeroom.jobs.runner import run_job
from homeroom.kit.db import Database
from homeroom.kit.security import AccessClaims
from homeroom.models import AuditLog, Enrollment, Job, JobFile, Student
from tests.factories import Factory
from tests.imports.conftest import World, counts, csv_text, upload
from tests.jobs import wait_for_job

HEADER = "student_number,first_name,last_name,email,date_of_birth,grade_level"


def students(n: int) -> bytes:
    return csv_text(
        HEADER, *(f"J{i:04d},First{i},Last,j{i}@example.edu,2010-01-01,9" for i in range(n))
    )


async def upload_chunks(db: Database, job_id: int) -> int:
    async with db.sessionmaker() as session:
        stmt = select(func.count()).select_from(JobFile).where(JobFile.job_id == job_id)
        return int(await session.scalar(stmt) or 0)


@pytest.fixture
def small_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_service.limits, "job_rows", 5)


@pytest.mark.usefixtures("small_jobs")
class TestLargeImports:
    async def test_runs_as_a_job(
        self, client: httpx.AsyncClient, factory: Factory, db: Database, world: World
    ) -> None:
        r = await upload(client, "students", students(12), world.staff, file_name="big.csv")
        assert r.status_code == 202, r.text
        job = r.json()
        assert (job["kind"], job["status"]) == ("import", "queued")
        assert job["params"]["rows"] == 12 and job["params"]["file_name"] == "big.csv"
        done = await wait_for_job(client, world.staff, job["id"])
        assert done["status"] == "succeeded", done
        assert done["result"] == {
            "kind": "students",
            "rows": 12,
            "created": 12,
            "updated": 0,
            "unchanged": 0,
        }
        async with db.sessionmaker() as session:
            made = await session.scalar(
                select(func.count()).select_from(Student).where(Student.student_number.like("J%"))
            )
            log = await session.scalar(select(AuditLog).where(AuditLog.action == "import"))
        assert made == 12
        assert log is not None and log.entity_id == job["id"] and log.details["rows"] == 12
        assert await upload_chunks(db, job["id"]) == 0  # the upload is not kept

        # Idempotent: the same file again is all unchanged.
        again = await upload(client, "students", students(12), world.staff)
        done = await wait_for_job(client, world.staff, again.json()["id"])
        assert done["result"]["unchanged"] == 12

    async def test_bad_rows_are_refused_before_any_job(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = students(12).replace(b"j3@example.edu", b"not-an-email")
        before = await counts(factory)
        r = await upload(client, "students", data, world.staff)
        assert r.status_code == 422
        assert r.json()["errors"][0]["row"] == 5
        assert await counts(factory) == before

    async def test_dry_runs_never_become_jobs(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        r = await upload(client, "students", students(12), world.staff, dry_run=True)
        assert r.status_code == 200 and r.json()["created"] == 12


class TestJobChecksAgain:
    async def test_data_changed_since_the_request(
        self, factory: Factory, db: Database, settings: Settings, world: World
    ) -> None:
        """The request found the file valid; before the job ran, a section lost its seats.
        The job refuses the whole file with a message naming the row."""
        numbers = [f"E{i}" for i in range(4)]
        for number in numbers:
            await factory.student(world.school, student_number=number)
        data = csv_text(
            "student_number,course_code,section", *(f"{n},MATH-101,01" for n in numbers)
        )
        staff = await factory.user("staff", world.school)
        owner = AccessClaims(staff.id, "staff", world.school.id, None)
        async with db.sessionmaker() as session:
            job = await jobs.submit(
                session, owner, "import", {"kind": "enrollments", "school_id": world.school.id}
            )
            prepared = rows.prepare("enrollments", data, None, None, Limits(rows=100))
            await import_repository.store_upload(session, job["id"], rows.dump(prepared))
            await session.commit()  # not sent: the test runs it below
        for _ in range(2):  # math1 had 3 of 5 seats taken; now it is full
            await factory.enroll(await factory.student(world.school), world.math1)
        before = await counts(factory)

        assert await run_job(db, settings, job["id"]) == "failed"
        async with db.sessionmaker() as session:
            failed = await session.get(Job, job["id"])
            enrolled = await session.scalar(
                select(func.count())
                .select_from(Enrollment)
                .where(Enrollment.section_id == world.math1.id)
            )
        assert failed is not None and failed.error is not None
        assert failed.error.startswith("4 of 4 rows are invalid; nothing was imported. row 2")
        assert "is full: all 5 seats are taken" in failed.error
        assert enrolled == 5
        assert await counts(factory) == before
        assert await upload_chunks(db, job["id"]) == 0
