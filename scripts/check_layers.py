"""Homeroom's layering rules, checked by walking the source's syntax trees (`make lint`).

    python scripts/check_layers.py [SOURCE_ROOT]     # default: src/homeroom

Prints one line per violation, `path:line: rule: what`, and exits 1 if there is any.
The rules (ARCHITECTURE.md, "Who may do what"):

sql-outside-repository
    SQL is written only in a domain's `repository.py` (a `<topic>_repository.py` beside it,
    or a `repositories/` package), in the kit's database mechanisms (`KIT_SQL_MODULES`), in
    `models/` (tables, trigger DDL) and in `migrations/`. "SQL" means any of:
    - importing a statement or expression builder from SQLAlchemy (`SQL_BUILDERS`: select,
      insert, update, delete, text, func, bindparam, ...; loader options such as
      selectinload), or using one through a module import (`sa.select`);
    - running a statement: a call of `.execute`, `.exec_driver_sql`, `.executemany`,
      `.executescript`, `.scalar`, `.scalars`, `.stream_scalars`, `.fetch`, `.fetchrow`,
      `.fetchval` on anything, or of the unit-of-work methods (`.add`, `.add_all`,
      `.delete`, `.merge`, `.flush`, `.refresh`, `.get`, `.stream`) on a session
      (a receiver whose name contains "session");
    - SQL text: a string (or f-string part), not a docstring, that starts with a statement
      keyword in capitals and goes on (`"SELECT 1"`, `f"INSERT INTO {table} "`, `"PRAGMA x"`;
      a lone `"DELETE"`, an HTTP method, is not SQL).
    Taking an `AsyncSession` to pass on, catching SQLAlchemy's exceptions or listening to
    its events is not SQL.
service-imports-http
    A service (`service.py`, `services/`) imports nothing from fastapi or starlette: HTTP
    (requests, responses, status codes) belongs to the endpoints.
kit-imports-domain
    `kit/` imports from Homeroom only `homeroom.kit`, `homeroom.models`, `homeroom.config`
    and `homeroom.enums`: the shared mechanisms know no domain.
models-import-domain
    `models/` imports from Homeroom only `homeroom.models`, `homeroom.kit`, `homeroom.config`
    and `homeroom.enums`: no service, repository or endpoint of any domain.
web-bypasses-services
    The web UI (`web/`) is a presentation layer that calls the domain services, as the issue
    asks of every page: it imports no repository (`repository`, `<topic>_repository`,
    `repositories`), no ORM model (`homeroom.models`) and nothing of SQLAlchemy. (Endpoints
    may name a repository's declared listing for kit/crud; a page has no such need.)
migration-imports-app
    A migration (`migrations/versions/`) imports nothing from `homeroom`: migrations are
    frozen history and keep their own copy of what they need.
import-cycle
    The modules of `kit/` and `models/` import each other in no cycle (every import counts:
    at module level, inside a function, under TYPE_CHECKING).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The kit's database mechanisms: the engine, reader and sessions (db, sqlite_inline), the
# statement builders every repository shares (bulk, writes, records, pagination, scopes), the
# end of a transaction (epilogue) and the two tables the kit owns (cache versions, idempotency
# keys).
KIT_SQL_MODULES = frozenset(
    {
        "db",
        "sqlite_inline",
        "bulk",
        "writes",
        "records",
        "pagination",
        "scopes",
        "epilogue",
        "cache",
        "idempotency",
    }
)

SQL_BUILDERS = frozenset(
    {
        # statements
        "select",
        "insert",
        "update",
        "delete",
        "text",
        "union",
        "union_all",
        "except_",
        "except_all",
        "intersect",
        "intersect_all",
        "exists",
        "values",
        "lambda_stmt",
        "table",
        "column",
        "join",
        "outerjoin",
        # expressions
        "func",
        "literal",
        "literal_column",
        "bindparam",
        "and_",
        "or_",
        "not_",
        "tuple_",
        "case",
        "cast",
        "any_",
        "all_",
        "null",
        "true",
        "false",
        "over",
        "within_group",
        # ORM query options
        "aliased",
        "selectinload",
        "joinedload",
        "subqueryload",
        "contains_eager",
        "load_only",
        "raiseload",
        "with_loader_criteria",
    }
)
SQL_MODULES = ("sqlalchemy", "sqlalchemy.sql", "sqlalchemy.sql.expression", "sqlalchemy.future")
RUNS_SQL = frozenset(
    {
        "execute",
        "exec_driver_sql",
        "executemany",
        "executescript",
        "scalar",
        "scalars",
        "stream_scalars",
        "fetch",
        "fetchrow",
        "fetchval",
    }
)
SESSION_SQL = frozenset({"add", "add_all", "delete", "merge", "flush", "refresh", "get", "stream"})
SQL_TEXT = re.compile(
    r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK"
    r"|SAVEPOINT|RELEASE|VACUUM|ANALYZE|REINDEX|TRUNCATE|EXPLAIN)\s+\S"
)
HTTP_PACKAGES = ("fastapi", "starlette")
LOWER_LAYERS = ("homeroom.kit", "homeroom.models", "homeroom.config", "homeroom.enums")


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class Source:
    """One module: its path relative to the package root (`kit/db.py`) and its tree."""

    relative: str
    tree: ast.Module

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.relative.removesuffix(".py").split("/"))

    @property
    def module(self) -> str:
        parts = self.parts
        return ".".join(("homeroom", *(parts[:-1] if parts[-1] == "__init__" else parts)))

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return ".".join(("homeroom", *self.parts[:-1]))


def may_hold_sql(relative: str) -> bool:
    parts = relative.removesuffix(".py").split("/")
    if parts[0] in ("models", "migrations"):
        return True
    if parts[0] == "kit":
        return len(parts) == 2 and parts[1] in KIT_SQL_MODULES
    return parts[-1].endswith("repository") or "repositories" in parts[:-1]


def is_service(relative: str) -> bool:
    parts = relative.removesuffix(".py").split("/")
    return parts[-1] == "service" or "services" in parts[:-1]


def imports(source: Source) -> Iterator[tuple[int, str, list[str]]]:
    """Every import of the module (anywhere in it): line, absolute module name, names."""
    package = source.package
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, name]) if name else ".".join(base)
            yield node.lineno, name, [alias.name for alias in node.names]


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _receiver(node: ast.expr) -> str:
    """The last name of a call's receiver: `session` for `self.session.add(...)`."""
    while isinstance(node, ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def check_sql(source: Source) -> Iterator[Violation]:
    rule = "sql-outside-repository"
    where = "; SQL belongs in a repository"
    aliases: set[str] = set()  # names bound to the sqlalchemy module itself
    for line, name, names in imports(source):
        if _within(name, SQL_MODULES[:1]) and not names:
            aliases.add(name.split(".")[0])
        if name in SQL_MODULES or name.startswith(("sqlalchemy.dialects.", "sqlalchemy.orm")):
            for builder in sorted(set(names) & SQL_BUILDERS):
                yield Violation(source.relative, line, rule, f"imports {name}.{builder}{where}")
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sqlalchemy" and alias.asname:
                    aliases.add(alias.asname)
    docstrings = _docstrings(source.tree)
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Attribute) and node.attr in SQL_BUILDERS:
            if isinstance(node.value, ast.Name) and node.value.id in aliases:
                yield Violation(
                    source.relative, node.lineno, rule, f"uses {node.value.id}.{node.attr}{where}"
                )
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            receiver = _receiver(node.func.value)
            if method in RUNS_SQL or (method in SESSION_SQL and "session" in receiver.lower()):
                yield Violation(
                    source.relative, node.lineno, rule, f"runs {receiver}.{method}(){where}"
                )
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and SQL_TEXT.match(node.value)
        ):
            first = node.value.split(None, 1)[0]
            yield Violation(source.relative, node.lineno, rule, f"SQL text ({first} ...){where}")


def _names_a_repository(name: str, names: list[str]) -> bool:
    parts = [*name.split("."), *names]
    return any(p.endswith("repository") or p == "repositories" for p in parts)


def check_imports(source: Source) -> Iterator[Violation]:
    top = source.parts[0]
    for line, name, names in imports(source):
        if top == "web" and (
            _within(name, ("sqlalchemy", "homeroom.models"))
            or (_within(name, ("homeroom",)) and _names_a_repository(name, names))
        ):
            yield Violation(
                source.relative,
                line,
                "web-bypasses-services",
                f"imports {name}; pages call the domain services",
            )
        if is_service(source.relative) and _within(name, HTTP_PACKAGES):
            yield Violation(
                source.relative,
                line,
                "service-imports-http",
                f"imports {name}; HTTP belongs to the endpoints",
            )
        if not _within(name, ("homeroom",)):
            continue
        if top in ("kit", "models") and not _within(name, LOWER_LAYERS):
            rule = "kit-imports-domain" if top == "kit" else "models-import-domain"
            yield Violation(
                source.relative,
                line,
                rule,
                f"imports {name}; {top}/ imports only homeroom.kit, homeroom.models, "
                "homeroom.config, homeroom.enums",
            )
        if source.parts[:2] == ("migrations", "versions"):
            yield Violation(
                source.relative,
                line,
                "migration-imports-app",
                f"imports {name}; a migration keeps its own copy of what it needs",
            )


def check_cycles(sources: list[Source]) -> Iterator[Violation]:
    """Cycles among the modules of kit/ and models/ (each reported once, at its first edge)."""
    checked = {s.module: s for s in sources if s.parts[0] in ("kit", "models")}
    edges: dict[str, dict[str, int]] = {m: {} for m in checked}
    for module, source in checked.items():
        for line, name, names in imports(source):
            targets = [name, *(f"{name}.{n}" for n in names)]
            for target in targets:
                if target in checked and target != module:
                    edges[module].setdefault(target, line)
    seen: set[frozenset[str]] = set()
    for start in sorted(edges):
        for cycle in _cycles_from(start, edges):
            key = frozenset(cycle)
            if key in seen:
                continue
            seen.add(key)
            source = checked[cycle[0]]
            path = " -> ".join(m.removeprefix("homeroom.") for m in [*cycle, cycle[0]])
            yield Violation(
                source.relative,
                edges[cycle[0]][cycle[1]],
                "import-cycle",
                f"modules import each other: {path}",
            )


def _cycles_from(start: str, edges: dict[str, dict[str, int]]) -> Iterator[list[str]]:
    """Simple cycles through `start` whose other modules sort after it (each found once)."""
    stack = [(start, [start])]
    while stack:
        module, path = stack.pop()
        for target in sorted(edges[module]):
            if target == start:
                yield path
            elif target > start and target not in path:
                stack.append((target, [*path, target]))


def check(root: Path) -> list[Violation]:
    """Every violation of the rules under `root` (the `homeroom` package directory)."""
    sources = [
        Source(path.relative_to(root).as_posix(), ast.parse(path.read_text(), str(path)))
        for path in sorted(root.rglob("*.py"))
    ]
    found: list[Violation] = []
    for source in sources:
        if not may_hold_sql(source.relative):
            found.extend(check_sql(source))
        found.extend(check_imports(source))
    found.extend(check_cycles(sources))
    return sorted(set(found))


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "src/homeroom")
    violations = check(root)
    for violation in violations:
        print(f"{root.as_posix()}/{violation}")
    if violations:
        print(f"{len(violations)} layering violation(s); the rules: scripts/check_layers.py")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
