"""Student search (`q`): the answers of a brute-force substring filter, for every scope and
for hostile text; the search index in step with every write path; one statement per page.

The brute force is the documented rule: a student matches when first name, last name, email
or student number contains `q.strip()`, case folded the way the database folds text (SQLite:
ASCII letters; PostgreSQL: every letter its locale knows, checked below).
"""

import random
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from httpx import AsyncClient
from sqlalchemy import insert, text

from homeroom.kit.db import Database
from homeroom.models import School, Student, StudentGuardian
from tests.exports import csv_rows
from tests.factories import Factory
from tests.fixture_types import CountQueries

LIST = "/api/v1/students"
SEARCHED = ("first_name", "last_name", "email", "student_number")

# Text that means something to LIKE (% _ and the escape !), to FTS5 (" * ( ) : ^ - + and the
# words OR AND NOT NEAR), to SQL (' ;), accented and non-Latin letters in both cases. No
# capital sigma: Python lowers it to a final sigma at the end of a word, PostgreSQL never.
NASTY = "%_!\"'*()[]{}:^-+.,;@/\\ "
LETTERS = "éÉñÑüÜøØåÅçÇßδΔλΛπΠдДжЖяЯ"
ALPHABET = string.ascii_letters + string.digits + NASTY + LETTERS
PIECES = [
    "an", "son", "Mc", "ré", "ÉMI", "Øre", "дж", "ΔΈλ", "o'", "100%", "a_b", "x!y", '"q"',
    "*", "OR", "AND", "NEAR(", "NOT", "x:y", "^s", "-n", "+1", "  ", "Lee", "lee", "LÉE",
]  # fmt: skip
FIXED_QUERIES = [
    "a", "A", "é", "É", "%", "_", "!", '"', "'", "*", "(", ":", " ", "", "   ", "!!",
    "an", "OR", "mc", "%%", "_%", '""', "!%", "a%", "ab", "Øre", "ÉMI", "émi", "son",
    "SON", "a_b", "aXb", "100%", "100", "x!y", 'x"y', '"q"', "NEAR(", "NEAR(a b)",
    "a OR b", "a AND b", "NOT a", "x:y", "first_name:a", "^s", "-n", "a*", "*a*",
    "  lee  ", "lÉe", "ДЖ", "дж", "δέλ", "o'neil", "'; DROP TABLE students; --",
    "@x.example", ".example", "example", "ÉÉÉ", "ñññ", "0", "00", "000",
]  # fmt: skip


def ascii_lower(value: str) -> str:
    return value.translate(str.maketrans(string.ascii_uppercase, string.ascii_lowercase))


async def case_fold(db: Database) -> Callable[[str], str]:
    """How the database lowers text for the search: SQLite's lower() and LIKE fold ASCII
    letters only; PostgreSQL folds what its locale knows."""
    if db.is_sqlite:
        return ascii_lower
    sample = LETTERS + string.ascii_uppercase
    async with db.engine.connect() as conn:
        lowered = await conn.scalar(text("SELECT lower(:s)"), {"s": sample})
    if lowered == sample.lower():
        return str.lower
    if lowered == ascii_lower(sample):
        return ascii_lower
    pytest.skip(f"the database lowers text unlike Python and unlike ASCII: {lowered!r}")


def matches(q: str, row: dict[str, Any], fold: Callable[[str], str]) -> bool:
    needle = fold(q.strip().lower())
    return any(needle in fold(row[c]) for c in SEARCHED)


@dataclass
class Scope:
    headers: dict[str, str]
    ids: set[int]  # every student the caller sees, archived ones included


@dataclass
class World:
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    scopes: dict[str, Scope] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)


def nasty_text(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        if rng.random() < 0.5:
            parts.append(rng.choice(PIECES))
        else:
            parts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3))))
    return "".join(parts)[:size].strip() or "x"


def student_values(rng: random.Random, school_id: int, n: int) -> dict[str, Any]:
    return {
        "school_id": school_id,
        "student_number": f"{nasty_text(rng, rng.randint(1, 8))}#{n}",
        "first_name": nasty_text(rng, rng.randint(1, 12)),
        "last_name": nasty_text(rng, rng.randint(1, 14)),
        "email": f"{nasty_text(rng, rng.randint(1, 10))}.{n}@x.example",
        "date_of_birth": date(2010, 1, 1),
        "grade_level": rng.randint(0, 13),
        "status": "active",
        "archived_at": datetime(2026, 1, 1, tzinfo=UTC) if rng.random() < 0.1 else None,
    }


def queries_for(rng: random.Random, rows: Iterable[dict[str, Any]], count: int) -> list[str]:
    """The fixed hostile queries, slices of stored values in varied case, and random text."""
    values = [row[c] for row in rows for c in SEARCHED]
    cases: list[Callable[[str], str]] = [str.upper, str.lower, str.swapcase, str.title, str]
    out = list(FIXED_QUERIES)
    for _ in range(count):
        value = rng.choice(values)
        start = rng.randrange(len(value))
        piece = value[start : start + rng.randint(1, 6)]
        out.append(rng.choice(cases)(piece))
        out.append(nasty_text(rng, rng.randint(1, 5)))
    return out


async def build_world(db: Database, factory: Factory, seed: int, size: int = 90) -> World:
    """Two schools of students with hostile names (some archived), written with one multi-row
    INSERT (the triggers see a bulk write), and a login of every role."""
    rng = random.Random(seed)
    school, other = await factory.school(), await factory.school()
    values = [student_values(rng, (school, other)[i % 4 == 3].id, i) for i in range(size)]
    async with db.sessionmaker() as session:
        await session.execute(insert(Student), values)
        await session.commit()
    async with db.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id, school_id, first_name, last_name, email, student_number FROM students")
        )
        fetched = [dict(r._mapping) for r in result]
    world = World(rows={r["id"]: r for r in fetched})
    archived_numbers = {v["student_number"] for v in values if v["archived_at"] is not None}
    for row in world.rows.values():
        row["archived"] = row["student_number"] in archived_numbers
    ours = sorted(i for i, r in world.rows.items() if r["school_id"] == school.id)

    admin, _ = await factory.login_as("admin", school)
    staff, _ = await factory.login_as("staff", school)
    district = factory.headers(await factory.user("admin", None))
    teacher_headers, teacher = await factory.login_as("teacher", school)
    section = await factory.section(await factory.course(await factory.term(school)), teacher)
    taught = rng.sample(ours, len(ours) // 3)
    for student_id in taught:
        await factory.enroll(await _student(db, student_id), section)
    guardian_headers, guardian = await factory.login_as("guardian", school)
    children = rng.sample(ours, 4)
    for student_id in children:
        await factory.save(StudentGuardian(student_id=student_id, guardian_id=guardian.id))
    student_headers, me = await factory.login_as("student", school)
    world.rows[me.id] = _row(me)
    world.rows[me.id]["archived"] = False

    everyone = set(world.rows)
    school_ids = {i for i, r in world.rows.items() if r["school_id"] == school.id}
    world.scopes = {
        "admin": Scope(admin, school_ids),
        "staff": Scope(staff, school_ids),
        "district admin": Scope(district, everyone),
        "teacher": Scope(teacher_headers, set(taught)),
        "guardian": Scope(guardian_headers, set(children)),
        "student": Scope(student_headers, {me.id}),
    }
    world.queries = queries_for(rng, world.rows.values(), 40)
    return world


async def _student(db: Database, student_id: int) -> Student:
    async with db.sessionmaker() as session:
        student = await session.get(Student, student_id)
    assert student is not None
    return student


def _row(student: Student) -> dict[str, Any]:
    return {
        "id": student.id,
        "school_id": student.school_id,
        **{c: getattr(student, c) for c in SEARCHED},
    }


async def search(
    client: AsyncClient, headers: dict[str, str], q: str, **params: Any
) -> tuple[list[int], int]:
    query = urlencode({"q": q, "limit": 1000, **params})
    r = await client.get(f"{LIST}?{query}", headers=headers)
    assert r.status_code == 200, (q, r.text)
    body = r.json()
    return [s["id"] for s in body["items"]], body["total"]


def expected_ids(
    world: World, scope: Scope, q: str, fold: Callable[[str], str], archived: str = "exclude"
) -> set[int]:
    keep: Callable[[dict[str, Any]], bool] = {
        "exclude": lambda r: not r["archived"],
        "include": lambda r: True,
        "only": lambda r: r["archived"],
    }[archived]
    return {i for i in scope.ids if keep(world.rows[i]) and matches(q, world.rows[i], fold)}


async def index_agrees(db: Database) -> None:
    """SQLite: the FTS5 index holds exactly the students table's text (FTS5's own check,
    which compares it with the content table). PostgreSQL's GIN indexes are part of the
    table and cannot disagree with it."""
    if not db.is_sqlite:
        return
    async with db.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO students_fts (students_fts, rank) VALUES ('integrity-check', 1)")
        )


class TestSameAnswersAsBruteForce:
    @pytest.mark.parametrize("seed", [1, 2])
    async def test_every_scope_every_query(
        self, client: AsyncClient, db: Database, factory: Factory, seed: int
    ) -> None:
        world = await build_world(db, factory, seed)
        fold = await case_fold(db)
        await index_agrees(db)
        for name, scope in world.scopes.items():
            order, _ = await search(client, scope.headers, "", archived="include")
            for q in world.queries:
                ids, total = await search(client, scope.headers, q)
                expected = expected_ids(world, scope, q, fold)
                assert set(ids) == expected, (name, q)
                assert total == len(expected) == len(ids), (name, q)
                # In the list's own order (last name, id), whatever the database's collation.
                assert ids == [i for i in order if i in expected], (name, q)

    async def test_archived_include_and_only(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        world = await build_world(db, factory, 3)
        fold = await case_fold(db)
        admin = world.scopes["admin"]
        for q in world.queries[:40]:
            for archived in ("include", "only"):
                ids, total = await search(client, admin.headers, q, archived=archived)
                assert set(ids) == expected_ids(world, admin, q, fold, archived), (q, archived)
                assert total == len(ids)

    async def test_pages_and_cursors_walk_the_same_answer(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        world = await build_world(db, factory, 4)
        admin = world.scopes["admin"].headers
        for q in ("a", "e", "an", "son", "ée", "Lee", "example", "%"):
            everything, total = await search(client, admin, q)
            for sort in ("last_name", "-student_number", "grade_level", "-id"):
                whole, _ = await search(client, admin, q, sort=sort)
                walked, url = [], f"{LIST}?{urlencode({'q': q, 'limit': 3, 'sort': sort})}"
                while url:
                    body = (await client.get(url, headers=admin)).json()
                    assert body["total"] == total, (q, sort)
                    walked += [s["id"] for s in body["items"]]
                    cursor = body["next_cursor"]
                    url = f"{LIST}?{urlencode({'q': q, 'limit': 3, 'sort': sort})}&cursor={cursor}"
                    url = url if cursor else ""
                assert walked == whole and sorted(whole) == sorted(everything), (q, sort)
                for offset in (0, 2, total - 1, total, total + 5):
                    query = urlencode({"q": q, "limit": 2, "offset": max(offset, 0), "sort": sort})
                    body = (await client.get(f"{LIST}?{query}", headers=admin)).json()
                    assert body["total"] == total, (q, sort, offset)
                    assert [s["id"] for s in body["items"]] == whole[offset : offset + 2]

    async def test_exports_give_the_rows_of_the_list(
        self, client: AsyncClient, db: Database, factory: Factory
    ) -> None:
        world = await build_world(db, factory, 5, size=40)
        for name in ("admin", "teacher", "district admin"):
            scope = world.scopes[name]
            for q in [*FIXED_QUERIES[::4], *world.queries[-10:]]:
                ids, _ = await search(client, scope.headers, q)
                query = urlencode({"q": q})
                r = await client.get(f"/api/v1/export/students/csv?{query}", headers=scope.headers)
                assert r.status_code == 200, (name, q, r.text)
                assert [int(row["id"]) for row in csv_rows(r.content)] == ids, (name, q)


class TestIndexInStep:
    """Every write path keeps the index in step: after each, searches for the new text find
    the student, searches for the old text do not, and on SQLite FTS5's own integrity check
    agrees with the table."""

    @pytest.fixture
    async def school(self, factory: Factory) -> School:
        return await factory.school()

    @pytest.fixture
    async def admin(self, factory: Factory, school: School) -> dict[str, str]:
        headers, _ = await factory.login_as("admin", school)
        return headers

    async def test_create_patch_archive_restore_through_the_api(
        self, client: AsyncClient, db: Database, admin: dict[str, str]
    ) -> None:
        body = {
            "student_number": "QZ-0001",
            "first_name": "Wilhelmina",
            "last_name": "Ørsted-Vlček",
            "email": "wil.orsted@example.edu",
            "date_of_birth": "2011-02-03",
            "grade_level": 7,
        }
        r = await client.post(LIST, headers=admin, json=body)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        await index_agrees(db)
        for q in ("helmi", "RSTED", "rsted-vl", "wil.orsted@", "qz-000", "z-0"):
            assert (await search(client, admin, q))[0] == [sid], q

        changes = {
            "first_name": ("helmi", "Theodora", "eodor"),
            "last_name": ("sted-vl", "Nakamura", "kamur"),
            "email": ("orsted@", "theo.n@example.edu", "theo.n@"),
            "student_number": ("qz-000", "KX-7777", "x-777"),
        }
        for column, (old, new, new_q) in changes.items():
            r = await client.patch(f"{LIST}/{sid}", headers=admin, json={column: new})
            assert r.status_code == 200, r.text
            await index_agrees(db)
            assert (await search(client, admin, old))[0] == [], column
            assert (await search(client, admin, new_q))[0] == [sid], column

        assert (await client.delete(f"{LIST}/{sid}", headers=admin)).status_code == 204
        await index_agrees(db)
        assert (await search(client, admin, "kamur"))[0] == []
        assert (await search(client, admin, "kamur", archived="only"))[0] == [sid]
        assert (await search(client, admin, "kamur", archived="include"))[0] == [sid]
        r = await client.post(f"{LIST}/{sid}/restore", headers=admin)
        assert r.status_code == 200, r.text
        await index_agrees(db)
        assert (await search(client, admin, "kamur"))[0] == [sid]

    async def test_imports_create_and_update(
        self, client: AsyncClient, db: Database, admin: dict[str, str]
    ) -> None:
        header = "student_number,first_name,last_name,email,date_of_birth,grade_level\n"
        first = header + "".join(
            f"IM-{i},Zebulon{i},Quxley{i},zq{i}@example.edu,2010-05-0{1 + i % 9},9\n"
            for i in range(30)
        )
        r = await client.post(
            "/api/v1/imports/students",
            headers={**admin, "Content-Type": "text/csv"},
            content=first.encode(),
        )
        assert r.status_code == 200 and r.json()["created"] == 30, r.text
        await index_agrees(db)
        assert (await search(client, admin, "quxley"))[1] == 30
        assert (await search(client, admin, "ebulon17"))[1] == 1
        renamed = header + "".join(
            f"IM-{i},Zebulon{i},Vantablack{i},zq{i}@example.edu,2010-05-0{1 + i % 9},9\n"
            for i in range(10)
        )
        r = await client.post(
            "/api/v1/imports/students",
            headers={**admin, "Content-Type": "text/csv"},
            content=renamed.encode(),
        )
        assert r.status_code == 200 and r.json()["updated"] == 10, r.text
        await index_agrees(db)
        assert (await search(client, admin, "quxley"))[1] == 20
        assert (await search(client, admin, "antablack"))[1] == 10

    async def test_plain_sql_inserts_updates_and_deletes(
        self, client: AsyncClient, db: Database, factory: Factory, school: School
    ) -> None:
        world = await build_world(db, factory, 6, size=60)
        admin = world.scopes["district admin"]
        fold = await case_fold(db)
        async with db.engine.begin() as conn:
            # Multi-row statements, as a script or a database tool would write them.
            await conn.execute(
                text(
                    "UPDATE students SET last_name = 'Quorra' || last_name, "
                    "email = 'mv.' || email WHERE id % 3 = 0"
                )
            )
            await conn.execute(text("UPDATE students SET grade_level = 5 WHERE id % 3 = 1"))
            await conn.execute(
                text(
                    "DELETE FROM students WHERE id % 5 = 0 AND id NOT IN "
                    "(SELECT student_id FROM enrollments) AND id NOT IN "
                    "(SELECT student_id FROM student_guardians) AND user_id IS NULL"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO students (school_id, student_number, first_name, last_name, "
                    "email, date_of_birth, grade_level, status, created_at, updated_at) "
                    "SELECT school_id, 'SQL-' || student_number, 'Sqlborn', last_name, "
                    "'sql.' || email, date_of_birth, grade_level, status, created_at, "
                    "updated_at FROM students WHERE id % 4 = 1"
                )
            )
            result = await conn.execute(
                text(
                    "SELECT id, school_id, first_name, last_name, email, student_number, "
                    "archived_at IS NOT NULL AS archived FROM students"
                )
            )
            rows = {r.id: {**r._mapping, "archived": bool(r.archived)} for r in result}
        await index_agrees(db)
        world.rows = rows
        admin.ids = set(rows)
        for q in ["quorra", "QUORRA", "sqlborn", "sql.", "mv.", "sql-", *world.queries[:30]]:
            ids, total = await search(client, admin.headers, q)
            assert set(ids) == expected_ids(world, admin, q, fold), q
            assert total == len(ids)


class TestIndexServesTheSearch:
    async def test_the_plan_reads_the_index(self, db: Database, factory: Factory) -> None:
        """A term of 3+ characters is looked up in the index (SQLite: the FTS5 table;
        PostgreSQL: the trigram indexes, once scans are priced out of a tiny table, for every
        school and archived students too, so that the search is the only condition an index
        could serve); a shorter one is not (it could not be)."""
        from homeroom.kit.pagination import PageRequest, plan_page
        from homeroom.students import repository
        from homeroom.students.schemas import StudentFilters

        school = await factory.school()
        for _ in range(3):
            await factory.student(school)
        plan = plan_page(PageRequest(20, 0, None, None), repository.SORTING)
        seen: list[tuple[Any, dict[str, Any]]] = []

        class Recording:
            async def all(self, query: Any, params: dict[str, Any]) -> list[Any]:
                seen.append((query, params))
                return []

        real = db.reader
        db.reader = Recording()  # type: ignore[assignment]
        try:
            scope = {"scope_school": None, "scope_profile": 0}
            for q in ("Last", "La"):
                filters = StudentFilters(q=q, archived="include")
                await repository.list_page(db, "all", scope, filters, plan)
        finally:
            db.reader = real
        plans = [await _plan(db, query, params) for query, params in seen]
        index = "students_fts" if db.is_sqlite else "_trgm"
        assert index in plans[0]
        assert index not in plans[1]
        assert seen[0][0].scan and seen[1][0].scan  # SQLite: off the event loop


async def _plan(db: Database, query: Any, params: dict[str, Any]) -> str:
    args = query.positional(params)
    async with db.engine.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        if db.is_sqlite:
            cursor = await raw.execute(f"EXPLAIN QUERY PLAN {query.sql}", args)
            return "\n".join(str(row[3]) for row in await cursor.fetchall())
        async with raw.transaction():
            # Three rows: reading them all beats any index, unless that is priced out.
            await raw.execute("SET LOCAL enable_seqscan = off")
            await raw.execute("SET LOCAL enable_indexscan = off")
            rows = await raw.fetch(f"EXPLAIN {query.sql}", *args)
        return "\n".join(row[0] for row in rows)


class TestStatements:
    @pytest.fixture
    async def admin(self, factory: Factory) -> tuple[dict[str, str], School]:
        school = await factory.school()
        for i in range(30):
            await factory.student(school, last_name=f"Anderson{i:02d}")
        headers, _ = await factory.login_as("admin", school)
        return headers, school

    @pytest.mark.parametrize("q", ["ders", "de"])
    async def test_a_page_and_its_total_are_one_statement(
        self,
        client: AsyncClient,
        admin: tuple[dict[str, str], School],
        count_queries: CountQueries,
        q: str,
    ) -> None:
        headers, _ = admin
        with count_queries() as statements:
            r = await client.get(f"{LIST}?q={q}&limit=5", headers=headers)
        body = r.json()
        assert body["total"] == 30 and len(body["items"]) == 5
        assert len(statements) == 1
        with count_queries() as statements:
            r = await client.get(f"{LIST}?q={q}&limit=5&offset=10", headers=headers)
        assert r.json()["total"] == 30 and len(statements) == 1
        with count_queries() as statements:
            r = await client.get(
                f"{LIST}?q={q}&limit=5&cursor={body['next_cursor']}", headers=headers
            )
        assert r.json()["total"] == 30 and len(statements) == 1
        # Past the last match no row carries the total: it is counted.
        with count_queries() as statements:
            r = await client.get(f"{LIST}?q={q}&limit=5&offset=40", headers=headers)
        assert r.json() | {"next_cursor": None} == {
            "items": [],
            "total": 30,
            "limit": 5,
            "offset": 40,
            "next_cursor": None,
        }
        assert len(statements) == 2

    @pytest.mark.parametrize("q", ["ders", "de"])
    async def test_sqlite_runs_searches_off_the_event_loop(
        self,
        client: AsyncClient,
        db: Database,
        admin: tuple[dict[str, str], School],
        monkeypatch: pytest.MonkeyPatch,
        q: str,
    ) -> None:
        if not db.is_sqlite:
            pytest.skip("asyncpg never holds the event loop")
        from homeroom.kit import db as kit_db

        headers, _ = admin
        loop_thread = threading.get_ident()
        threads: list[int] = []
        assert isinstance(db.reader, kit_db.SqliteReader)
        scan, fetch = db.reader._scan, kit_db._fetch_batch

        def scan_spy(query: Any, params: dict[str, Any]) -> Any:
            threads.append(threading.get_ident())
            return scan(query, params)

        def fetch_spy(cursor: Any, size: int) -> Any:
            threads.append(threading.get_ident())
            return fetch(cursor, size)

        monkeypatch.setattr(db.reader, "_scan", scan_spy)
        monkeypatch.setattr(kit_db, "_fetch_batch", fetch_spy)
        assert (await client.get(f"{LIST}?q={q}", headers=headers)).json()["total"] == 30
        assert len(threads) == 1
        r = await client.get(f"/api/v1/export/students/csv?q={q}", headers=headers)
        assert len(csv_rows(r.content)) == 30
        assert len(threads) == 3  # the list's statement, the export's batch and its end
        assert loop_thread not in threads
        before = len(threads)
        await client.get(LIST, headers=headers)
        assert len(threads) == before  # a plain list stays inline
        await client.get("/api/v1/export/students/csv", headers=headers)
        assert len(threads) > before and loop_thread not in threads  # every export reads aside
