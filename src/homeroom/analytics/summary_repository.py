"""The summary tables of models/analytics.py filled from the rows they summarize, set-based.

Database triggers keep the summaries in step with every write (migrations 0004, 0005, 0008). A
seed turns the triggers off for its load and runs these statements once after it, in the same
transaction (seed/writers.py); the tests compare the tables the triggers kept with these.

These are the application's current rules (the final percentage and its letter as
grades/calculation.py has them). Each migration keeps its own copy of the SQL it ran, so a
rule changed here reaches existing databases only through a new migration that changes the
triggers and recomputes the rows.
"""

from homeroom.enums import ATTENDANCE_STATUSES, STUDENT_STATUSES
from homeroom.grades import calculation

# Dependency order: a table is filled from those before it.
TABLES = (
    "analytics_schools",
    "analytics_sessions",
    "analytics_days",
    "analytics_enrollment_categories",
    "analytics_enrollments",
    "analytics_sections",
    "analytics_students",
)

STUDENT_BUCKETS = (*STUDENT_STATUSES, "archived")  # archived students counted apart
ENROLLMENT_COUNTS = ("enrolled", "completed", "dropped")
FAILING_BELOW = calculation.LETTER_FLOORS[-1][1]


def _quote(value: str) -> str:
    return f"'{value}'"


def _one(condition: str) -> str:
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _letters(final: str) -> dict[str, str]:
    """letter column -> the condition on `final` that gives it (grades/calculation.py)."""
    out = {}
    ceiling: float | None = None
    for name, floor in calculation.LETTER_FLOORS:
        below = "" if ceiling is None else f" AND {final} < {ceiling}"
        out[name.lower()] = f"{final} >= {floor}{below}"
        ceiling = floor
    out["f"] = f"{final} < {FAILING_BELOW}"
    return out


def _section_counts(row: str) -> dict[str, str]:
    """analytics_sections' counters as 0/1 expressions of one analytics_enrollments row."""
    graded = f"{row}.status != 'dropped'"
    out = {s: _one(f"{row}.status = '{s}'") for s in ENROLLMENT_COUNTS}
    for name, condition in _letters(f"{row}.final_percentage").items():
        out[name] = _one(f"{graded} AND {condition}")
    return out


def _failing(row: str) -> str:
    return _one(f"{row}.status = 'enrolled' AND {row}.final_percentage < {FAILING_BELOW}")


def _student_bucket(row: str) -> str:
    return f"(CASE WHEN {row}.archived_at IS NOT NULL THEN 'archived' ELSE {row}.status END)"


def _student_active(row: str) -> str:
    return f"({row}.status = 'active' AND {row}.archived_at IS NULL)"


def _attendance_rate(row: str) -> str:
    total = " + ".join(f"{row}.{s}" for s in ATTENDANCE_STATUSES)
    attended = f"{row}.present + {row}.late"
    return f"CASE WHEN ({total}) > 0 THEN CAST({attended} AS FLOAT) / ({total}) END"


def final_percentage(sqlite: bool) -> str:
    """The final percentage of the enrollment of the analytics_enrollment_categories rows `x`
    grouped by it: categories with graded work and a positive weight, renormalised, rounded
    as grades/calculation.to_cents rounds (SQLite's CAST truncates: the floor of a value that
    is never negative)."""
    weighted = "100.0 * sum(x.weight * x.earned / x.possible) / sum(x.weight)"
    cents = f"({weighted}) * 100.0 + {calculation.HALF_UP!r}"
    whole = f"CAST({cents} AS INTEGER)" if sqlite else f"floor({cents})"
    return f"{whole} / 100.0"


def fill_statements(sqlite: bool) -> list[str]:
    """INSERTs that fill the empty summary tables, in the order of TABLES."""
    statuses = ", ".join(ATTENDANCE_STATUSES)
    status_sums = ", ".join(
        f"sum({_one(f'r.status = {_quote(s)}')}) AS {s}" for s in ATTENDANCE_STATUSES
    )
    status_counts = ", ".join(f"coalesce(r.{s}, 0)" for s in ATTENDANCE_STATUSES)
    buckets = ", ".join(
        f"sum(CASE WHEN st.id IS NOT NULL AND {_student_bucket('st')} = '{b}' THEN 1 ELSE 0 END)"
        for b in STUDENT_BUCKETS
    )
    section_counts = _section_counts("e")
    return [
        f"""INSERT INTO analytics_schools (school_id, {", ".join(STUDENT_BUCKETS)})
        SELECT sc.id, {buckets} FROM schools sc LEFT JOIN students st ON st.school_id = sc.id
        GROUP BY sc.id""",
        f"""INSERT INTO analytics_sessions (session_id, school_id, date, {statuses})
        SELECT s.id, s.school_id, s.date, {status_counts}
        FROM attendance_sessions s
        LEFT JOIN (SELECT r.session_id, {status_sums} FROM attendance_records r
                   GROUP BY r.session_id) r ON r.session_id = s.id""",
        f"""INSERT INTO analytics_days (school_id, date, {statuses})
        SELECT school_id, date, {", ".join(f"sum({s})" for s in ATTENDANCE_STATUSES)}
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
        LEFT JOIN (SELECT x.enrollment_id, {final_percentage(sqlite)} AS final
                   FROM analytics_enrollment_categories x
                   WHERE x.graded > 0 AND x.possible > 0 AND x.weight > 0
                   GROUP BY x.enrollment_id) f ON f.enrollment_id = e.id""",
        f"""INSERT INTO analytics_sections
            (section_id, school_id, course_id, {", ".join(section_counts)})
        SELECT s.id, s.school_id, s.course_id,
            {", ".join(f"coalesce(sum({e}), 0)" for e in section_counts.values())}
        FROM sections s LEFT JOIN analytics_enrollments e ON e.section_id = s.id
        GROUP BY s.id, s.school_id, s.course_id""",
        f"""INSERT INTO analytics_students
            (student_id, school_id, active, {statuses}, attendance_rate, failing)
        SELECT st.id, st.school_id, {_student_active("st")}, {status_counts},
            {_attendance_rate("r")}, coalesce(fl.failing, 0)
        FROM students st
        LEFT JOIN (SELECT r.student_id, {status_sums} FROM attendance_records r
                   GROUP BY r.student_id) r ON r.student_id = st.id
        LEFT JOIN (SELECT e.student_id, count(*) AS failing FROM analytics_enrollments e
                   WHERE {_failing("e")} = 1 GROUP BY e.student_id) fl
            ON fl.student_id = st.id""",
    ]
