"""The student search index: what migration 0006 builds besides the mapped tables.

SQLite: `students_fts`, an FTS5 table with the trigram tokenizer over the searched columns of
students (external content: it holds only the index), kept in step by triggers. PostgreSQL: one
trigram GIN index per searched column (`ix_students_<column>_trgm`). Neither is a model: the
comparison of the models with the migrated schema leaves them out (`include_name`).
"""

from typing import Any

from sqlalchemy import Integer, Text, column, table

SEARCHED_COLUMNS = ("first_name", "last_name", "email", "student_number")

# The FTS5 table for queries. Its column named like the table stands for every column:
# `students_fts MATCH '"abc"'` finds the rows where any searched column contains "abc".
students_fts = table("students_fts", column("rowid", Integer), column("students_fts", Text))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's `include_name`: False for the search index's own objects (the FTS5 table and
    its shadow tables, the trigram indexes)."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith("students_fts")
    if type_ == "index":
        return not (name.startswith("ix_students_") and name.endswith("_trgm"))
    return True
