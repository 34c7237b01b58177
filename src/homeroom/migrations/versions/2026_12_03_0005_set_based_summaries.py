"""summaries for set-based writes; the activity tag in shards

Bulk grade and attendance writes became one statement whatever their size (kit/bulk.py), so
the statement triggers of 0004 now see dozens of rows at once instead of one per execution.
Two things then went wrong, both fixed here:

- The final-grade recompute found its enrollments with `x.enrollment_id IN (SELECT ... FROM
  new_rows)`. With hash and merge joins off (0004's NESTED_LOOPS), the planner walked all
  350,000 analytics_enrollments by primary key and probed the transition table for each
  (~130 ms for a 47-student class, 3 s when the table is estimated larger). The ids are now
  collected first and looked up by index: `= ANY (ARRAY(SELECT ...))` (0.3 ms).
- Category sums were adjusted by three statements (lock, UPDATE, INSERT of the missing
  rows) that each recomputed the deltas from the transition tables; one upsert in key order
  does the same (it locks in that order as it goes) and fires the recompute once.
- The penalties of `enable_seqscan = off` (a transition table can only be scanned) push every
  plan's cost past `jit_above_cost`: each statement paid 80-190 ms of LLVM compilation. The
  trigger functions now run with `jit = off` (the application's own sessions too, in
  kit/db.py).

Also: an audit row bumped the cache tags "school:{id}:activity" and "school:all:activity", two
rows that every write of a school then locked until it committed (PostgreSQL). It now bumps
one of ACTIVITY_SHARDS rows of each ("school:{id}:activity:{audit id % 8}"), and the
dashboard reads all of them: concurrent writers almost never meet on a row.

And: a write of students (any path: API, import, seed, plain SQL) bumps "school:{id}:people"
and "school:all:people", so a cached export of a school's students (exports/service.py) can
never outlive a committed change.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (a migration never imports application code): 0004's trigger functions and
# its planner settings.
FUNCTIONS = (
    "analytics_schools_insert",
    "analytics_students_insert",
    "analytics_students_update",
    "analytics_students_delete",
    "analytics_sections_insert",
    "analytics_sections_update",
    "analytics_enrollments_insert",
    "analytics_enrollments_update",
    "analytics_summary_enrollment_insert",
    "analytics_summary_enrollment_update",
    "analytics_summary_enrollment_delete",
    "analytics_grades_insert",
    "analytics_grades_update",
    "analytics_grades_delete",
    "analytics_summary_category_insert",
    "analytics_summary_category_update",
    "analytics_summary_category_delete",
    "analytics_assessments_update",
    "analytics_categories_update",
    "analytics_attendance_sessions_insert",
    "analytics_attendance_sessions_update",
    "analytics_summary_session_insert",
    "analytics_summary_session_update",
    "analytics_summary_session_delete",
    "analytics_attendance_records_insert",
    "analytics_attendance_records_update",
    "analytics_attendance_records_delete",
    "analytics_audit_logs_insert",
)
NESTED_LOOPS = "SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off"
FINAL = (
    "(SELECT CAST(round(CAST(100.0 * sum(x.weight * x.earned / x.possible) / sum(x.weight) "
    "AS numeric), 2) AS FLOAT) FROM analytics_enrollment_categories x "
    "WHERE x.enrollment_id = e.enrollment_id AND x.graded > 0 AND x.possible > 0 "
    "AND x.weight > 0)"
)
RECOMPUTE = {
    "analytics_summary_category_insert": "new_rows",
    "analytics_summary_category_update": "new_rows",
    "analytics_summary_category_delete": "old_rows",
}


ACTIVITY_SHARDS = 8


def _sqlite_activity(sharded: bool) -> str:
    shard = f" || ':' || (NEW.id % {ACTIVITY_SHARDS})" if sharded else ""
    return f"""AFTER INSERT ON audit_logs BEGIN
        INSERT INTO cache_versions (tag, version)
        SELECT 'school:' || NEW.school_id || ':activity'{shard}, random()
        WHERE NEW.school_id IS NOT NULL
        ON CONFLICT (tag) DO UPDATE SET version = excluded.version;
        INSERT INTO cache_versions (tag, version) VALUES ('school:all:activity'{shard}, random())
        ON CONFLICT (tag) DO UPDATE SET version = excluded.version;
    END"""


def _postgres_activity(sharded: bool) -> str:
    shard = f" || ':' || (id % {ACTIVITY_SHARDS})" if sharded else ""
    return f"""CREATE OR REPLACE FUNCTION analytics_audit_logs_insert() RETURNS trigger
    LANGUAGE plpgsql {NESTED_LOOPS} AS $$
BEGIN
IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
INSERT INTO cache_versions (tag, version)
        SELECT t.tag, CAST(random() * 9.2e18 AS BIGINT) FROM (
            SELECT DISTINCT 'school:' || school_id || ':activity'{shard} AS tag FROM new_rows
            WHERE school_id IS NOT NULL
            UNION SELECT DISTINCT 'school:all:activity'{shard} FROM new_rows) t
        ORDER BY t.tag
        ON CONFLICT (tag) DO UPDATE SET version = excluded.version;
RETURN NULL;
END $$"""


PEOPLE_EVENTS = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}


def _sqlite_people(event: str) -> str:
    values = ", ".join(
        f"('school:' || {row}.school_id || ':people', random())" for row in PEOPLE_EVENTS[event]
    )
    return f"""AFTER {event} ON students BEGIN
        INSERT INTO cache_versions (tag, version) VALUES {values}, ('school:all:people', random())
        ON CONFLICT (tag) DO UPDATE SET version = excluded.version;
    END"""


def _postgres_people(event: str) -> list[str]:
    rows = " UNION ".join(
        f"SELECT school_id FROM {'new_rows' if row == 'NEW' else 'old_rows'}"
        for row in PEOPLE_EVENTS[event]
    )
    name = f"cache_people_{event.lower()}"
    referencing = {
        "INSERT": "REFERENCING NEW TABLE AS new_rows",
        "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "REFERENCING OLD TABLE AS old_rows",
    }[event]
    return [
        f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
INSERT INTO cache_versions (tag, version)
    SELECT t.tag, CAST(random() * 9.2e18 AS BIGINT) FROM (
        SELECT DISTINCT 'school:' || s.school_id || ':people' AS tag FROM ({rows}) s
        UNION SELECT 'school:all:people') t
    ORDER BY t.tag
    ON CONFLICT (tag) DO UPDATE SET version = excluded.version;
RETURN NULL;
END $$""",
        f"CREATE TRIGGER {name} AFTER {event} ON students {referencing} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
    ]


def _recompute(rows: str, by_array: bool) -> str:
    """The body of a category-sums trigger: lock the enrollments touched, in key order, then
    set their final percentage from their category sums."""
    if by_array:
        touched = f"x.enrollment_id = ANY (ARRAY(SELECT DISTINCT enrollment_id FROM {rows}))"
    else:
        touched = f"x.enrollment_id IN (SELECT enrollment_id FROM {rows})"
    return f"""
        PERFORM 1 FROM analytics_enrollments x
        WHERE {touched}
        ORDER BY x.enrollment_id FOR UPDATE OF x;
        UPDATE analytics_enrollments x SET final_percentage = d.final
        FROM (SELECT e.enrollment_id, {FINAL} AS final
              FROM (SELECT DISTINCT k.enrollment_id FROM (SELECT enrollment_id FROM {rows}) k) e) d
        WHERE x.enrollment_id = d.enrollment_id
            AND x.final_percentage IS DISTINCT FROM d.final;"""


NEW_SIGNED = "SELECT 1 AS sign, n.* FROM new_rows n"
OLD_SIGNED = "SELECT -1 AS sign, o.* FROM old_rows o"
SIGNED = {"new": NEW_SIGNED, "old": OLD_SIGNED, "both": f"{NEW_SIGNED} UNION ALL {OLD_SIGNED}"}
GRADE_CONTRIBUTIONS = """SELECT g.sign, g.enrollment_id, a.category_id, g.score, a.max_points
            FROM ({signed}) g JOIN assessments a ON a.id = g.assessment_id"""
ASSESSMENT_CONTRIBUTIONS = """SELECT -1 AS sign, g.enrollment_id, o.category_id, g.score,
            o.max_points
            FROM old_rows o JOIN grades g ON g.assessment_id = o.id
            UNION ALL
            SELECT 1, g.enrollment_id, n.category_id, g.score, n.max_points
            FROM new_rows n JOIN grades g ON g.assessment_id = n.id"""
# name -> (event rows, contributions): 0004's bodies for these were lock + UPDATE + INSERT.
CATEGORY_SUMS = {
    "analytics_grades_update": ("new_rows", GRADE_CONTRIBUTIONS.format(signed=SIGNED["both"])),
    "analytics_grades_delete": ("old_rows", GRADE_CONTRIBUTIONS.format(signed=SIGNED["old"])),
    "analytics_assessments_update": ("new_rows", ASSESSMENT_CONTRIBUTIONS),
}


def _category_sums(contributions: str, one_upsert: bool) -> str:
    """Adds graded work to the enrollments' category sums (see 0004's category_sums)."""
    deltas = f"""SELECT g.enrollment_id, g.category_id, min(c.weight) AS weight,
                sum(g.sign * g.score) AS earned, sum(g.sign * g.max_points) AS possible,
                sum(g.sign) AS graded
            FROM ({contributions}) g JOIN assessment_categories c ON c.id = g.category_id
            GROUP BY g.enrollment_id, g.category_id
            HAVING sum(g.sign) != 0 OR sum(g.sign * g.score) != 0
                OR sum(g.sign * g.max_points) != 0"""
    upsert = """ORDER BY d.enrollment_id, d.category_id
        ON CONFLICT (enrollment_id, category_id) DO UPDATE SET
            earned = CASE WHEN x.graded + excluded.graded = 0 THEN 0
                ELSE x.earned + excluded.earned END,
            possible = CASE WHEN x.graded + excluded.graded = 0 THEN 0
                ELSE x.possible + excluded.possible END,
            graded = x.graded + excluded.graded;"""
    insert = f"""INSERT INTO analytics_enrollment_categories AS x
            (enrollment_id, category_id, weight, earned, possible, graded)
        SELECT d.enrollment_id, d.category_id, d.weight, d.earned, d.possible, d.graded
        FROM ({deltas}) d"""
    exists = "EXISTS (SELECT 1 FROM enrollments e WHERE e.id = d.enrollment_id)"
    if one_upsert:
        # Rows in key order, locked as the upsert reaches them: two writers sharing
        # enrollments queue instead of deadlocking. Rows of an enrollment being deleted (a
        # cascade) are left to the cascade.
        return f"{insert}\n        WHERE {exists}\n        {upsert}"
    join = "x.enrollment_id = d.enrollment_id AND x.category_id = d.category_id"
    add = ", ".join(
        f"{c} = CASE WHEN x.graded + d.graded = 0 THEN 0 ELSE x.{c} + d.{c} END"
        for c in ("earned", "possible")
    )
    return f"""
        PERFORM 1 FROM analytics_enrollment_categories x JOIN ({deltas}) d ON {join}
        WHERE true ORDER BY x.enrollment_id, x.category_id FOR UPDATE OF x;
        UPDATE analytics_enrollment_categories x SET {add}, graded = x.graded + d.graded
        FROM ({deltas}) d WHERE {join} AND (true);
        {insert} WHERE NOT EXISTS (SELECT 1 FROM analytics_enrollment_categories y
                          WHERE y.enrollment_id = d.enrollment_id
                          AND y.category_id = d.category_id)
            AND {exists}
        {upsert}"""


def _sums_function(name: str, one_upsert: bool) -> str:
    rows, contributions = CATEGORY_SUMS[name]
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
        f"{NESTED_LOOPS} AS $$\n"
        f"BEGIN\nIF NOT EXISTS (SELECT 1 FROM {rows}) THEN RETURN NULL; END IF;\n"
        f"{_category_sums(contributions, one_upsert)}\nRETURN NULL;\nEND $$"
    )


def _function(name: str, rows: str, by_array: bool) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
        f"{NESTED_LOOPS} AS $$\n"
        f"BEGIN\nIF NOT EXISTS (SELECT 1 FROM {rows}) THEN RETURN NULL; END IF;\n"
        f"{_recompute(rows, by_array)}\nRETURN NULL;\nEND $$"
    )


def _replace_sqlite_activity(sharded: bool) -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("DROP TRIGGER IF EXISTS analytics_audit_logs_insert")
    bind.exec_driver_sql(f"CREATE TRIGGER analytics_audit_logs_insert {_sqlite_activity(sharded)}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _replace_sqlite_activity(sharded=True)
        for event in PEOPLE_EVENTS:
            bind.exec_driver_sql(
                f"CREATE TRIGGER cache_people_{event.lower()} {_sqlite_people(event)}"
            )
        return
    for event in PEOPLE_EVENTS:
        for statement in _postgres_people(event):
            bind.exec_driver_sql(statement)
    for name, rows in RECOMPUTE.items():
        bind.exec_driver_sql(_function(name, rows, by_array=True))
    for name in CATEGORY_SUMS:
        bind.exec_driver_sql(_sums_function(name, one_upsert=True))
    bind.exec_driver_sql(_postgres_activity(sharded=True))
    for name in FUNCTIONS:
        bind.exec_driver_sql(f"ALTER FUNCTION {name}() SET jit = off")


def downgrade() -> None:
    bind = op.get_bind()
    for event in PEOPLE_EVENTS:
        name = f"cache_people_{event.lower()}"
        if bind.dialect.name == "sqlite":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON students")
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
    if bind.dialect.name == "sqlite":
        _replace_sqlite_activity(sharded=False)
        return
    for name in FUNCTIONS:
        bind.exec_driver_sql(f"ALTER FUNCTION {name}() RESET jit")
    for name, rows in RECOMPUTE.items():
        bind.exec_driver_sql(_function(name, rows, by_array=False))
    for name in CATEGORY_SUMS:
        bind.exec_driver_sql(_sums_function(name, one_upsert=False))
    bind.exec_driver_sql(_postgres_activity(sharded=False))
