"""Migrations are frozen history: what a migration ran stays what it runs, whatever the
application becomes, so none of them imports the application (each keeps its own copy of the
SQL and types it needs)."""

import ast
from pathlib import Path

import pytest

import homeroom

VERSIONS = Path(homeroom.__file__).parent / "migrations" / "versions"


def application_imports(source: str) -> list[str]:
    """The modules of the application (`homeroom`, or relative) that `source` imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")]
        else:
            continue
        found += [n for n in names if n.startswith(".") or n.split(".")[0] == "homeroom"]
    return found


class TestMigrationsImportNoApplication:
    def test_the_check_sees_every_form_of_import(self) -> None:
        source = """
import os
import homeroom.models.base
from homeroom.kit import db
from . import sibling
def f():
    from homeroom import grades
"""
        assert application_imports(source) == [
            "homeroom.models.base",
            "homeroom.kit",
            ".",
            "homeroom",
        ]

    @pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda p: p.name)
    def test_no_migration_imports_the_application(self, path: Path) -> None:
        assert application_imports(path.read_text()) == []

    def test_there_are_migrations_to_check(self) -> None:
        assert len(list(VERSIONS.glob("*.py"))) >= 7
