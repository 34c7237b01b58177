"""One write path for single records: the record is read and locked inside the request's
transaction, checked against If-Match there, then changed by primary key.

Every update, delete and restore of one record, and the answer of every create, goes through
here:

- `load` runs the resource's own scoped read (the statement its GET runs, or a variant with
  more columns after the representation) inside the write transaction. On PostgreSQL it locks
  the row (`SELECT ... FOR UPDATE OF <table>`); on SQLite the writer already holds the
  database's write lock since `BEGIN IMMEDIATE` (kit/db.py). Out of the caller's scope: 404.
  With If-Match, the locked row's representation (exactly the JSON GET answers, so its ETag is
  the one clients hold) must match, else 412. Two writers that read the same ETag therefore
  queue on the row, and the second one compares with what the first committed. (Compared on
  the raw read path outside the transaction, both could pass and the second overwrite the
  first: a lost update.) On PostgreSQL a read that waited for the lock sees the locked row as
  committed but columns computed from other tables (a section's enrolled count) as of its
  start: a rule that needs them exact counts again once the row is held.
- `update`, `insert` and `delete` are one statement by primary key. When the representation's
  columns are the table's own (`Resource.returning`), `RETURNING` gives the new representation
  and nothing is read back; otherwise the resource's read runs again in the transaction.

Services keep their rules: they call `load`, check what they must, then change the record.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy import delete as delete_statement
from sqlalchemy import insert as insert_statement
from sqlalchemy import update as update_statement
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.auth import Principal
from homeroom.kit.bulk import execute_core
from homeroom.kit.db import CompiledQuery, Database, Row, SessionReader
from homeroom.kit.errors import NotFound
from homeroom.kit.responses import ensure_match
from homeroom.kit.scopes import ScopeKind, scope_kind, scope_params


@dataclass(frozen=True, slots=True)
class Resource:
    """A record type as the write path sees it."""

    name: str  # "student": what a 404 names
    table: Any  # its ORM class: the row locked, updated and deleted by its `id`
    # The compiled scoped read GET /{id} runs: one record by the parameter `id`, the
    # representation's columns first.
    query: Callable[[Database, ScopeKind], CompiledQuery]
    fields: tuple[str, ...]  # the representation's fields, in the order GET encodes them
    item: Callable[[Row], dict[str, Any]]  # the representation of a row's first len(fields)
    # The table's columns in the representation, returned by UPDATE/INSERT ... RETURNING. The
    # fields not among them must be ones no write of this table changes (a guardian's
    # children, a grade's section); they are kept from the record as loaded. Empty when a
    # write can change a joined field (a section's teacher name): the read runs again.
    returning: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Target:
    """The record a PATCH or DELETE names: its id, and the ETag the client read it with
    (If-Match), which `load` compares once the record is locked."""

    id: int
    if_match: str | None = None


@dataclass(frozen=True, slots=True)
class Loaded:
    """A record loaded for a write, locked until the transaction ends."""

    id: int
    item: dict[str, Any]  # its representation, as GET answers it
    extra: Row  # the columns a variant read adds after the representation


def for_update(db: Database, query: CompiledQuery, table: Any) -> CompiledQuery:
    """`query` locking the rows of `table` it reads until the transaction ends (PostgreSQL:
    `FOR UPDATE OF`); on SQLite the writer holds the database's write lock already."""
    if db.is_sqlite:
        return query
    statement = query.statement
    assert isinstance(statement, Select), statement
    return db.query((for_update, query.sql), lambda: statement.with_for_update(of=table))


async def load(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    resource: Resource,
    record: int | Target,
    *,
    query: CompiledQuery | None = None,
    params: dict[str, Any] | None = None,
    authorize: Callable[[Loaded], None] | None = None,
) -> Loaded:
    """The record `principal` may see, read and locked in the write transaction: 404 when it
    is out of their scope, then `authorize` (which raises Forbidden for an action the caller
    may not take on it), then 412 when the `Target`'s If-Match is not its current ETag (a
    bare id compares none). `query` is a variant of the resource's read (more columns after
    the representation, `params` for them)."""
    target = record if isinstance(record, Target) else Target(record)
    record_id, if_match = target.id, target.if_match
    read = query or resource.query(db, scope_kind(principal))
    values = {**scope_params(principal), **(params or {}), "id": record_id}
    row = await SessionReader(session).first(for_update(db, read, resource.table), values)
    if row is None:
        raise NotFound(f"{resource.name} not found")
    width = len(resource.fields)
    loaded = Loaded(record_id, resource.item(row[:width]), row[width:])
    if authorize is not None:
        authorize(loaded)
    if if_match is not None:
        ensure_match(if_match, loaded.item)
    return loaded


async def reread(
    db: Database, session: AsyncSession, principal: Principal, resource: Resource, record_id: int
) -> dict[str, Any]:
    """The record's representation as GET would now answer it, read in the transaction."""
    query = resource.query(db, scope_kind(principal))
    values = {**scope_params(principal), "id": record_id}
    row = await SessionReader(session).first(query, values)
    assert row is not None, f"{resource.name} {record_id} left the writer's scope"
    return resource.item(row[: len(resource.fields)])


def _representation(resource: Resource, known: dict[str, Any], row: Row) -> dict[str, Any]:
    merged = {
        **known,
        **{column.key: value for column, value in zip(resource.returning, row, strict=True)},
    }
    missing = [name for name in resource.fields if name not in merged]
    assert not missing, f"{resource.name}: no value for {missing}"
    return {name: merged[name] for name in resource.fields}


async def update(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    resource: Resource,
    record: Loaded,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Applies `changes` to the loaded record (one UPDATE by primary key) and returns its new
    representation. No changes, no statement."""
    if not changes:
        return record.item
    table = resource.table
    statement = update_statement(table).where(table.id == record.id).values(**changes)
    if resource.returning:
        row = await SessionReader(session).returned(statement.returning(*resource.returning), {})
        assert row is not None
        return _representation(resource, record.item, row)
    await execute_core(session, statement, {})
    return await reread(db, session, principal, resource, record.id)


async def insert(
    db: Database,
    session: AsyncSession,
    principal: Principal,
    resource: Resource,
    values: dict[str, Any],
    derived: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Inserts one record and returns its representation; `derived` gives the fields that
    are not columns of the table (when the resource returns its columns)."""
    table = resource.table
    statement = insert_statement(table).values(**values)
    if resource.returning:
        row = await SessionReader(session).returned(statement.returning(*resource.returning), {})
        assert row is not None
        return _representation(resource, derived or {}, row)
    new_id = (await execute_core(session, statement.returning(table.id), {})).scalar_one()
    return await reread(db, session, principal, resource, new_id)


async def delete(session: AsyncSession, resource: Resource, record_id: int) -> None:
    """Deletes the record (one DELETE by primary key; the database's foreign keys cascade)."""
    table = resource.table
    await execute_core(session, delete_statement(table).where(table.id == record_id), {})
