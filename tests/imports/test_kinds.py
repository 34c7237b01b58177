"""Guardians, enrollments, grades and attendance imports: each upserts by its natural key,
follows the rules of the equivalent single and bulk writes, and is idempotent."""

from datetime import date, timedelta

import httpx
from sqlalchemy import select

from homeroom.models import (
    AttendanceRecord,
    AttendanceSession,
    Enrollment,
    Grade,
    Guardian,
    StudentGuardian,
)
from tests.factories import Factory
from tests.imports.conftest import World, counts, csv_text, upload

DAY = date(2026, 9, 14)


class TestGuardians:
    async def test_create_link_and_reimport(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        s1, s2, _ = world.students
        data = csv_text(
            "Parent Email,Parent First Name,Parent Last Name,Phone,Student ID,Relationship",
            f"mum@example.com,Mary,Smith,+1 555 0100,{s1.student_number},mother",
            f"mum@example.com,Mary,Smith,,{s2.student_number},mother",
            "dad@example.com,John,Smith,,,",
        )
        r = await upload(client, "guardians", data, world.staff)
        assert r.status_code == 200, r.text
        assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (3, 0, 0)
        async with factory.db.sessionmaker() as session:
            mum = await session.scalar(select(Guardian).where(Guardian.email == "mum@example.com"))
            assert mum is not None
            links = (
                await session.scalars(
                    select(StudentGuardian).where(StudentGuardian.guardian_id == mum.id)
                )
            ).all()
        assert (mum.first_name, mum.phone, mum.school_id) == (
            "Mary",
            "+1 555 0100",
            world.school.id,
        )
        assert {(link.student_id, link.relationship) for link in links} == {
            (s1.id, "mother"),
            (s2.id, "mother"),
        }
        before = await counts(factory)
        again = await upload(client, "guardians", data, world.staff)
        assert again.json()["unchanged"] == 3
        assert await counts(factory) == {**before, "audit": before["audit"] + 1}

        changed = csv_text(
            "email,first_name,last_name,student_number,relationship",
            f"dad@example.com,Johnny,Smith,{s1.student_number},father",
        )
        r = await upload(client, "guardians", changed, world.staff)
        assert (r.json()["created"], r.json()["updated"]) == (1, 0)  # a new link
        async with factory.db.sessionmaker() as session:
            dad = await session.scalar(select(Guardian).where(Guardian.email == "dad@example.com"))
        assert dad is not None and dad.first_name == "Johnny"

    async def test_rows_of_one_guardian_must_agree(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        s1, s2, _ = world.students
        data = csv_text(
            "email,first_name,last_name,student_number",
            f"x@example.com,Ann,Lee,{s1.student_number}",
            f"x@example.com,Anne,Lee,{s2.student_number}",
            "y@example.com,Bo,Lee,NOPE",
        )
        before = await counts(factory)
        r = await upload(client, "guardians", data, world.staff)
        assert r.status_code == 422
        assert [(e["row"], e["column"], e["message"]) for e in r.json()["errors"]] == [
            (3, "first_name", "row 2 gives this guardian another first_name"),
            (4, "student_number", "no student with this number in the school"),
        ]
        assert await counts(factory) == before

    async def test_guardian_of_another_school(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        elsewhere = await factory.school()
        taken = await factory.guardian(elsewhere)
        data = csv_text("email,first_name,last_name", f"{taken.email},A,B")
        r = await upload(client, "guardians", data, world.staff)
        assert r.status_code == 422
        assert r.json()["errors"][0]["message"] == (
            "this email belongs to a guardian of another school"
        )


class TestEnrollments:
    async def test_enroll_by_course_and_section(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        newcomer = await factory.student(world.school, student_number="S0100")
        data = csv_text(
            "Student No,Course,Section,Term",
            "S0100,math-101,1,Fall 2026",  # case and Excel's dropped leading zero
            "S0100,BIO-201,,",  # the course's single section
            "S0001,MATH-101,01,Fall 2026",  # already enrolled
        )
        r = await upload(client, "enrollments", data, world.staff)
        assert r.status_code == 200, r.text
        assert (r.json()["created"], r.json()["unchanged"]) == (2, 1)
        async with factory.db.sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(Enrollment).where(Enrollment.student_id == newcomer.id)
                )
            ).all()
        assert {(e.section_id, e.status) for e in rows} == {
            (world.math1.id, "enrolled"),
            (world.bio.id, "enrolled"),
        }
        again = await upload(client, "enrollments", data, world.staff)
        assert again.json()["unchanged"] == 3

    async def test_status_update_and_section_id(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = csv_text("student_number,section_id,status", f"S0002,{world.math1.id},dropped")
        r = await upload(client, "enrollments", data, world.staff)
        assert r.json()["updated"] == 1
        async with factory.db.sessionmaker() as session:
            status = await session.scalar(
                select(Enrollment.status).where(
                    Enrollment.student_id == world.students[1].id,
                    Enrollment.section_id == world.math1.id,
                )
            )
        assert status == "dropped"

    async def test_ambiguous_section_and_full_section(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        extra = [await factory.student(world.school, student_number=f"F{i}") for i in range(3)]
        data = csv_text(
            "student_number,course_code,section",
            "F0,MATH-101,",  # two sections
            "F0,MATH-101,01",
            "F1,MATH-101,01",
            "F2,MATH-101,01",  # math1 has 5 seats, 3 taken: the third newcomer is one too many
            "F2,ART-1,01",
            "F2,MATH-101,07",
        )
        assert len(extra) == 3
        r = await upload(client, "enrollments", data, world.staff)
        assert r.status_code == 422
        errors = {e["row"]: (e["column"], e["message"]) for e in r.json()["errors"]}
        assert errors == {
            2: ("section", "MATH-101 has several sections (01, 02): name one in a section column"),
            5: ("course_code", "MATH-101 section 01 (Fall 2026) is full: all 5 seats are taken"),
            6: ("course_code", "no course with this code in the school"),
            7: ("section", "MATH-101 has no such section (its sections: 01, 02)"),
        }


class TestGrades:
    async def test_by_title_and_by_id(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        s1, s2, _ = world.students
        data = csv_text(
            "Student ID,Course,Section,Assignment,Points,Comments",
            f"{s1.student_number},MATH-101,01,quiz 1,18,Good",
            f'{s2.student_number},MATH-101,01,Quiz 1,"12,5",',
        )
        r = await upload(client, "grades", data, world.teacher)
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 2
        by_id = csv_text(
            "student_number,assessment_id,score",
            f"{s1.student_number},{world.quiz.id},18",
            f"{s2.student_number},{world.quiz.id},13",
        )
        r = await upload(client, "grades", by_id, world.teacher)
        assert (r.json()["unchanged"], r.json()["updated"]) == (1, 1)
        async with factory.db.sessionmaker() as session:
            grades = {
                g.student_id: g
                for g in (
                    await session.scalars(select(Grade).where(Grade.assessment_id == world.quiz.id))
                ).all()
            }
        assert (grades[s1.id].score, grades[s1.id].comment) == (18, "Good")
        assert (grades[s2.id].score, grades[s2.id].comment) == (13, "")

    async def test_rules_of_the_gradebook(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        s1 = world.students[0]
        data = csv_text(
            "student_number,course_code,section,assessment,score",
            f"{s1.student_number},MATH-101,01,Quiz 1,21",  # above 20 points
            f"{world.outsider.student_number},MATH-101,01,Quiz 1,5",  # not the teacher's student
            f"{s1.student_number},MATH-101,01,Final,5",  # no such assessment
            f"{s1.student_number},MATH-101,02,Quiz 1,5",  # not the teacher's section
            f"{s1.student_number},MATH-101,01,Unit test,50",
            f"{s1.student_number},MATH-101,01,Unit test,60",  # twice
        )
        before = await counts(factory)
        r = await upload(client, "grades", data, world.teacher)
        assert r.status_code == 422
        errors = {e["row"]: e["message"] for e in r.json()["errors"]}
        assert errors == {
            2: "score must be between 0 and the assessment's 20 points",
            # The same answer whether or not the number exists elsewhere in the school.
            3: "no student with this number in your sections",
            4: "MATH-101 section 01 (Fall 2026) has no assessment with this title",
            5: "you do not teach MATH-101 section 02 (Fall 2026)",
            7: "this student's score for this assessment is already on row 6",
        }
        assert await counts(factory) == before

    async def test_staff_may_not_import_grades(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        data = csv_text("student_number,assessment_id,score", f"S0001,{world.quiz.id},1")
        r = await upload(client, "grades", data, world.staff)
        assert r.status_code == 403


class TestAttendance:
    async def test_marks_upsert_by_student_section_and_day(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        s1, s2, s3 = world.students
        data = csv_text(
            "Student ID,Course,Section,Date,Attendance,Notes",
            f"{s1.student_number},MATH-101,01,{DAY.isoformat()},P,",
            f"{s2.student_number},MATH-101,01,14 Sep 2026,A,sick",
            f"{s3.student_number},BIO-201,01,{DAY.isoformat()},tardy,",
        )
        r = await upload(client, "attendance", data, world.teacher)
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 3
        again = await upload(client, "attendance", data, world.teacher)
        assert again.json()["unchanged"] == 3
        fix = csv_text(
            "student_number,course_code,section,date,status",
            f"{s2.student_number},MATH-101,01,{DAY.isoformat()},excused",
        )
        r = await upload(client, "attendance", fix, world.teacher)
        assert r.json()["updated"] == 1
        async with factory.db.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(
                        AttendanceSession.section_id,
                        AttendanceRecord.student_id,
                        AttendanceRecord.status,
                        AttendanceRecord.note,
                    ).join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
                )
            ).all()
        assert set(rows) == {
            (world.math1.id, s1.id, "present", ""),
            (world.math1.id, s2.id, "excused", "sick"),
            (world.bio.id, s3.id, "late", ""),
        }

    async def test_scope_and_rules(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        s1 = world.students[0]
        bio_only = await factory.student(world.school, student_number="B1")
        await factory.enroll(bio_only, world.bio)
        future = (date.today() + timedelta(days=3)).isoformat()
        data = csv_text(
            "student_number,course_code,section,date,status",
            f"B1,MATH-101,01,{DAY.isoformat()},present",
            f"{s1.student_number},MATH-101,02,{DAY.isoformat()},present",  # other teacher's
            f"{world.outsider.student_number},MATH-101,01,{DAY.isoformat()},present",
            f"{s1.student_number},MATH-101,01,{future},present",
            f"{s1.student_number},MATH-101,01,{DAY.isoformat()},here",
            f"{s1.student_number},BIO-201,01,{DAY.isoformat()},present",
            f"{s1.student_number},BIO-201,01,{DAY.isoformat()},absent",
        )
        before = await counts(factory)
        r = await upload(client, "attendance", data, world.teacher)
        assert r.status_code == 422
        errors = {e["row"]: (e["column"], e["message"]) for e in r.json()["errors"]}
        assert errors == {
            2: ("student_number", "the student is not enrolled in MATH-101 section 01 (Fall 2026)"),
            3: ("course_code", "you do not teach MATH-101 section 02 (Fall 2026)"),
            4: ("student_number", "no student with this number in your sections"),
            5: ("date", "attendance cannot be taken for a date in the future"),
            6: ("status", "must be one of: absent, excused, late, present"),
            8: ("date", "this student's mark for this section and day is already on row 7"),
        }
        assert await counts(factory) == before
        # Staff take any section's attendance.
        ok = csv_text(
            "student_number,section_id,date,status",
            f"{world.outsider.student_number},{world.math2.id},{DAY.isoformat()},present",
        )
        assert (await upload(client, "attendance", ok, world.staff)).status_code == 200
