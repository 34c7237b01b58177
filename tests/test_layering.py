"""The layering check (scripts/check_layers.py, run by `make lint`) finds what it promises.

Each rule is fed a small source tree that breaks it and one that keeps it, so a check that
stopped looking would fail here rather than pass silently.
"""

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts/check_layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


layers = _load()


def found(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, int, str]]:
    """(path, line, rule) of every violation in a tree made of `files`."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return [(v.path, v.line, v.rule) for v in layers.check(tmp_path)]


SQL = "sql-outside-repository"

SERVICE_WITH_SQL = '''\
"""SELECT this docstring is prose, not SQL."""
from sqlalchemy import exc, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload


async def rename(session: AsyncSession, reader, student_id: int) -> None:
    """UPDATE in a function's docstring is prose too."""
    await session.execute(select(1))
    session.add(object())
    await reader.scalar(None, {})
    methods = {"GET", "DELETE"}
    raw = f"INSERT INTO students (name) VALUES ({student_id})"
'''


class TestSql:
    def test_statements_imports_and_text_outside_a_repository_are_found(
        self, tmp_path: Path
    ) -> None:
        assert found(tmp_path, {"students/service.py": SERVICE_WITH_SQL}) == [
            ("students/service.py", 2, SQL),  # select
            ("students/service.py", 4, SQL),  # selectinload
            ("students/service.py", 9, SQL),  # session.execute
            ("students/service.py", 10, SQL),  # session.add
            ("students/service.py", 11, SQL),  # reader.scalar
            ("students/service.py", 13, SQL),  # INSERT text
        ]

    @pytest.mark.parametrize(
        "home",
        [
            "students/repository.py",
            "grades/repositories/summaries.py",
            "kit/db.py",
            "kit/bulk.py",
            "models/people.py",
            "migrations/versions/2026_01_01_0001_x.py",
        ],
    )
    def test_the_homes_of_sql_may_hold_it(self, tmp_path: Path, home: str) -> None:
        assert found(tmp_path, {home: SERVICE_WITH_SQL}) == []

    def test_a_kit_module_that_is_no_database_mechanism_may_not(self, tmp_path: Path) -> None:
        text = 'PING = "SELECT 1"\n'
        assert found(tmp_path, {"kit/responses.py": text}) == [("kit/responses.py", 1, SQL)]

    def test_sqlalchemy_through_a_module_name(self, tmp_path: Path) -> None:
        text = "import sqlalchemy as sa\n\nQUERY = sa.select(1)\nDIALECTS = sa.dialects\n"
        assert found(tmp_path, {"reports/render.py": text}) == [("reports/render.py", 3, SQL)]

    def test_an_upsert_from_a_dialect(self, tmp_path: Path) -> None:
        text = "from sqlalchemy.dialects.postgresql import insert\n"
        assert found(tmp_path, {"imports/plans.py": text}) == [("imports/plans.py", 1, SQL)]


class TestImports:
    def test_a_service_importing_http(self, tmp_path: Path) -> None:
        files = {
            "jobs/service.py": "from fastapi.responses import StreamingResponse\n",
            "grades/services/totals.py": "import starlette.types\n",
            "jobs/endpoints.py": "from fastapi import APIRouter\n",
        }
        assert found(tmp_path, files) == [
            ("grades/services/totals.py", 1, "service-imports-http"),
            ("jobs/service.py", 1, "service-imports-http"),
        ]

    def test_kit_importing_a_domain_even_inside_a_function(self, tmp_path: Path) -> None:
        text = """\
            from homeroom.config import Settings
            from homeroom.kit.errors import NotFound
            from homeroom.models import Student


            def late():
                from homeroom.students import service
        """
        assert found(tmp_path, {"kit/tool.py": text}) == [("kit/tool.py", 7, "kit-imports-domain")]

    def test_models_importing_a_service(self, tmp_path: Path) -> None:
        text = "from homeroom.models.base import Base\nfrom homeroom.grades import service\n"
        assert found(tmp_path, {"models/grading.py": text}) == [
            ("models/grading.py", 2, "models-import-domain")
        ]

    def test_the_web_ui_reaching_past_the_services(self, tmp_path: Path) -> None:
        text = """\
            from fastapi import APIRouter
            from homeroom.auth import service as auth_service
            from homeroom.kit.deps import Session
            from homeroom.auth import repository
            from homeroom.auth.repository import WebSession
            from homeroom.analytics.summary_repository import fill
            import homeroom.models
            from sqlalchemy.ext.asyncio import AsyncSession
        """
        rule = "web-bypasses-services"
        assert found(tmp_path, {"web/routes.py": text}) == [
            ("web/routes.py", line, rule) for line in (4, 5, 6, 7, 8)
        ]

    def test_a_migration_importing_the_application(self, tmp_path: Path) -> None:
        text = "import sqlalchemy as sa\nfrom alembic import op\nimport homeroom.models.base\n"
        name = "migrations/versions/2026_12_05_0099_new.py"
        assert found(tmp_path, {name: text}) == [(name, 3, "migration-imports-app")]

    def test_relative_imports_are_resolved(self, tmp_path: Path) -> None:
        files = {
            "kit/tool.py": "from ..students import service\n",
            "models/__init__.py": "from .people import Student\nfrom ..grades import service\n",
            "models/people.py": "",
        }
        assert found(tmp_path, files) == [
            ("kit/tool.py", 1, "kit-imports-domain"),
            ("models/__init__.py", 2, "models-import-domain"),
        ]


class TestCycles:
    def test_two_kit_modules_importing_each_other_once_reported(self, tmp_path: Path) -> None:
        files = {
            "kit/db.py": "from homeroom.kit.cache import ResponseCache\n",
            "kit/cache.py": (
                "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                "    from homeroom.kit.db import Database\n"
            ),
            "kit/errors.py": "",
        }
        assert [rule for *_, rule in found(tmp_path, files)] == ["import-cycle"]
        violations = layers.check(tmp_path)
        assert [(v.path, v.line, v.rule) for v in violations] == [
            ("kit/cache.py", 4, "import-cycle")
        ]
        assert "kit.cache -> kit.db -> kit.cache" in violations[0].message

    def test_a_longer_cycle_through_a_package_import(self, tmp_path: Path) -> None:
        files = {
            "kit/a.py": "from homeroom.kit import b\n",
            "kit/b.py": "import homeroom.kit.c\n",
            "kit/c.py": "from homeroom.models.x import X\n",
            "models/x.py": "from homeroom.kit.a import A\n",
        }
        assert [rule for *_, rule in found(tmp_path, files)] == ["import-cycle"]

    def test_a_one_way_import_is_no_cycle(self, tmp_path: Path) -> None:
        files = {"kit/cache.py": "from homeroom.kit.db import Database\n", "kit/db.py": ""}
        assert found(tmp_path, files) == []


class TestTheTree:
    def test_homeroom_keeps_its_layers(self) -> None:
        assert [str(v) for v in layers.check(ROOT / "src/homeroom")] == []

    def test_the_report_names_file_line_and_rule_and_fails(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        found(tmp_path, {"ops/endpoints.py": "from sqlalchemy import text\n"})
        assert layers.main(["check_layers.py", str(tmp_path)]) == 1
        first = capsys.readouterr().out.splitlines()[0]
        assert first.startswith(f"{tmp_path.as_posix()}/ops/endpoints.py:1: {SQL}: ")
        assert layers.main(["check_layers.py", str(ROOT / "src/homeroom")]) == 0
