"""student search index

Staff search students by a case-insensitive substring of first name, last name, email or
student number. Without an index every search read every student of the school. Both indexes
below find the rows that contain every 3-character slice (trigram) of the search term; the
application still tests its exact predicate on those rows, so an index only narrows the search
and never changes its answer.

- SQLite: `students_fts`, an FTS5 table with the trigram tokenizer (case folded) over the four
  searched columns, external content (it stores no copy of the text: `content='students'`),
  kept in step by triggers on every INSERT, DELETE and UPDATE of those columns, whatever
  makes the write. `INSERT INTO students_fts (students_fts) VALUES ('rebuild')` builds it
  again from the table. Needs SQLite 3.34+ (trigram tokenizer).
- PostgreSQL: pg_trgm (a trusted extension: the database owner may create it) and one GIN
  trigram index per searched column; the planner serves `column ILIKE '%term%'` from them
  (a BitmapOr of the four) and rechecks every candidate row itself.

On SQLite, a later migration that rebuilds the students table (Alembic's batch mode copies it
and drops the old one, with its triggers) must create these triggers again, as 0004's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 20:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy (a migration never imports application code): the columns students/repository.py
# searches.
COLUMNS = ("first_name", "last_name", "email", "student_number")


def _values(row: str) -> str:
    return ", ".join(f"{row}.{c}" for c in COLUMNS)


def _sqlite_statements() -> list[str]:
    names = ", ".join(COLUMNS)
    insert = f"INSERT INTO students_fts (rowid, {names}) VALUES (NEW.id, {_values('NEW')});"
    delete = (
        f"INSERT INTO students_fts (students_fts, rowid, {names}) "
        f"VALUES ('delete', OLD.id, {_values('OLD')});"
    )
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("id", *COLUMNS))
    return [
        # columnsize=0: no per-row token counts (they only serve ranking, which search does
        # not use), so a write touches one table less.
        f"""CREATE VIRTUAL TABLE students_fts USING fts5(
            {names},
            content='students', content_rowid='id',
            tokenize='trigram case_sensitive 0', columnsize=0
        )""",
        f"CREATE TRIGGER students_fts_insert AFTER INSERT ON students BEGIN {insert} END",
        f"CREATE TRIGGER students_fts_delete AFTER DELETE ON students BEGIN {delete} END",
        f"""CREATE TRIGGER students_fts_update
            AFTER UPDATE OF id, {names} ON students WHEN {changed}
            BEGIN {delete} {insert} END""",
        "INSERT INTO students_fts (students_fts) VALUES ('rebuild')",
    ]


def _postgres_statements() -> list[str]:
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        *(
            f"CREATE INDEX ix_students_{c}_trgm ON students USING gin ({c} gin_trgm_ops)"
            for c in COLUMNS
        ),
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _sqlite_statements() if sqlite else _postgres_statements():
        op.get_bind().exec_driver_sql(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.get_bind().exec_driver_sql(f"DROP TRIGGER IF EXISTS students_fts_{trigger}")
        op.get_bind().exec_driver_sql("DROP TABLE IF EXISTS students_fts")
        return
    # The extension stays: other objects of the database may have come to use it.
    for column in COLUMNS:
        op.get_bind().exec_driver_sql(f"DROP INDEX IF EXISTS ix_students_{column}_trgm")
