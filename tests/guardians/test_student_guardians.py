"""guardians.service.student_guardians: a student's guardians with the relationship, in the
guardians list's scope."""

from homeroom.guardians import service
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.models import StudentGuardian
from tests.factories import Factory
from tests.fixture_types import CountQueries


class TestStudentGuardians:
    async def test_the_students_guardians_in_scope(
        self, db: Database, factory: Factory, count_queries: CountQueries
    ) -> None:
        school = await factory.school()
        student = await factory.student(school)
        mother = await factory.guardian(school, last_name="Bell")
        await factory.save(
            StudentGuardian(student_id=student.id, guardian_id=mother.id, relationship="mother")
        )
        father = await factory.guardian(school, [student], last_name="Adams", phone="555-0100")
        await factory.guardian(school, [await factory.student(school)])  # someone else's
        staff = Principal(1, "staff", school.id, None)
        with count_queries() as statements:
            rows = await service.student_guardians(db, staff, student.id)
        assert len(statements) == 1
        assert [(r["last_name"], r["relationship"], r["phone"]) for r in rows] == [
            ("Adams", "guardian", "555-0100"),
            ("Bell", "mother", None),
        ]
        assert rows[0]["id"] == father.id and rows[0]["email"] == father.email
        # A guardian sees themself (GET /guardians' scope); the student sees both.
        as_mother = Principal(2, "guardian", school.id, mother.id)
        assert [r["id"] for r in await service.student_guardians(db, as_mother, student.id)] == [
            mother.id
        ]
        themself = Principal(3, "student", school.id, student.id)
        assert len(await service.student_guardians(db, themself, student.id)) == 2
        # Out of scope: nothing.
        another = Principal(4, "student", school.id, (await factory.student(school)).id)
        assert await service.student_guardians(db, another, student.id) == []
        teacher = Principal(5, "teacher", school.id, (await factory.teacher(school)).id)
        assert await service.student_guardians(db, teacher, student.id) == []
        elsewhere = Principal(6, "staff", (await factory.school()).id, None)
        assert await service.student_guardians(db, elsewhere, student.id) == []
