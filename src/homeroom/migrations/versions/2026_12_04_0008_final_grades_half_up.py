"""final grades rounded half up to the cent, as the application rounds them

An enrollment's final percentage was rounded three ways: Python's round() on the binary float
(89.995 is held as 89.99499999999999..., so 89.99, a B, on the student's page), PostgreSQL's
round() on the float cast to numeric (15 digits: 89.995, so 90.00, an A, on the dashboard) and
SQLite's round() (79.985 -> 79.99 where Python gave 79.98). The rule is now
grades/calculation.py's: half up to the cent, a value less than a millionth of a cent below a
half-way value counting as half-way (floating-point noise never decides a cent), the letter
read from the rounded figure:

    floor(final * 100 + 0.500001) / 100

The triggers that set an enrollment's final percentage from its category sums compute it so
(SQLite: 0004's three row triggers; PostgreSQL: 0005's three statement functions), and every
stored final percentage is recomputed; the sections' letter counts and the students' failing
counts follow through the existing triggers on analytics_enrollments.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (a migration never imports application code): the weighted final percentage
# of 0004, its rounding before and after this migration, and 0005's planner settings.
WEIGHTED = "100.0 * sum(x.weight * x.earned / x.possible) / sum(x.weight)"
HALF_UP = {
    "sqlite": "CAST(({}) * 100.0 + 0.500001 AS INTEGER) / 100.0",
    "postgresql": "floor(({}) * 100.0 + 0.500001) / 100.0",
}
BEFORE = {
    "sqlite": "round({}, 2)",
    "postgresql": "CAST(round(CAST({} AS numeric), 2) AS FLOAT)",
}
SETTINGS = (
    "SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off"
)
EVENTS = {"insert": ("INSERT", "NEW", "new_rows"), "update": ("UPDATE", "NEW", "new_rows")}
EVENTS["delete"] = ("DELETE", "OLD", "old_rows")


def _final(enrollment: str, rounding: str) -> str:
    return (
        f"(SELECT {rounding.format(WEIGHTED)} FROM analytics_enrollment_categories x "
        f"WHERE x.enrollment_id = {enrollment} AND x.graded > 0 AND x.possible > 0 "
        "AND x.weight > 0)"
    )


def _sqlite_trigger(event: str, row: str, rounding: str) -> str:
    return (
        f"AFTER {event}\n        ON analytics_enrollment_categories BEGIN "
        "UPDATE analytics_enrollments SET final_percentage = "
        f"{_final('analytics_enrollments.enrollment_id', rounding)} "
        f"WHERE enrollment_id = {row}.enrollment_id; END"
    )


def _postgres_function(name: str, rows: str, rounding: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
    {SETTINGS} AS $$
BEGIN
IF NOT EXISTS (SELECT 1 FROM {rows}) THEN RETURN NULL; END IF;

        PERFORM 1 FROM analytics_enrollments x
        WHERE x.enrollment_id = ANY (ARRAY(SELECT DISTINCT enrollment_id FROM {rows}))
        ORDER BY x.enrollment_id FOR UPDATE OF x;
        UPDATE analytics_enrollments x SET final_percentage = d.final
        FROM (SELECT e.enrollment_id, {_final("e.enrollment_id", rounding)} AS final
              FROM (SELECT DISTINCT k.enrollment_id FROM (SELECT enrollment_id FROM {rows}) k) e) d
        WHERE x.enrollment_id = d.enrollment_id
            AND x.final_percentage IS DISTINCT FROM d.final;
RETURN NULL;
END $$"""


def _recompute(dialect: str, rounding: str) -> str:
    """Every stored final percentage the rounding changes, set-based."""
    differs = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return f"""UPDATE analytics_enrollments SET final_percentage = d.final
        FROM (SELECT x.enrollment_id, {rounding.format(WEIGHTED)} AS final
              FROM analytics_enrollment_categories x
              WHERE x.graded > 0 AND x.possible > 0 AND x.weight > 0
              GROUP BY x.enrollment_id) d
        WHERE analytics_enrollments.enrollment_id = d.enrollment_id
            AND analytics_enrollments.final_percentage {differs} d.final"""


def _round_with(rounding: dict[str, str]) -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "sqlite":
        for suffix, (event, row, _) in EVENTS.items():
            name = f"analytics_summary_category_{suffix}"
            bind.exec_driver_sql(f"DROP TRIGGER {name}")
            bind.exec_driver_sql(
                f"CREATE TRIGGER {name} {_sqlite_trigger(event, row, rounding[dialect])}"
            )
    else:
        # A district's enrollments are all read once: past the application's statement timeout.
        bind.exec_driver_sql("SET LOCAL statement_timeout = 0")
        for suffix, (_, _, rows) in EVENTS.items():
            name = f"analytics_summary_category_{suffix}"
            bind.exec_driver_sql(_postgres_function(name, rows, rounding[dialect]))
    bind.exec_driver_sql(_recompute(dialect, rounding[dialect]))


def upgrade() -> None:
    _round_with(HALF_UP)


def downgrade() -> None:
    _round_with(BEFORE)
