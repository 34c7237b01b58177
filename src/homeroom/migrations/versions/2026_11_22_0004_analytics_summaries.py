"""analytics summaries kept by triggers

The tables of models/analytics.py, filled from the existing data, then kept by triggers in the
transaction of every write to the rows they summarize (SQLite: row triggers; PostgreSQL:
statement triggers over transition tables, set-based, taking row locks in key order). Every
adjustment is incremental: counts and sums move by what the written rows add or remove, found
by primary key; nothing rescans grades or attendance.

Also: an audit row bumps the cache tags "school:{id}:activity" and "school:all:activity" in the
same transaction. Every write leaves an audit row, so a cached dashboard (which shows them)
can never outlive a committed write, whichever code path made it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of what the SQL below must agree with (a migration never imports app code):
# grades/calculation.py's LETTER_FLOORS, and the status lists of the models.
LETTERS = (("a", 90.0, None), ("b", 80.0, 90.0), ("c", 70.0, 80.0), ("d", 60.0, 70.0))
FAILING_BELOW = 60.0
STATUSES = ("present", "absent", "late", "excused")
STUDENT_BUCKETS = ("active", "inactive", "graduated", "withdrawn", "archived")
ENROLLMENT_STATUSES = ("enrolled", "completed", "dropped")
SECTION_COUNTS = "enrolled, completed, dropped, a, b, c, d, f"

TABLES = (
    "analytics_days",
    "analytics_sessions",
    "analytics_enrollment_categories",
    "analytics_enrollments",
    "analytics_sections",
    "analytics_students",
    "analytics_schools",
)


# --- SQL fragments shared by both dialects -----------------------------------------------------


def _one(condition: str) -> str:
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _letter_condition(final: str, low: float | None, high: float | None) -> str:
    parts = []
    if low is not None:
        parts.append(f"{final} >= {low}")
    if high is not None:
        parts.append(f"{final} < {high}")
    return " AND ".join(parts)


def _grade_columns(row: str) -> dict[str, str]:
    """analytics_sections' counters as 0/1 expressions of one analytics_enrollments row."""
    final = f"{row}.final_percentage"
    graded = f"{row}.status != 'dropped'"
    out = {s: _one(f"{row}.status = {_quote(s)}") for s in ENROLLMENT_STATUSES}
    for name, low, high in LETTERS:
        out[name] = _one(f"{graded} AND {_letter_condition(final, low, high)}")
    out["f"] = _one(f"{graded} AND {final} < {FAILING_BELOW}")
    return out


def _failing(row: str) -> str:
    return _one(f"{row}.status = 'enrolled' AND {row}.final_percentage < {FAILING_BELOW}")


def _student_bucket(row: str) -> str:
    return f"(CASE WHEN {row}.archived_at IS NOT NULL THEN 'archived' ELSE {row}.status END)"


def _student_active(row: str) -> str:
    return f"({row}.status = 'active' AND {row}.archived_at IS NULL)"


def _quote(value: str) -> str:
    return f"'{value}'"


def _status_ones(row: str) -> dict[str, str]:
    return {s: _one(f"{row}.status = '{s}'") for s in STATUSES}


def _rate(prefix: str, delta: dict[str, str]) -> str:
    """attendance_rate after adding `delta` (per status) to the row's counts."""
    total = " + ".join(f"{prefix}{s} + {delta[s]}" for s in STATUSES)
    attended = f"{prefix}present + {delta['present']} + {prefix}late + {delta['late']}"
    return f"CASE WHEN ({total}) > 0 THEN CAST({attended} AS FLOAT) / ({total}) END"


_FINAL = "100.0 * sum(x.weight * x.earned / x.possible) / sum(x.weight)"


def _final(enrollment: str, round_: str) -> str:
    """The weighted final percentage of one enrollment from its category sums
    (grades/calculation.py: categories with graded work and a positive weight, renormalised)."""
    return (
        f"(SELECT {round_.format(_FINAL)} FROM analytics_enrollment_categories x "
        f"WHERE x.enrollment_id = {enrollment} AND x.graded > 0 AND x.possible > 0 "
        "AND x.weight > 0)"
    )


SQLITE_ROUND = "round({}, 2)"
POSTGRES_ROUND = "CAST(round(CAST({} AS numeric), 2) AS FLOAT)"


# --- filling the tables from existing data -----------------------------------------------------


def _rebuild(round_: str) -> list[str]:
    counts = ", ".join(f"sum({one}) AS {s}" for s, one in _status_ones("r").items())
    zero = {s: "0" for s in STATUSES}
    buckets = ", ".join(
        f"sum(CASE WHEN st.id IS NOT NULL AND {_student_bucket('st')} = '{b}' THEN 1 ELSE 0 END)"
        for b in STUDENT_BUCKETS
    )
    grade_sums = ", ".join(f"coalesce(sum({expr}), 0)" for expr in _grade_columns("e").values())
    final = round_.format(_FINAL)
    return [
        f"""INSERT INTO analytics_schools (school_id, {", ".join(STUDENT_BUCKETS)})
        SELECT sc.id, {buckets} FROM schools sc LEFT JOIN students st ON st.school_id = sc.id
        GROUP BY sc.id""",
        f"""INSERT INTO analytics_sessions (session_id, school_id, date, {", ".join(STATUSES)})
        SELECT s.id, s.school_id, s.date, {", ".join(f"coalesce(r.{x}, 0)" for x in STATUSES)}
        FROM attendance_sessions s
        LEFT JOIN (SELECT r.session_id, {counts} FROM attendance_records r
                   GROUP BY r.session_id) r ON r.session_id = s.id""",
        f"""INSERT INTO analytics_days (school_id, date, {", ".join(STATUSES)})
        SELECT school_id, date, {", ".join(f"sum({x})" for x in STATUSES)}
        FROM analytics_sessions GROUP BY school_id, date""",
        """INSERT INTO analytics_enrollment_categories
            (enrollment_id, category_id, weight, earned, possible, graded)
        SELECT g.enrollment_id, a.category_id, c.weight, sum(g.score), sum(a.max_points),
            count(*)
        FROM grades g JOIN assessments a ON a.id = g.assessment_id
        JOIN assessment_categories c ON c.id = a.category_id
        GROUP BY g.enrollment_id, a.category_id, c.weight""",
        f"""INSERT INTO analytics_enrollments
            (enrollment_id, section_id, student_id, status, final_percentage)
        SELECT e.id, e.section_id, e.student_id, e.status, f.final
        FROM enrollments e
        LEFT JOIN (SELECT x.enrollment_id, {final} AS final
                   FROM analytics_enrollment_categories x
                   WHERE x.graded > 0 AND x.possible > 0 AND x.weight > 0
                   GROUP BY x.enrollment_id) f ON f.enrollment_id = e.id""",
        f"""INSERT INTO analytics_sections
            (section_id, school_id, course_id, {SECTION_COUNTS})
        SELECT s.id, s.school_id, s.course_id, {grade_sums}
        FROM sections s LEFT JOIN analytics_enrollments e ON e.section_id = s.id
        GROUP BY s.id, s.school_id, s.course_id""",
        f"""INSERT INTO analytics_students
            (student_id, school_id, active, {", ".join(STATUSES)}, attendance_rate, failing)
        SELECT st.id, st.school_id, {_student_active("st")},
            {", ".join(f"coalesce(r.{x}, 0)" for x in STATUSES)},
            {_rate("r.", zero)}, coalesce(fl.failing, 0)
        FROM students st
        LEFT JOIN (SELECT r.student_id, {counts} FROM attendance_records r
                   GROUP BY r.student_id) r ON r.student_id = st.id
        LEFT JOIN (SELECT e.student_id, count(*) AS failing FROM analytics_enrollments e
                   WHERE {_failing("e")} = 1 GROUP BY e.student_id) fl
            ON fl.student_id = st.id""",
    ]


# --- SQLite: row triggers ----------------------------------------------------------------------


def _sqlite_triggers() -> dict[str, str]:
    t: dict[str, str] = {}
    zeros5 = ", ".join("0" for _ in STUDENT_BUCKETS)

    def school_counts(row: str, sign: str) -> str:
        sets = ", ".join(
            f"{b} = {b} {sign} {_one(f'{_student_bucket(row)} = {_quote(b)}')}"
            for b in STUDENT_BUCKETS
        )
        return f"UPDATE analytics_schools SET {sets} WHERE school_id = {row}.school_id;"

    t["analytics_schools_insert"] = f"""AFTER INSERT ON schools BEGIN
        INSERT INTO analytics_schools (school_id, {", ".join(STUDENT_BUCKETS)})
        VALUES (NEW.id, {zeros5});
    END"""
    t["analytics_students_insert"] = f"""AFTER INSERT ON students BEGIN
        INSERT INTO analytics_students (student_id, school_id, active, {", ".join(STATUSES)},
            attendance_rate, failing)
        VALUES (NEW.id, NEW.school_id, {_student_active("NEW")}, 0, 0, 0, 0, NULL, 0);
        {school_counts("NEW", "+")}
    END"""
    t["analytics_students_update"] = f"""AFTER UPDATE OF school_id, status, archived_at
        ON students BEGIN
        UPDATE analytics_students SET school_id = NEW.school_id,
            active = {_student_active("NEW")} WHERE student_id = NEW.id;
        {school_counts("OLD", "-")}
        {school_counts("NEW", "+")}
    END"""
    t["analytics_students_delete"] = f"""AFTER DELETE ON students BEGIN
        {school_counts("OLD", "-")}
    END"""

    t["analytics_sections_insert"] = f"""AFTER INSERT ON sections BEGIN
        INSERT INTO analytics_sections (section_id, school_id, course_id, {SECTION_COUNTS})
        VALUES (NEW.id, NEW.school_id, NEW.course_id, 0, 0, 0, 0, 0, 0, 0, 0);
    END"""
    t["analytics_sections_update"] = """AFTER UPDATE OF school_id, course_id ON sections BEGIN
        UPDATE analytics_sections SET school_id = NEW.school_id, course_id = NEW.course_id
        WHERE section_id = NEW.id;
    END"""

    t["analytics_enrollments_insert"] = """AFTER INSERT ON enrollments BEGIN
        INSERT INTO analytics_enrollments
            (enrollment_id, section_id, student_id, status, final_percentage)
        VALUES (NEW.id, NEW.section_id, NEW.student_id, NEW.status, NULL);
    END"""
    t["analytics_enrollments_update"] = """AFTER UPDATE OF section_id, student_id, status
        ON enrollments BEGIN
        UPDATE analytics_enrollments SET section_id = NEW.section_id,
            student_id = NEW.student_id, status = NEW.status
        WHERE enrollment_id = NEW.id;
    END"""

    def section_counts(row: str, sign: str) -> str:
        sets = ", ".join(f"{c} = {c} {sign} {e}" for c, e in _grade_columns(row).items())
        return f"UPDATE analytics_sections SET {sets} WHERE section_id = {row}.section_id;"

    def failing(row: str, sign: str) -> str:
        return (
            f"UPDATE analytics_students SET failing = failing {sign} {_failing(row)} "
            f"WHERE student_id = {row}.student_id;"
        )

    new_cols, old_cols = _grade_columns("NEW"), _grade_columns("OLD")
    changed = " OR ".join(f"{new_cols[c]} != {old_cols[c]}" for c in new_cols)
    t["analytics_summary_enrollment_insert"] = f"""AFTER INSERT ON analytics_enrollments BEGIN
        {section_counts("NEW", "+")}
        {failing("NEW", "+")}
    END"""
    t["analytics_summary_enrollment_update"] = f"""AFTER UPDATE ON analytics_enrollments
        WHEN OLD.section_id != NEW.section_id OR OLD.student_id != NEW.student_id
            OR {changed} BEGIN
        {section_counts("OLD", "-")}
        {section_counts("NEW", "+")}
        {failing("OLD", "-")}
        {failing("NEW", "+")}
    END"""
    t["analytics_summary_enrollment_delete"] = f"""AFTER DELETE ON analytics_enrollments BEGIN
        {section_counts("OLD", "-")}
        {failing("OLD", "-")}
    END"""

    def add_grade(row: str) -> str:
        return f"""INSERT INTO analytics_enrollment_categories
            (enrollment_id, category_id, weight, earned, possible, graded)
        SELECT {row}.enrollment_id, a.category_id, c.weight, {row}.score, a.max_points, 1
        FROM assessments a JOIN assessment_categories c ON c.id = a.category_id
        WHERE a.id = {row}.assessment_id
        ON CONFLICT (enrollment_id, category_id) DO UPDATE SET
            earned = earned + excluded.earned, possible = possible + excluded.possible,
            graded = graded + 1;"""

    def remove_grade(row: str) -> str:
        # At zero graded, the sums are reset exactly (no floating-point residue).
        return f"""UPDATE analytics_enrollment_categories SET
            earned = CASE WHEN graded = 1 THEN 0 ELSE earned - {row}.score END,
            possible = CASE WHEN graded = 1 THEN 0 ELSE possible - (
                SELECT a.max_points FROM assessments a WHERE a.id = {row}.assessment_id) END,
            graded = graded - 1
        WHERE enrollment_id = {row}.enrollment_id AND category_id = (
            SELECT a.category_id FROM assessments a WHERE a.id = {row}.assessment_id);"""

    t["analytics_grades_insert"] = f"""AFTER INSERT ON grades BEGIN
        {add_grade("NEW")}
    END"""
    t["analytics_grades_rescore"] = """AFTER UPDATE OF score ON grades
        WHEN OLD.enrollment_id = NEW.enrollment_id AND OLD.assessment_id = NEW.assessment_id
            AND OLD.score != NEW.score BEGIN
        UPDATE analytics_enrollment_categories SET earned = earned + (NEW.score - OLD.score)
        WHERE enrollment_id = NEW.enrollment_id AND category_id = (
            SELECT a.category_id FROM assessments a WHERE a.id = NEW.assessment_id);
    END"""
    t["analytics_grades_move"] = f"""AFTER UPDATE OF enrollment_id, assessment_id ON grades
        WHEN OLD.enrollment_id != NEW.enrollment_id
            OR OLD.assessment_id != NEW.assessment_id BEGIN
        {remove_grade("OLD")}
        {add_grade("NEW")}
    END"""
    t["analytics_grades_delete"] = f"""AFTER DELETE ON grades BEGIN
        {remove_grade("OLD")}
    END"""

    def recompute(row: str) -> str:
        return (
            "UPDATE analytics_enrollments SET final_percentage = "
            f"{_final('analytics_enrollments.enrollment_id', SQLITE_ROUND)} "
            f"WHERE enrollment_id = {row}.enrollment_id;"
        )

    t["analytics_summary_category_insert"] = f"""AFTER INSERT
        ON analytics_enrollment_categories BEGIN {recompute("NEW")} END"""
    t["analytics_summary_category_update"] = f"""AFTER UPDATE
        ON analytics_enrollment_categories BEGIN {recompute("NEW")} END"""
    t["analytics_summary_category_delete"] = f"""AFTER DELETE
        ON analytics_enrollment_categories BEGIN {recompute("OLD")} END"""

    # Deleting an assessment deletes its grades first, while the assessment still exists, so
    # each grade's removal finds its category and points (a cascade would run after it is gone).
    t["analytics_assessments_delete"] = """BEFORE DELETE ON assessments BEGIN
        DELETE FROM grades WHERE assessment_id = OLD.id;
    END"""
    t["analytics_assessments_update"] = """AFTER UPDATE OF category_id, max_points
        ON assessments WHEN OLD.category_id != NEW.category_id
            OR OLD.max_points != NEW.max_points BEGIN
        UPDATE analytics_enrollment_categories SET
            earned = CASE WHEN graded = 1 THEN 0 ELSE earned - (
                SELECT g.score FROM grades g WHERE g.assessment_id = OLD.id
                AND g.enrollment_id = analytics_enrollment_categories.enrollment_id) END,
            possible = CASE WHEN graded = 1 THEN 0 ELSE possible - OLD.max_points END,
            graded = graded - 1
        WHERE category_id = OLD.category_id
            AND enrollment_id IN (SELECT g.enrollment_id FROM grades g
                                  WHERE g.assessment_id = OLD.id);
        INSERT INTO analytics_enrollment_categories
            (enrollment_id, category_id, weight, earned, possible, graded)
        SELECT g.enrollment_id, NEW.category_id, c.weight, g.score, NEW.max_points, 1
        FROM grades g JOIN assessment_categories c ON c.id = NEW.category_id
        WHERE g.assessment_id = NEW.id
        ON CONFLICT (enrollment_id, category_id) DO UPDATE SET
            earned = earned + excluded.earned, possible = possible + excluded.possible,
            graded = graded + 1;
    END"""
    t["analytics_categories_update"] = """AFTER UPDATE OF weight ON assessment_categories
        WHEN OLD.weight != NEW.weight BEGIN
        UPDATE analytics_enrollment_categories SET weight = NEW.weight
        WHERE category_id = NEW.id;
    END"""

    t["analytics_attendance_sessions_insert"] = f"""AFTER INSERT ON attendance_sessions BEGIN
        INSERT OR IGNORE INTO analytics_days (school_id, date, {", ".join(STATUSES)})
        VALUES (NEW.school_id, NEW.date, 0, 0, 0, 0);
        INSERT INTO analytics_sessions (session_id, school_id, date, {", ".join(STATUSES)})
        VALUES (NEW.id, NEW.school_id, NEW.date, 0, 0, 0, 0);
    END"""
    t["analytics_attendance_sessions_update"] = f"""AFTER UPDATE OF school_id, date
        ON attendance_sessions BEGIN
        INSERT OR IGNORE INTO analytics_days (school_id, date, {", ".join(STATUSES)})
        VALUES (NEW.school_id, NEW.date, 0, 0, 0, 0);
        UPDATE analytics_sessions SET school_id = NEW.school_id, date = NEW.date
        WHERE session_id = NEW.id;
    END"""

    def day_counts(row: str, sign: str) -> str:
        sets = ", ".join(f"{s} = {s} {sign} {row}.{s}" for s in STATUSES)
        return (
            f"UPDATE analytics_days SET {sets} "
            f"WHERE school_id = {row}.school_id AND date = {row}.date;"
        )

    same_day = "OLD.school_id = NEW.school_id AND OLD.date = NEW.date"
    t["analytics_summary_session_insert"] = f"""AFTER INSERT ON analytics_sessions BEGIN
        {day_counts("NEW", "+")}
    END"""
    t["analytics_summary_session_update"] = f"""AFTER UPDATE ON analytics_sessions
        WHEN {same_day} BEGIN
        UPDATE analytics_days SET
            {", ".join(f"{s} = {s} + NEW.{s} - OLD.{s}" for s in STATUSES)}
        WHERE school_id = NEW.school_id AND date = NEW.date;
    END"""
    t["analytics_summary_session_move"] = f"""AFTER UPDATE ON analytics_sessions
        WHEN NOT ({same_day}) BEGIN
        {day_counts("OLD", "-")}
        {day_counts("NEW", "+")}
    END"""
    t["analytics_summary_session_delete"] = f"""AFTER DELETE ON analytics_sessions BEGIN
        {day_counts("OLD", "-")}
    END"""

    def record(row: str, sign: str) -> str:
        ones = _status_ones(row)
        delta = {s: f"({sign}{ones[s]})" for s in STATUSES}
        sessions = ", ".join(f"{s} = {s} + {delta[s]}" for s in STATUSES)
        students = ", ".join(f"{s} = {s} + {delta[s]}" for s in STATUSES)
        return f"""UPDATE analytics_sessions SET {sessions} WHERE session_id = {row}.session_id;
        UPDATE analytics_students SET {students}, attendance_rate = {_rate("", delta)}
        WHERE student_id = {row}.student_id;"""

    t["analytics_attendance_records_insert"] = f"""AFTER INSERT ON attendance_records BEGIN
        {record("NEW", "+")}
    END"""
    new_ones, old_ones = _status_ones("NEW"), _status_ones("OLD")
    moved = {s: f"({new_ones[s]} - {old_ones[s]})" for s in STATUSES}
    t["analytics_attendance_records_restatus"] = f"""AFTER UPDATE OF status ON attendance_records
        WHEN OLD.session_id = NEW.session_id AND OLD.student_id = NEW.student_id
            AND OLD.status != NEW.status BEGIN
        UPDATE analytics_sessions SET {", ".join(f"{s} = {s} + {moved[s]}" for s in STATUSES)}
        WHERE session_id = NEW.session_id;
        UPDATE analytics_students SET {", ".join(f"{s} = {s} + {moved[s]}" for s in STATUSES)},
            attendance_rate = {_rate("", moved)}
        WHERE student_id = NEW.student_id;
    END"""
    t["analytics_attendance_records_move"] = f"""AFTER UPDATE OF session_id, student_id
        ON attendance_records WHEN OLD.session_id != NEW.session_id
            OR OLD.student_id != NEW.student_id BEGIN
        {record("OLD", "-")}
        {record("NEW", "+")}
    END"""
    t["analytics_attendance_records_delete"] = f"""AFTER DELETE ON attendance_records BEGIN
        {record("OLD", "-")}
    END"""

    t["analytics_audit_logs_insert"] = """AFTER INSERT ON audit_logs BEGIN
        INSERT INTO cache_versions (tag, version)
        SELECT 'school:' || NEW.school_id || ':activity', random()
        WHERE NEW.school_id IS NOT NULL
        ON CONFLICT (tag) DO UPDATE SET version = excluded.version;
        INSERT INTO cache_versions (tag, version) VALUES ('school:all:activity', random())
        ON CONFLICT (tag) DO UPDATE SET version = excluded.version;
    END"""
    return t


# --- PostgreSQL: statement triggers over transition tables -------------------------------------


def _signed(source: str) -> str:
    """The transition tables' rows as deltas: +1 for new rows, -1 for old ones ("new", "old"
    or "both"). Summed per summary row, an unchanged row cancels out exactly: the summaries
    then skip the zero sums. (Joining old to new rows to find the changed ones instead costs a
    join the planner cannot estimate: it chose nested loops, 29 s for 14,000 rows.)"""
    new = "SELECT 1 AS sign, n.* FROM new_rows n"
    old = "SELECT -1 AS sign, o.* FROM old_rows o"
    return {"new": new, "old": old, "both": f"{new} UNION ALL {old}"}[source]


def _apply(table: str, keys: tuple[str, ...], grouped: str, sets: str, nonzero: str) -> str:
    """Adds the deltas of `grouped` (one row per key) to `table`'s rows, skipping zero ones.
    The rows are locked in key order first: two transactions adjusting the same summary rows
    (two teachers' bulk writes sharing students) then queue instead of deadlocking."""
    join = " AND ".join(f"x.{k} = d.{k}" for k in keys)
    order = ", ".join(f"x.{k}" for k in keys)
    return f"""
        PERFORM 1 FROM {table} x JOIN ({grouped}) d ON {join}
        WHERE {nonzero} ORDER BY {order} FOR UPDATE OF x;
        UPDATE {table} x SET {sets} FROM ({grouped}) d WHERE {join} AND ({nonzero});"""


def _postgres_functions() -> dict[str, tuple[str, str, str]]:
    """name -> (table, event, body). Each becomes a plpgsql function and an AFTER ... FOR EACH
    STATEMENT trigger with the transition tables its event has."""
    f: dict[str, tuple[str, str, str]] = {}
    buckets = ", ".join(STUDENT_BUCKETS)
    statuses = ", ".join(STATUSES)
    events = (("INSERT", "new"), ("UPDATE", "both"), ("DELETE", "old"))

    f["analytics_schools_insert"] = (
        "schools",
        "INSERT",
        f"""INSERT INTO analytics_schools (school_id, {buckets})
        SELECT id, {", ".join("0" for _ in STUDENT_BUCKETS)} FROM new_rows;""",
    )

    def school_counts(source: str) -> str:
        deltas = _signed(source)
        bucket = _student_bucket("d")
        sums = ", ".join(
            f"sum(d.sign * {_one(f'{bucket} = {_quote(b)}')}) AS {b}" for b in STUDENT_BUCKETS
        )
        grouped = f"SELECT d.school_id, {sums} FROM ({deltas}) d GROUP BY d.school_id"
        sets = ", ".join(f"{b} = x.{b} + d.{b}" for b in STUDENT_BUCKETS)
        nonzero = " OR ".join(f"d.{b} != 0" for b in STUDENT_BUCKETS)
        return _apply("analytics_schools", ("school_id",), grouped, sets, nonzero)

    f["analytics_students_insert"] = (
        "students",
        "INSERT",
        f"""INSERT INTO analytics_students (student_id, school_id, active,
            {statuses}, attendance_rate, failing)
        SELECT n.id, n.school_id, {_student_active("n")}, 0, 0, 0, 0, NULL, 0
        FROM new_rows n ORDER BY n.id;
        {school_counts("new")}""",
    )
    f["analytics_students_update"] = (
        "students",
        "UPDATE",
        f"""UPDATE analytics_students x SET school_id = n.school_id,
            active = {_student_active("n")}
        FROM new_rows n WHERE x.student_id = n.id
            AND (x.school_id, x.active) IS DISTINCT FROM (n.school_id, {_student_active("n")});
        {school_counts("both")}""",
    )
    f["analytics_students_delete"] = ("students", "DELETE", school_counts("old"))

    f["analytics_sections_insert"] = (
        "sections",
        "INSERT",
        f"""INSERT INTO analytics_sections (section_id, school_id, course_id, {SECTION_COUNTS})
        SELECT id, school_id, course_id, 0, 0, 0, 0, 0, 0, 0, 0 FROM new_rows;""",
    )
    f["analytics_sections_update"] = (
        "sections",
        "UPDATE",
        """UPDATE analytics_sections x SET school_id = n.school_id, course_id = n.course_id
        FROM new_rows n WHERE x.section_id = n.id
            AND (x.school_id, x.course_id) IS DISTINCT FROM (n.school_id, n.course_id);""",
    )

    f["analytics_enrollments_insert"] = (
        "enrollments",
        "INSERT",
        """INSERT INTO analytics_enrollments
            (enrollment_id, section_id, student_id, status, final_percentage)
        SELECT id, section_id, student_id, status, NULL FROM new_rows
        ORDER BY id;""",
    )
    f["analytics_enrollments_update"] = (
        "enrollments",
        "UPDATE",
        """PERFORM 1 FROM analytics_enrollments x JOIN new_rows n ON n.id = x.enrollment_id
        ORDER BY x.enrollment_id FOR UPDATE OF x;
        UPDATE analytics_enrollments x SET section_id = n.section_id,
            student_id = n.student_id, status = n.status
        FROM new_rows n WHERE x.enrollment_id = n.id
            AND (x.section_id, x.student_id, x.status)
                IS DISTINCT FROM (n.section_id, n.student_id, n.status);""",
    )

    def grade_summaries(source: str) -> str:
        deltas = _signed(source)
        cols = _grade_columns("d")
        sums = ", ".join(f"sum(d.sign * {e}) AS {c}" for c, e in cols.items())
        by_section = f"SELECT d.section_id, {sums} FROM ({deltas}) d GROUP BY d.section_id"
        by_student = (
            f"SELECT d.student_id, sum(d.sign * {_failing('d')}) AS failing "
            f"FROM ({deltas}) d GROUP BY d.student_id"
        )
        return _apply(
            "analytics_sections",
            ("section_id",),
            by_section,
            ", ".join(f"{c} = x.{c} + d.{c}" for c in cols),
            " OR ".join(f"d.{c} != 0" for c in cols),
        ) + _apply(
            "analytics_students",
            ("student_id",),
            by_student,
            "failing = x.failing + d.failing",
            "d.failing != 0",
        )

    for event, source in events:
        f[f"analytics_summary_enrollment_{event.lower()}"] = (
            "analytics_enrollments",
            event,
            grade_summaries(source),
        )

    def category_sums(contributions: str, inserted: bool = False) -> str:
        """Adds graded work to the enrollments' category sums. `contributions` yields (sign,
        enrollment_id, category_id, score, max_points) rows; per enrollment and category
        they are summed, so an unchanged grade cancels out exactly and a score change moves
        `earned` by new - old; at zero graded the sums are reset (no floating-point residue).
        Existing rows are updated in key order, new ones inserted for enrollments that still
        exist (a cascade from a deleted enrollment has none). Grades just inserted have their
        enrollment: one upsert in key order does it all (a seed's 50,000-row chunks)."""
        deltas = f"""SELECT g.enrollment_id, g.category_id, min(c.weight) AS weight,
                sum(g.sign * g.score) AS earned, sum(g.sign * g.max_points) AS possible,
                sum(g.sign) AS graded
            FROM ({contributions}) g JOIN assessment_categories c ON c.id = g.category_id
            GROUP BY g.enrollment_id, g.category_id
            HAVING sum(g.sign) != 0 OR sum(g.sign * g.score) != 0
                OR sum(g.sign * g.max_points) != 0"""
        add = ", ".join(
            f"{c} = CASE WHEN x.graded + d.graded = 0 THEN 0 ELSE x.{c} + d.{c} END"
            for c in ("earned", "possible")
        )
        update = _apply(
            "analytics_enrollment_categories",
            ("enrollment_id", "category_id"),
            deltas,
            f"{add}, graded = x.graded + d.graded",
            "true",
        )
        only_new = """WHERE NOT EXISTS (SELECT 1 FROM analytics_enrollment_categories y
                          WHERE y.enrollment_id = d.enrollment_id
                          AND y.category_id = d.category_id)
            AND EXISTS (SELECT 1 FROM enrollments e WHERE e.id = d.enrollment_id)"""
        upsert = f"""
        INSERT INTO analytics_enrollment_categories AS x
            (enrollment_id, category_id, weight, earned, possible, graded)
        SELECT d.enrollment_id, d.category_id, d.weight, d.earned, d.possible, d.graded
        FROM ({deltas}) d {"" if inserted else only_new}
        ORDER BY d.enrollment_id, d.category_id
        ON CONFLICT (enrollment_id, category_id) DO UPDATE SET
            earned = CASE WHEN x.graded + excluded.graded = 0 THEN 0
                ELSE x.earned + excluded.earned END,
            possible = CASE WHEN x.graded + excluded.graded = 0 THEN 0
                ELSE x.possible + excluded.possible END,
            graded = x.graded + excluded.graded;"""
        return upsert if inserted else update + upsert

    def grades(source: str) -> str:
        return category_sums(
            f"""SELECT g.sign, g.enrollment_id, a.category_id, g.score, a.max_points
            FROM ({_signed(source)}) g JOIN assessments a ON a.id = g.assessment_id""",
            inserted=source == "new",
        )

    f["analytics_grades_insert"] = ("grades", "INSERT", grades("new"))
    f["analytics_grades_update"] = ("grades", "UPDATE", grades("both"))
    f["analytics_grades_delete"] = ("grades", "DELETE", grades("old"))

    def recompute(enrollments: str) -> str:
        return f"""
        PERFORM 1 FROM analytics_enrollments x
        WHERE x.enrollment_id IN ({enrollments})
        ORDER BY x.enrollment_id FOR UPDATE OF x;
        UPDATE analytics_enrollments x SET final_percentage = d.final
        FROM (SELECT e.enrollment_id, {_final("e.enrollment_id", POSTGRES_ROUND)} AS final
              FROM (SELECT DISTINCT k.enrollment_id FROM ({enrollments}) k) e) d
        WHERE x.enrollment_id = d.enrollment_id
            AND x.final_percentage IS DISTINCT FROM d.final;"""

    for event, rows in (("INSERT", "new_rows"), ("UPDATE", "new_rows"), ("DELETE", "old_rows")):
        f[f"analytics_summary_category_{event.lower()}"] = (
            "analytics_enrollment_categories",
            event,
            recompute(f"SELECT enrollment_id FROM {rows}"),
        )

    # An assessment's new points or category: its grades leave the old category sums and
    # join the new ones (a title change cancels out).
    f["analytics_assessments_update"] = (
        "assessments",
        "UPDATE",
        category_sums(
            """SELECT -1 AS sign, g.enrollment_id, o.category_id, g.score, o.max_points
            FROM old_rows o JOIN grades g ON g.assessment_id = o.id
            UNION ALL
            SELECT 1, g.enrollment_id, n.category_id, g.score, n.max_points
            FROM new_rows n JOIN grades g ON g.assessment_id = n.id"""
        ),
    )
    f["analytics_categories_update"] = (
        "assessment_categories",
        "UPDATE",
        """PERFORM 1 FROM analytics_enrollment_categories x JOIN new_rows n ON n.id = x.category_id
        WHERE x.weight IS DISTINCT FROM n.weight
        ORDER BY x.enrollment_id, x.category_id FOR UPDATE OF x;
        UPDATE analytics_enrollment_categories x SET weight = n.weight
        FROM new_rows n WHERE x.category_id = n.id AND x.weight IS DISTINCT FROM n.weight;""",
    )

    new_days = f"""INSERT INTO analytics_days (school_id, date, {statuses})
        SELECT DISTINCT school_id, date, 0, 0, 0, 0 FROM new_rows
        ORDER BY school_id, date ON CONFLICT DO NOTHING;"""
    f["analytics_attendance_sessions_insert"] = (
        "attendance_sessions",
        "INSERT",
        f"""{new_days}
        INSERT INTO analytics_sessions (session_id, school_id, date, {statuses})
        SELECT id, school_id, date, 0, 0, 0, 0 FROM new_rows;""",
    )
    f["analytics_attendance_sessions_update"] = (
        "attendance_sessions",
        "UPDATE",
        f"""{new_days}
        PERFORM 1 FROM analytics_sessions x JOIN new_rows n ON n.id = x.session_id
        ORDER BY x.session_id FOR UPDATE OF x;
        UPDATE analytics_sessions x SET school_id = n.school_id, date = n.date
        FROM new_rows n WHERE x.session_id = n.id
            AND (x.school_id, x.date) IS DISTINCT FROM (n.school_id, n.date);""",
    )

    def days(source: str) -> str:
        deltas = _signed(source)
        sums = ", ".join(f"sum(d.sign * d.{s}) AS {s}" for s in STATUSES)
        grouped = f"SELECT d.school_id, d.date, {sums} FROM ({deltas}) d GROUP BY 1, 2"
        return _apply(
            "analytics_days",
            ("school_id", "date"),
            grouped,
            ", ".join(f"{s} = x.{s} + d.{s}" for s in STATUSES),
            " OR ".join(f"d.{s} != 0" for s in STATUSES),
        )

    for event, source in events:
        f[f"analytics_summary_session_{event.lower()}"] = (
            "analytics_sessions",
            event,
            days(source),
        )

    def records(source: str) -> str:
        deltas = _signed(source)
        ones = _status_ones("d")
        sums = ", ".join(f"sum(d.sign * {ones[s]}) AS {s}" for s in STATUSES)
        sets = ", ".join(f"{s} = x.{s} + d.{s}" for s in STATUSES)
        rate = _rate("x.", {s: f"d.{s}" for s in STATUSES})
        nonzero = " OR ".join(f"d.{s} != 0" for s in STATUSES)
        return _apply(
            "analytics_sessions",
            ("session_id",),
            f"SELECT d.session_id, {sums} FROM ({deltas}) d GROUP BY d.session_id",
            sets,
            nonzero,
        ) + _apply(
            "analytics_students",
            ("student_id",),
            f"SELECT d.student_id, {sums} FROM ({deltas}) d GROUP BY d.student_id",
            f"{sets}, attendance_rate = {rate}",
            nonzero,
        )

    for event, source in events:
        f[f"analytics_attendance_records_{event.lower()}"] = (
            "attendance_records",
            event,
            records(source),
        )

    f["analytics_audit_logs_insert"] = (
        "audit_logs",
        "INSERT",
        """INSERT INTO cache_versions (tag, version)
        SELECT t.tag, CAST(random() * 9.2e18 AS BIGINT) FROM (
            SELECT DISTINCT 'school:' || school_id || ':activity' AS tag FROM new_rows
            WHERE school_id IS NOT NULL
            UNION SELECT 'school:all:activity') t
        ORDER BY t.tag
        ON CONFLICT (tag) DO UPDATE SET version = excluded.version;""",
    )
    return f


# The planner knows how many rows a transition table holds but nothing of their values: for a
# 40-row write it estimated ~80 groups and hashed whole summary tables (a seq scan of 7,446
# sections, 50,000 students: 8-40 ms per statement). Every summary row is reached by its key,
# so the functions plan with nested loops over the indexes (a 50,000-row seed chunk too).
NESTED_LOOPS = "SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off"

_REFERENCING = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def _postgres_ddl() -> list[str]:
    out = []
    for name, (table, event, body) in _postgres_functions().items():
        # A statement that wrote no row (an UPDATE matching nothing, a cascade's empty step)
        # costs one probe instead of the whole body.
        rows = "old_rows" if event == "DELETE" else "new_rows"
        out.append(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql {NESTED_LOOPS} AS $$\n"
            f"BEGIN\nIF NOT EXISTS (SELECT 1 FROM {rows}) THEN RETURN NULL; END IF;\n"
            f"{body}\nRETURN NULL;\nEND $$"
        )
        out.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {_REFERENCING[event]} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    # See the SQLite trigger of the same name: grades go while their assessment still exists.
    out.append(
        "CREATE FUNCTION analytics_assessments_delete() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\nDELETE FROM grades WHERE assessment_id = OLD.id;\nRETURN OLD;\nEND $$"
    )
    out.append(
        "CREATE TRIGGER analytics_assessments_delete BEFORE DELETE ON assessments "
        "FOR EACH ROW EXECUTE FUNCTION analytics_assessments_delete()"
    )
    return out


def _postgres_names() -> list[tuple[str, str]]:
    names = [(name, table) for name, (table, _, _) in _postgres_functions().items()]
    return [*names, ("analytics_assessments_delete", "assessments")]


# --- the migration -----------------------------------------------------------------------------


def _create_tables() -> None:
    op.create_table(
        "analytics_schools",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("inactive", sa.Integer(), nullable=False),
        sa.Column("graduated", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_analytics_schools_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_analytics_schools")),
    )
    op.create_table(
        "analytics_students",
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("absent", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("excused", sa.Integer(), nullable=False),
        sa.Column("attendance_rate", sa.Float(), nullable=True),
        sa.Column("failing", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_analytics_students_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_analytics_students_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", name=op.f("pk_analytics_students")),
    )
    op.create_index(
        op.f("ix_analytics_students_school_id_active_failing_attendance_rate"),
        "analytics_students",
        ["school_id", "active", "failing", "attendance_rate"],
        unique=False,
    )
    op.create_table(
        "analytics_sections",
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.Column("a", sa.Integer(), nullable=False),
        sa.Column("b", sa.Integer(), nullable=False),
        sa.Column("c", sa.Integer(), nullable=False),
        sa.Column("d", sa.Integer(), nullable=False),
        sa.Column("f", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_analytics_sections_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_analytics_sections_section_id_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("section_id", name=op.f("pk_analytics_sections")),
    )
    op.create_index(
        "ix_analytics_sections_course_counts",
        "analytics_sections",
        ["school_id", "course_id", *SECTION_COUNTS.split(", ")],
        unique=False,
    )
    op.create_table(
        "analytics_enrollments",
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("final_percentage", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_analytics_enrollments_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_analytics_enrollments")),
    )
    op.create_index(
        op.f("ix_analytics_enrollments_section_id"),
        "analytics_enrollments",
        ["section_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_analytics_enrollments_student_id"),
        "analytics_enrollments",
        ["student_id"],
        unique=False,
    )
    op.create_table(
        "analytics_enrollment_categories",
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("earned", sa.Float(), nullable=False),
        sa.Column("possible", sa.Float(), nullable=False),
        sa.Column("graded", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["assessment_categories.id"],
            name=op.f("fk_analytics_enrollment_categories_category_id_assessment_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_analytics_enrollment_categories_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enrollment_id", "category_id", name=op.f("pk_analytics_enrollment_categories")
        ),
    )
    op.create_index(
        op.f("ix_analytics_enrollment_categories_category_id_enrollment_id"),
        "analytics_enrollment_categories",
        ["category_id", "enrollment_id"],
        unique=False,
    )
    op.create_table(
        "analytics_sessions",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("absent", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("excused", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["attendance_sessions.id"],
            name=op.f("fk_analytics_sessions_session_id_attendance_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_analytics_sessions")),
    )
    op.create_table(
        "analytics_days",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("absent", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("excused", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_analytics_days_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", "date", name=op.f("pk_analytics_days")),
    )


def _run(statement: str) -> None:
    # The driver's own SQL: text() would read "':activity'" as a bind parameter.
    op.get_bind().exec_driver_sql(statement)


def upgrade() -> None:
    _create_tables()
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        # Filling the tables aggregates every grade and attendance record once: minutes on a
        # district, past the application's statement timeout, and faster with room to hash.
        _run("SET LOCAL statement_timeout = 0")
        _run("SET LOCAL work_mem = '256MB'")
    for statement in _rebuild(SQLITE_ROUND if sqlite else POSTGRES_ROUND):
        _run(statement)
    if sqlite:
        for name, body in _sqlite_triggers().items():
            _run(f"CREATE TRIGGER {name} {body}")
    else:
        for statement in _postgres_ddl():
            _run(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _sqlite_triggers():
            _run(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name, table in _postgres_names():
            _run(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            _run(f"DROP FUNCTION IF EXISTS {name}()")
    for table in TABLES:
        op.drop_table(table)
