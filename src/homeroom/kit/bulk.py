"""Many rows as one statement: a row set bound as ONE parameter (SQLite) or one array per
column (PostgreSQL), selected from inside the statement.

A bulk write is then one `INSERT ... SELECT ... FROM <row set> ON CONFLICT ...` whatever the
number of rows: its SQL text never changes (compiled once, cached by the driver), and the
summary triggers of PostgreSQL fire once for the statement instead of once per row. An
executemany of the same upsert ran the statement, and its triggers, once per row (a 40-row
bulk grade entry: 40 x 5 trigger functions, ~15 ms on PostgreSQL); a multi-row VALUES list
has a different text for every size and SQLAlchemy compiled it anew each time (~2.5 ms).

    SQLite:     SELECT j.value ->> 0 AS student_id, ... FROM json_each(:rows) AS j
    PostgreSQL: SELECT u.student_id, ... FROM unnest(CAST(:student_id AS INTEGER[]), ...)
                AS u(student_id, ...)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Integer, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from homeroom.models.base import sqlite_timestamp


@dataclass(frozen=True, slots=True)
class RowSet:
    """The shape of a row set: column names and their PostgreSQL array element types."""

    columns: tuple[tuple[str, str], ...]  # (name, PostgreSQL type: INTEGER, TEXT, FLOAT8 ...)

    def select(self, sqlite: bool) -> str:
        """`SELECT <columns> FROM <the bound rows> WHERE true`: the rows as a relation `r`,
        ready for an ORDER BY or an ON CONFLICT clause (SQLite needs the WHERE before it)."""
        if sqlite:
            exprs = ", ".join(
                f"r.value ->> {i} AS {name}" for i, (name, _) in enumerate(self.columns)
            )
            return f"SELECT {exprs} FROM json_each(:rows) AS r WHERE true"
        names = ", ".join(name for name, _ in self.columns)
        arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in self.columns)
        return f"SELECT {names} FROM unnest({arrays}) AS r({names}) WHERE true"

    def params(self, sqlite: bool, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
        """The bind parameters carrying `rows` (each a sequence in the columns' order).
        SQLite gets TIMESTAMPTZ values as the text UTCDateTime stores, dates as ISO text."""
        if sqlite:
            stamps = [i for i, (_, kind) in enumerate(self.columns) if kind == "TIMESTAMPTZ"]
            if stamps:
                seen: dict[Any, str] = {}  # a batch shares a handful of timestamps
                rows = [_stamped(row, stamps, seen) for row in rows]
            return {"rows": orjson.dumps(rows).decode()}
        return {name: [row[i] for row in rows] for i, (name, _) in enumerate(self.columns)}


def _stamped(row: Sequence[Any], stamps: list[int], seen: dict[Any, str]) -> list[Any]:
    out = list(row)
    for i in stamps:
        value = out[i]
        if value is not None:
            text = seen.get(value)
            if text is None:
                text = seen[value] = sqlite_timestamp(value)
            out[i] = text
    return out


def typed(name: str, kind: str, sqlite: bool) -> str:
    """A scalar bind parameter in a SELECT list: PostgreSQL must be told its type there."""
    return f":{name}" if sqlite else f"CAST(:{name} AS {kind})"


def any_id(column: Any, name: str, sqlite: bool) -> ColumnElement[bool]:
    """`column IN (<ids bound as one parameter>)`: the same SQL for any number of ids (an
    expanding IN renders a statement per list length, which asyncpg then prepares anew).
    Bind the value with `id_list`."""
    if sqlite:
        values: Any = select(literal_column("value")).select_from(func.json_each(bindparam(name)))
        return column.in_(values)  # type: ignore[no-any-return]
    return column == any_(bindparam(name, type_=ARRAY(Integer)))  # type: ignore[no-any-return]


def id_list(ids: Sequence[int], sqlite: bool) -> Any:
    """The value of an `any_id` parameter."""
    return orjson.dumps(list(ids)).decode() if sqlite else list(ids)


async def execute_core(session: AsyncSession, statement: Executable, params: Any) -> Any:
    """`statement` as Core on the session's connection: the same transaction, without the
    ORM's execution machinery (for statements that load no entity: the raw-path reads and
    the set-based writes). Pending ORM changes are flushed first, as the ORM would."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    return await connection.execute(statement, params)
