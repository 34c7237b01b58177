"""enrollments.service.student_enrollments: one student's enrollments with their course,
term and teacher, in the list's scope."""

from homeroom.enrollments import service
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from tests.factories import Factory
from tests.fixture_types import CountQueries


class TestStudentEnrollments:
    async def test_each_enrollment_with_its_course_term_and_teacher_in_scope(
        self, db: Database, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        mine = await factory.teacher(school, first_name="Marie", last_name="Curie")
        theirs = await factory.teacher(school)
        term = await factory.term(school, name="Fall")
        course = await factory.course(term, code="CHEM1", title="Chemistry")
        taught = await factory.section(course, mine, name="A")
        other = await factory.section(await factory.course(term, code="ART1"), theirs)
        no_teacher = await factory.section(await factory.course(term, code="PE1"), None)
        student = await factory.student(school)
        await factory.enroll(student, taught)
        await factory.enroll(student, other, status="dropped")
        await factory.enroll(student, no_teacher)
        staff = Principal(1, "staff", school.id, None)
        with count_queries() as statements:
            rows = await service.student_enrollments(db, staff, student.id)
        assert len(statements) == 1
        assert [(r["course_code"], r["status"]) for r in rows] == [
            ("ART1", "dropped"),
            ("CHEM1", "enrolled"),
            ("PE1", "enrolled"),
        ]
        chem = rows[1]
        assert (chem["course_title"], chem["section_name"], chem["term_name"]) == (
            "Chemistry",
            "A",
            "Fall",
        )
        assert (chem["teacher_first_name"], chem["teacher_last_name"]) == ("Marie", "Curie")
        assert rows[2]["teacher_last_name"] is None
        # A teacher sees the enrollments of their own sections, as GET /enrollments does.
        teacher = Principal(2, "teacher", school.id, mine.id)
        assert [
            r["course_code"] for r in await service.student_enrollments(db, teacher, student.id)
        ] == ["CHEM1"]
        # Another school's office, another student: nothing.
        elsewhere = Principal(3, "staff", (await factory.school()).id, None)
        assert await service.student_enrollments(db, elsewhere, student.id) == []
        other_student = Principal(4, "student", school.id, (await factory.student(school)).id)
        assert await service.student_enrollments(db, other_student, student.id) == []
        themself = Principal(5, "student", school.id, student.id)
        assert len(await service.student_enrollments(db, themself, student.id)) == 3
