"""The cache-tag builders: the names they make, and the same names the migrations' triggers
write in SQL (a write through plain SQL, no application code, bumps exactly the tags the
builders name)."""

import datetime as dt

import pytest
from sqlalchemy import text

from homeroom.kit import tags as tag
from homeroom.kit.db import Database
from homeroom.kit.security import AccessClaims
from tests.factories import Factory


class TestBuilders:
    def test_records(self) -> None:
        assert tag.student(7) == "student:7"
        assert tag.section(12) == "section:12"
        assert tag.section_attendance(12) == "section:12:attendance"
        assert tag.course(3) == "course:3"
        assert tag.teacher(4) == "teacher:4"
        assert tag.guardian(5) == "guardian:5"

    def test_school_topics_and_all_schools(self) -> None:
        assert tag.school(3, "people") == "school:3:people"
        assert tag.school(3, "catalog") == "school:3:catalog"
        assert tag.school(None, "grading") == "school:all:grading"
        assert tag.school(None, "users") == "school:all:users"

    def test_a_write_bumps_its_school_and_all_schools(self) -> None:
        assert tag.school_writes(3, "catalog", "users") == [
            "school:3:catalog",
            "school:all:catalog",
            "school:3:users",
            "school:all:users",
        ]

    def test_activity_shards(self) -> None:
        assert tag.school_activity(3, 5) == "school:3:activity:5"
        assert tag.school_activity(None, 0) == "school:all:activity:0"
        assert tag.school_activities(3) == [f"school:3:activity:{n}" for n in range(8)]
        assert [tag.activity_shard(i) for i in (0, 7, 8, 13)] == [0, 7, 0, 5]
        for shard in (-1, tag.ACTIVITY_SHARDS):
            with pytest.raises(ValueError, match="activity shard"):
                tag.school_activity(3, shard)

    def test_scope_of_teachers_and_guardians_only(self) -> None:
        def scope(role: str, profile_id: int | None) -> tuple[str, ...]:
            return tag.scope(AccessClaims(1, role, 3, profile_id))

        assert scope("teacher", 4) == ("teacher:4",)
        assert scope("guardian", 5) == ("guardian:5",)
        assert scope("student", 7) == ()
        assert scope("staff", None) == ()
        assert scope("teacher", None) == ()


async def _versions(db: Database) -> dict[str, int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT tag, version FROM cache_versions"))
        return {row.tag: row.version for row in rows}


async def _bumped(db: Database, before: dict[str, int]) -> set[str]:
    """The tags whose version a write changed or created since `before`."""
    after = await _versions(db)
    return {t for t, v in after.items() if before.get(t) != v}


async def _seed_versions(db: Database, names: list[tag.Tag]) -> dict[str, int]:
    """Gives each tag version 1, so a bump shows as a change of an existing row."""
    async with db.engine.begin() as conn:
        for name in names:
            await conn.execute(
                text(
                    "INSERT INTO cache_versions (tag, version) VALUES (:tag, 1) "
                    "ON CONFLICT (tag) DO UPDATE SET version = 1"
                ),
                {"tag": name},
            )
    return await _versions(db)


class TestTriggersWriteTheBuildersNames:
    async def test_a_students_write_bumps_its_schools_people(
        self, db: Database, factory: Factory
    ) -> None:
        school = await factory.school()
        student = await factory.student(school)
        people = [tag.school(school.id, "people"), tag.school(None, "people")]
        before = await _seed_versions(db, people)
        async with db.engine.begin() as conn:
            await conn.execute(
                text("UPDATE students SET first_name = 'Renamed' WHERE id = :id"),
                {"id": student.id},
            )
        assert await _bumped(db, before) == set(people)

    async def test_an_audit_row_bumps_its_activity_shard(
        self, db: Database, factory: Factory
    ) -> None:
        school = await factory.school()
        shards = [*tag.school_activities(school.id), *tag.school_activities(None)]
        before = await _seed_versions(db, shards)
        async with db.engine.begin() as conn:
            audit_id = (
                await conn.execute(
                    text(
                        "INSERT INTO audit_logs (school_id, action, entity, details, created_at) "
                        "VALUES (:school, 'create', 'student', '{}', :at) RETURNING id"
                    ),
                    {"school": school.id, "at": dt.datetime(2026, 10, 5, tzinfo=dt.UTC)},
                )
            ).scalar_one()
        shard = tag.activity_shard(audit_id)
        assert await _bumped(db, before) == {
            tag.school_activity(school.id, shard),
            tag.school_activity(None, shard),
        }
