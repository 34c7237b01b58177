"""Students imports: upsert by student number, dry runs, all-or-nothing, lenient headers."""

from datetime import date

import httpx
from sqlalchemy import select

from homeroom.models import AuditLog, Student
from tests.factories import Factory
from tests.imports.conftest import World, counts, csv_text, upload

HEADER = "student_number,first_name,last_name,email,date_of_birth,grade_level"


class TestStudentsImport:
    async def test_creates_then_updates_then_unchanged(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = csv_text(
            HEADER,
            "N100,Ada,Lovelace,ada@example.edu,2010-12-10,9",
            "N101,Alan,Turing,alan@example.edu,2011-06-23,8",
        )
        r = await upload(client, "students", data, world.staff)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body | {"columns": None} == {
            "kind": "students",
            "dry_run": False,
            "rows": 2,
            "valid": 2,
            "created": 2,
            "updated": 0,
            "unchanged": 0,
            "errors": [],
            "error_count": 0,
            "columns": None,
            "ignored_columns": [],
        }
        async with factory.db.sessionmaker() as session:
            ada = await session.scalar(select(Student).where(Student.student_number == "N100"))
        assert ada is not None
        assert (ada.first_name, ada.email, ada.date_of_birth, ada.grade_level, ada.status) == (
            "Ada",
            "ada@example.edu",
            date(2010, 12, 10),
            9,
            "active",
        )
        assert ada.school_id == world.school.id

        before = await counts(factory)
        again = await upload(client, "students", data, world.staff)
        assert again.json()["created"] == 0 and again.json()["unchanged"] == 2
        after = await counts(factory)
        assert after["students"] == before["students"]

        changed = csv_text(HEADER, "N100,Ada,King,ada@example.edu,2010-12-10,10")
        r = await upload(client, "students", changed, world.staff)
        assert (r.json()["updated"], r.json()["created"]) == (1, 0)
        async with factory.db.sessionmaker() as session:
            ada = await session.scalar(select(Student).where(Student.student_number == "N100"))
            logs = (
                await session.scalars(select(AuditLog).where(AuditLog.action == "import"))
            ).all()
        assert ada is not None and (ada.last_name, ada.grade_level) == ("King", 10)
        assert len(logs) == 3
        assert logs[-1].entity == "student"
        assert logs[-1].details["changes"]["updated"] == ["N100"]


class TestDryRunAndAllOrNothing:
    async def test_dry_run_writes_nothing_and_reports(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = csv_text(
            HEADER,
            "N200,Grace,Hopper,grace@example.edu,1996-12-09,12",
            "S0002,Renamed,Student,student-renamed@example.edu,2010-01-01,9",
            "N201,Bad,Date,bad@example.edu,2010-13-45,9",
        )
        before = await counts(factory)
        r = await upload(client, "students", data, world.staff, dry_run=True)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["dry_run"] is True
        assert (body["rows"], body["valid"], body["created"], body["updated"]) == (3, 2, 1, 1)
        assert body["errors"] == [
            {
                "row": 4,
                "column": "date_of_birth",
                "value": "2010-13-45",
                "message": "not a real date; write dates as YYYY-MM-DD (2010-05-31) or with the "
                "month's name (31 May 2010)",
            }
        ]
        assert await counts(factory) == before

    async def test_one_bad_row_fails_the_whole_file(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        rows = [f"N3{i:02d},First{i},Last{i},n3{i}@example.edu,2010-01-01,9" for i in range(20)]
        rows[13] = "N313,First,Last,not-an-email,2010-01-01,9"
        before = await counts(factory)
        r = await upload(client, "students", csv_text(HEADER, *rows), world.staff)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["detail"] == "1 of 20 rows are invalid; nothing was imported"
        [error] = problem["errors"]
        assert (error["row"], error["column"], error["value"]) == (15, "email", "not-an-email")
        assert "email" in error["message"]
        assert await counts(factory) == before

    async def test_every_bad_row_is_named(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = csv_text(
            HEADER,
            "N400,Ann,Lee,ann@example.edu,2010-01-01,9",
            "N400,Ann,Again,ann2@example.edu,2010-01-01,9",  # number twice
            "N401,Bo,Lee,ann@example.edu,2010-01-01,9",  # email twice
            "N402,Cy,Lee,cy@example.edu,2010-01-01,14",  # grade out of range
            "N403,,Lee,dee@example.edu,2010-01-01,9",  # first name missing
            "N40$,Ed,Lee,ed@example.edu,2010-01-01,9",  # bad characters
            f"N405,Fi,Lee,{world.outsider.email},2010-01-01,9",  # email of another student
            "N406,Gus,Lee,gus@example.edu,2010-01-01,9,extra",  # shifted row
        )
        r = await upload(client, "students", data, world.staff)
        assert r.status_code == 422
        found = {(e["row"], e["column"]) for e in r.json()["errors"]}
        assert found == {
            (3, "student_number"),
            (4, "email"),
            (5, "grade_level"),
            (6, "first_name"),
            (7, "student_number"),
            (8, "email"),
            (9, None),
        }
        messages = {e["row"]: e["message"] for e in r.json()["errors"]}
        assert messages[3] == "this student number is already on row 2"
        assert messages[8] == "this email belongs to another student (number S0009)"
        assert "no header" in messages[9]
        assert (await counts(factory))["students"] == 4

    async def test_archived_student_is_a_row_error(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        gone = await factory.student(world.school, student_number="OLD1", archived_at=utc())
        data = csv_text(HEADER, f"OLD1,A,B,{gone.email},2010-01-01,9")
        r = await upload(client, "students", data, world.staff)
        assert r.status_code == 422
        assert "archived" in r.json()["errors"][0]["message"]


def utc() -> object:
    from homeroom.models import utcnow

    return utcnow()


class TestLenientHeadersAndValues:
    async def test_synonyms_case_and_punctuation(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = csv_text(
            "Student ID;Given Name;SURNAME;E-mail;D.O.B.;Year;Notes;Student Status",
            "N500;Zoë;Ng;ZOE@Example.EDU;31/05/2010;Year 9;likes maths;Active",
            "N501;Kim;Ro;kim@example.edu;14/02/2011;K;;",
            "N502;Lu;Po;lu@example.edu;May 3, 2009;10th;;graduated",
        )
        r = await upload(client, "students", data, world.staff)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["columns"] == {
            "Student ID": "student_number",
            "Given Name": "first_name",
            "SURNAME": "last_name",
            "E-mail": "email",
            "D.O.B.": "date_of_birth",
            "Year": "grade_level",
            "Student Status": "status",
        }
        assert body["ignored_columns"] == ["Notes"]
        async with factory.db.sessionmaker() as session:
            rows = {
                s.student_number: s
                for s in (
                    await session.scalars(select(Student).where(Student.student_number.like("N5%")))
                ).all()
            }
        assert (rows["N500"].first_name, rows["N500"].email) == ("Zoë", "zoe@example.edu")
        assert rows["N500"].date_of_birth == date(2010, 5, 31)
        assert rows["N501"].date_of_birth == date(2011, 2, 14)
        assert (rows["N500"].grade_level, rows["N501"].grade_level, rows["N502"].grade_level) == (
            9,
            0,
            10,
        )
        assert rows["N502"].date_of_birth == date(2009, 5, 3)
        assert (rows["N501"].status, rows["N502"].status) == ("active", "graduated")

    async def test_missing_required_column_is_named(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        data = csv_text("Student ID,First,Last,Email,Grade Levle", "N1,A,B,a@example.edu,9")
        r = await upload(client, "students", data, world.staff, dry_run=True)
        assert r.status_code == 200
        body = r.json()
        assert body["valid"] == 0
        messages = [e["message"] for e in body["errors"]]
        assert messages == [
            "missing required column date_of_birth",
            "missing required column grade_level (is 'Grade Levle' meant to be grade_level?)",
        ]
        assert all(e["row"] == 1 for e in body["errors"])
        real = await upload(client, "students", data, world.staff)
        assert real.status_code == 422
        assert real.json()["detail"] == "the header is not usable; nothing was imported"

    async def test_two_columns_for_one_field(self, client: httpx.AsyncClient, world: World) -> None:
        data = csv_text(HEADER + ",Student ID", "N1,A,B,a@example.edu,2010-01-01,9,N1")
        r = await upload(client, "students", data, world.staff)
        assert r.status_code == 422
        assert r.json()["errors"][0]["message"] == (
            "the columns 'student_number' and 'Student ID' both mean student_number; keep one"
        )

    async def test_day_month_order(self, client: httpx.AsyncClient, world: World) -> None:
        ambiguous = csv_text(HEADER, "N1,A,B,a1@example.edu,03/04/2010,9")
        r = await upload(client, "students", ambiguous, world.staff, dry_run=True)
        assert "ambiguous date" in r.json()["errors"][0]["message"]
        us = await upload(client, "students", ambiguous, world.staff, date_order="mdy")
        assert us.status_code == 200, us.text
        # The column decides: 25/12 can only be day/month, so 03/04 is 3 April.
        mixed = csv_text(
            HEADER, "N2,A,B,a2@example.edu,03/04/2010,9", "N3,A,B,a3@example.edu,25/12/2010,9"
        )
        r = await upload(client, "students", mixed, world.staff)
        assert r.status_code == 200, r.text

    async def test_excel_scientific_notation(self, client: httpx.AsyncClient, world: World) -> None:
        data = csv_text(HEADER, "1.23457E+11,A,B,sci@example.edu,2010-01-01,9")
        r = await upload(client, "students", data, world.staff, dry_run=True)
        assert "scientific notation" in r.json()["errors"][0]["message"]

    async def test_status_column_left_out_keeps_status(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        first = csv_text(HEADER + ",status", "N600,A,B,n600@example.edu,2010-01-01,9,withdrawn")
        assert (await upload(client, "students", first, world.staff)).status_code == 200
        second = csv_text(HEADER, "N600,A,B,n600@example.edu,2010-01-01,9")
        r = await upload(client, "students", second, world.staff)
        assert r.json()["unchanged"] == 1
        async with factory.db.sessionmaker() as session:
            status = await session.scalar(
                select(Student.status).where(Student.student_number == "N600")
            )
        assert status == "withdrawn"


class TestEncodings:
    ROW = "N700,José,Müller,jose@example.edu,2010-01-01,9"

    async def test_utf8_with_bom_and_raw_body(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        data = b"\xef\xbb\xbf" + csv_text(HEADER, self.ROW)
        r = await upload(client, "students", data, world.staff, raw="text/csv")
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1

    async def test_cp1252_is_refused_unless_named(
        self, client: httpx.AsyncClient, factory: Factory, world: World
    ) -> None:
        data = ("\r\n".join([HEADER, self.ROW]) + "\r\n").encode("cp1252")
        r = await upload(client, "students", data, world.staff)
        assert r.status_code == 422
        assert r.json()["detail"].startswith("the file is not UTF-8 text (byte 0xE9 on line 2)")
        ok = await upload(client, "students", data, world.staff, encoding="cp1252")
        assert ok.status_code == 200, ok.text
        async with factory.db.sessionmaker() as session:
            name = await session.scalar(
                select(Student.last_name).where(Student.student_number == "N700")
            )
        assert name == "Müller"

    async def test_utf16_tab_separated(self, client: httpx.AsyncClient, world: World) -> None:
        text = HEADER.replace(",", "\t") + "\r\n" + self.ROW.replace(",", "\t") + "\r\n"
        r = await upload(client, "students", text.encode("utf-16"), world.staff)
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1
