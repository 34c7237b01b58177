"""The analytics summary tables during a bulk seed.

Migration 0004's triggers keep the summaries in step with every write, one row at a time: on
the district's 7 M grade and attendance rows that made seeding 3-4x slower (SQLite 55 s ->
204 s, PostgreSQL 88 s -> 193 s). A seed instead turns the triggers off for its load and then
fills the summaries once with the migration's own set-based statements, in the same
transaction, exactly as the migration fills them for existing data.
"""

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

from homeroom.kit.migrate import MIGRATIONS


@cache
def migration() -> ModuleType:
    """Migration 0004, which defines the summary tables' fill statements and triggers."""
    path = next((MIGRATIONS / "versions").glob("*_0004_*.py"))
    spec = importlib.util.spec_from_file_location("homeroom_migration_0004", Path(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fill_statements(sqlite: bool) -> list[str]:
    m = migration()
    statements: list[str] = m._rebuild(m.SQLITE_ROUND if sqlite else m.POSTGRES_ROUND)
    return statements


def postgres_triggers() -> list[tuple[str, str]]:
    """(trigger, table) of every summary trigger on PostgreSQL."""
    names: list[tuple[str, str]] = migration()._postgres_names()
    return names
