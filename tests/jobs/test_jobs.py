"""The job runtime in-process: submission after commit, status and progress, owner-only
downloads, failures, expiry, recovery of abandoned jobs, notifications."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select, update

from homeroom.jobs import service as jobs
from homeroom.kit.db import Database, run_after_commit
from homeroom.kit.security import AccessClaims
from homeroom.models import Job, JobFile, Notification, User, utcnow
from tests.factories import Factory
from tests.fixture_types import CountQueries
from tests.jobs import handlers, wait_for_job

JOBS = "/api/v1/jobs"


def _claims(user: User) -> AccessClaims:
    return AccessClaims(user.id, user.role, user.school_id, None)


async def _submit(db: Database, user: User, kind: str, params: dict[str, Any]) -> int:
    """What an endpoint does: submit in the request's transaction, send after commit."""
    async with db.sessionmaker() as session:
        job = await jobs.submit(session, _claims(user), kind, params)
        await session.commit()
        await run_after_commit(session)
    assert job["status"] == "queued"
    return int(job["id"])


async def _staff(factory: Factory) -> tuple[dict[str, str], User]:
    school = await factory.school()
    user = await factory.user("staff", school)
    return factory.headers(user), user


async def _count(db: Database, model: Any, **where: Any) -> int:
    async with db.sessionmaker() as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(await session.scalar(stmt) or 0)


class TestLifecycle:
    async def test_a_job_runs_and_its_owner_downloads_the_file(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "test.echo", {"text": "héllo,", "repeat": 3})
        job = await wait_for_job(client, headers, job_id)
        assert job["status"] == "succeeded", job
        assert job["progress"] == 100
        assert job["result"] == {"chars": 18, "owner": user.id, "role": "staff"}
        assert job["file_name"] == "echo.txt"
        assert job["file_size"] == len(("héllo," * 3).encode())
        assert job["download_url"] == f"{JOBS}/{job_id}/download"
        assert job["started_at"] and job["finished_at"] and job["expires_at"]

        r = await client.get(job["download_url"], headers=headers)
        assert r.status_code == 200
        assert r.text == "héllo,héllo,héllo,"
        assert r.headers["content-type"].startswith("text/plain")
        assert r.headers["content-disposition"].startswith('attachment; filename="echo.txt"')
        assert r.headers["cache-control"] == "private, no-cache"
        again = await client.get(
            job["download_url"], headers=headers | {"If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304

    async def test_a_file_bigger_than_one_chunk_comes_back_whole(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "test.echo", {"text": "0123456789", "repeat": 250_000})
        job = await wait_for_job(client, headers, job_id)
        assert job["file_size"] == 2_500_000
        assert await _count(db, JobFile, job_id=job_id) == 3  # 1 MiB chunks
        r = await client.get(job["download_url"], headers=headers)
        assert r.content == b"0123456789" * 250_000

    async def test_unicode_file_names_are_safe_in_the_header(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "test.echo", {"text": "x", "name": 'Élèves "8e"\r\n.txt'})
        job = await wait_for_job(client, headers, job_id)
        r = await client.get(job["download_url"], headers=headers)
        disposition = r.headers["content-disposition"]
        assert "\r" not in disposition and "\n" not in disposition
        assert "filename*=UTF-8''%C3%89l%C3%A8ves%20%228e%22%0D%0A.txt" in disposition

    async def test_running_jobs_show_progress_and_cannot_be_downloaded_yet(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        handlers.GATE.clear()
        job_id = await _submit(db, user, "test.gate", {})
        for _ in range(200):
            job = (await client.get(f"{JOBS}/{job_id}", headers=headers)).json()
            if job["progress"] == 40:
                break
            import asyncio

            await asyncio.sleep(0.02)
        assert job["status"] == "running"
        assert job["progress"] == 40
        assert job["download_url"] is None
        r = await client.get(f"{JOBS}/{job_id}/download", headers=headers)
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"
        handlers.GATE.set()
        assert (await wait_for_job(client, headers, job_id))["status"] == "succeeded"

    async def test_the_owner_lists_their_jobs_newest_first(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        first = await _submit(db, user, "test.echo", {"text": "a"})
        second = await _submit(db, user, "test.refuse", {})
        await wait_for_job(client, headers, first)
        await wait_for_job(client, headers, second)
        other_headers, other = await _staff(factory)
        await wait_for_job(
            client, other_headers, await _submit(db, other, "test.echo", {"text": "b"})
        )
        r = await client.get(JOBS, headers=headers)
        body = r.json()
        assert [j["id"] for j in body["items"]] == [second, first]
        assert body["total"] == 2
        r = await client.get(JOBS, headers=headers, params={"status": "failed"})
        assert [j["id"] for j in r.json()["items"]] == [second]
        r = await client.get(JOBS, headers=headers, params={"limit": 1})
        assert r.json()["total"] == 2 and len(r.json()["items"]) == 1
        r = await client.get(JOBS, headers=headers, params={"status": "lost"})
        assert r.status_code == 422


class TestOwnership:
    async def test_someone_else_gets_404_for_the_job_and_its_file(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "test.echo", {"text": "private"})
        await wait_for_job(client, headers, job_id)
        school = await factory.school()
        for role in ("admin", "staff", "teacher"):
            other_headers, _ = await factory.login_as(role, school)
            r = await client.get(f"{JOBS}/{job_id}", headers=other_headers)
            assert r.status_code == 404
            r = await client.get(f"{JOBS}/{job_id}/download", headers=other_headers)
            assert r.status_code == 404
            assert "private" not in r.text

    async def test_anonymous_gets_401(self, client: AsyncClient) -> None:
        assert (await client.get(f"{JOBS}/1")).status_code == 401
        assert (await client.get(f"{JOBS}/1/download")).status_code == 401


class TestFailures:
    async def test_a_crashing_job_fails_without_leaking_its_internals(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "test.crash", {})
        job = await wait_for_job(client, headers, job_id)
        assert job["status"] == "failed"
        assert "RuntimeError" in job["error"]
        assert "secret internals" not in job["error"]
        assert job["download_url"] is None
        r = await client.get(f"{JOBS}/{job_id}/download", headers=headers)
        assert r.status_code == 404

    async def test_a_refused_job_shows_its_message(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "test.refuse", {})
        job = await wait_for_job(client, headers, job_id)
        assert job["status"] == "failed"
        assert job["error"] == "section 12 has no students"

    async def test_an_unknown_kind_fails(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "no.such.kind", {})
        job = await wait_for_job(client, headers, job_id)
        assert job["status"] == "failed"
        assert "no.such.kind" in job["error"]

    async def test_expired_files_are_gone(
        self, client: AsyncClient, app: FastAPI, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "test.echo", {"text": "old"})
        await wait_for_job(client, headers, job_id)
        async with db.sessionmaker() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        job = (await client.get(f"{JOBS}/{job_id}", headers=headers)).json()
        assert job["download_url"] is None
        r = await client.get(f"{JOBS}/{job_id}/download", headers=headers)
        assert r.status_code == 410
        # The next sweep deletes the expired bytes.
        await app.state.jobs.sweep()
        assert await _count(db, JobFile, job_id=job_id) == 0


class TestAfterCommit:
    async def test_a_rolled_back_submission_leaves_no_job_and_sends_nothing(
        self, db: Database, factory: Factory
    ) -> None:
        _, user = await _staff(factory)
        sent: list[int] = []

        async def spy(job_id: int) -> None:
            sent.append(job_id)

        original = jobs.send_through(db.sessionmaker, spy)
        try:
            async with db.sessionmaker() as session:
                await jobs.submit(session, _claims(user), "test.echo", {"text": "x"})
                await session.rollback()
            assert sent == []
            assert await _count(db, Job) == 0
            async with db.sessionmaker() as session:
                job = await jobs.submit(session, _claims(user), "test.echo", {"text": "x"})
                assert sent == []  # not before the commit
                await session.commit()
                await run_after_commit(session)
            assert sent == [job["id"]]
        finally:
            jobs.send_through(db.sessionmaker, original)


class TestRecovery:
    async def _abandoned(self, db: Database, user: User, attempts: int) -> int:
        async with db.sessionmaker() as session:
            job = Job(
                owner_id=user.id,
                school_id=user.school_id,
                kind="test.echo",
                role=user.role,
                params={"text": "again"},
                state="running",
                attempts=attempts,
                started_at=utcnow() - timedelta(hours=1),
                heartbeat_at=utcnow() - timedelta(hours=1),
            )
            session.add(job)
            await session.commit()
            return job.id

    async def test_an_abandoned_job_is_queued_again_and_runs(
        self, client: AsyncClient, app: FastAPI, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await self._abandoned(db, user, attempts=1)
        assert await app.state.jobs.sweep() >= 1
        job = await wait_for_job(client, headers, job_id)
        assert job["status"] == "succeeded"
        async with db.sessionmaker() as session:
            job_row = await session.get(Job, job_id)
        assert job_row is not None and job_row.attempts == 2

    async def test_a_job_abandoned_too_often_fails(
        self, client: AsyncClient, app: FastAPI, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await self._abandoned(db, user, attempts=3)
        await app.state.jobs.sweep()
        job = await wait_for_job(client, headers, job_id)
        assert job["status"] == "failed"
        assert "interrupted" in job["error"]

    async def test_a_job_runs_once_however_often_it_is_sent(
        self, client: AsyncClient, app: FastAPI, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        job_id = await _submit(db, user, "test.echo", {"text": "once"})
        for _ in range(3):
            await app.state.jobs.send(job_id)
        await wait_for_job(client, headers, job_id)
        async with db.sessionmaker() as session:
            job_row = await session.get(Job, job_id)
        assert job_row is not None and job_row.attempts == 1
        assert await _count(db, Notification, job_id=job_id) == 1


class TestNotifications:
    URL = "/api/v1/notifications"

    async def test_finished_and_failed_jobs_notify_their_owner(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        ok = await _submit(db, user, "test.echo", {"text": "x", "name": "list.csv"})
        bad = await _submit(db, user, "test.refuse", {})
        await wait_for_job(client, headers, ok)
        await wait_for_job(client, headers, bad)
        body = (await client.get(self.URL, headers=headers)).json()
        assert body["total"] == 2 and body["unread"] == 2
        by_job = {n["job_id"]: n for n in body["items"]}
        assert by_job[ok]["kind"] == "job.succeeded"
        assert "list.csv" in by_job[ok]["body"]
        assert by_job[bad]["kind"] == "job.failed"
        assert by_job[bad]["body"] == "section 12 has no students"
        assert all(n["read_at"] is None for n in body["items"])

    async def test_unread_come_first_and_mark_read(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        headers, user = await _staff(factory)
        ids = []
        for i in range(3):
            async with db.sessionmaker() as session:
                note = Notification(user_id=user.id, kind="info", title=f"n{i}", body="")
                session.add(note)
                await session.commit()
                ids.append(note.id)
        r = await client.post(f"{self.URL}/{ids[2]}/read", headers=headers)
        assert r.status_code == 200 and r.json()["read_at"] is not None
        body = (await client.get(self.URL, headers=headers)).json()
        assert [n["id"] for n in body["items"]] == [ids[1], ids[0], ids[2]]
        assert body["unread"] == 2
        only = (await client.get(self.URL, headers=headers, params={"unread": "true"})).json()
        assert [n["id"] for n in only["items"]] == [ids[1], ids[0]]
        assert only["total"] == 2
        r = await client.post(f"{self.URL}/read-all", headers=headers)
        assert r.json() == {"updated": 2}
        assert (await client.get(self.URL, headers=headers)).json()["unread"] == 0

    async def test_nobody_reads_or_marks_someone_elses(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        _, user = await _staff(factory)
        async with db.sessionmaker() as session:
            note = Notification(user_id=user.id, kind="info", title="mine", body="")
            session.add(note)
            await session.commit()
        other_headers, _ = await _staff(factory)
        r = await client.post(f"{self.URL}/{note.id}/read", headers=other_headers)
        assert r.status_code == 404
        body = (await client.get(self.URL, headers=other_headers)).json()
        assert body["items"] == [] and body["total"] == 0
        async with db.sessionmaker() as session:
            unread = await session.get(Notification, note.id)
        assert unread is not None and unread.read_at is None

    @pytest.mark.parametrize("size", [1, 30])
    async def test_constant_statements(
        self,
        client: AsyncClient,
        db: Database,
        factory: Factory,
        count_queries: CountQueries,
        size: int,
    ) -> None:
        headers, user = await _staff(factory)
        async with db.sessionmaker() as session:
            for i in range(size):
                session.add(Notification(user_id=user.id, kind="info", title=f"n{i}", body=""))
            await session.commit()
        with count_queries() as statements:
            r = await client.get(self.URL, headers=headers)
        assert r.status_code == 200 and len(r.json()["items"]) == size
        assert len(statements) == 2
