"""The statements every transaction ends with, written together just before it commits.

A write's audit rows and its cache tags' new versions are noted as the write goes
(`audit.record`, `cache.invalidate`) and written by one `before_commit` hook on every session,
so no code path can commit without them. On PostgreSQL the parts go as ONE statement of
data-modifying CTEs (`WITH p0 AS (INSERT ...), p1 AS (INSERT ...) SELECT 1`): one round trip
instead of one per part, and the rows they lock (the audit trigger's activity tag, the cache
tags) stay locked only from there to the commit. SQLite runs the parts one after another
(inline: a statement costs microseconds there).

A part is registered once, at import, by the module that owns it: a function that takes the
session (and whether it is SQLite) and returns `(sql, params)` or None when the transaction
has nothing of its kind. Parameter names must not clash between parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import TextClause, event, text
from sqlalchemy.orm import Session

Part = Callable[[Session, bool], tuple[str, dict[str, Any]] | None]

_PARTS: list[Part] = []
_STATEMENTS: dict[tuple[str, ...], TextClause] = {}


def part(function: Part) -> Part:
    """Registers `function` as a part of every transaction's epilogue (in import order)."""
    _PARTS.append(function)
    return function


def _statement(sqls: tuple[str, ...]) -> TextClause:
    statement = _STATEMENTS.get(sqls)
    if statement is None:
        ctes = ", ".join(f"p{i} AS ({sql})" for i, sql in enumerate(sqls))
        statement = _STATEMENTS[sqls] = text(f"WITH {ctes} SELECT 1")
    return statement


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    sqlite = session.get_bind().dialect.name == "sqlite"
    found = [p for p in (function(session, sqlite) for function in _PARTS) if p is not None]
    if not found:
        return
    connection = session.connection()
    if sqlite or len(found) == 1:
        for sql, values in found:
            connection.execute(_statement_alone(sql), values)
        return
    merged: dict[str, Any] = {}
    for _, values in found:
        merged.update(values)
    connection.execute(_statement(tuple(sql for sql, _ in found)), merged)


_ALONE: dict[str, TextClause] = {}


def _statement_alone(sql: str) -> TextClause:
    statement = _ALONE.get(sql)
    if statement is None:
        statement = _ALONE[sql] = text(sql)
    return statement
