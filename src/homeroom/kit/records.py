"""Reading the records of one type in the caller's scope: one by id, or a page of a list.

What every repository of a record type shares, declared once (Polar's generic repository
base: get and paginate come from it, a domain's repository adds its own queries):

- `Listing`: the caller's rows (`scoped(kind)`, the representation's columns first), the sort
  keys a client may ask for, and the filters a list accepts by query parameter. Its page and
  its total compile once per shape: the caller's scope kind, which filters are present, the
  sort and whether a cursor positions it. The total needs no COUNT when the cursor carries it
  or the first page holds the whole list (`PagePlan.known_total`).
- `read`: the representation of one record the caller may see, by the resource's own scoped
  read (the statement its GET runs), or 404.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, bindparam, or_

from homeroom.kit.auth import Principal
from homeroom.kit.db import Compiled, Database, Row, compiled
from homeroom.kit.errors import NotFound
from homeroom.kit.pagination import (
    LIKE_ESCAPE,
    PagePlan,
    PageShape,
    Sorting,
    SqlColumn,
    count_statement,
    like_pattern,
    page_statement,
)
from homeroom.kit.scopes import ScopeKind, scope_kind, scope_params
from homeroom.kit.writes import Resource


def columns_of(table: Any, schema: type[BaseModel], *joined: Any) -> tuple[SqlColumn, ...]:
    """The columns a representation shows: for each of its schema's fields, in the schema's
    order (the order GET encodes them), the column of that name of `table`, else of the first
    of the `joined` tables that has one. Fields that are columns of none of them (computed by
    the read) are the resource's own to add."""
    columns = []
    for name in schema.model_fields:
        owner = next((t for t in (table, *joined) if name in t.__table__.columns), None)
        if owner is not None:
            columns.append(getattr(owner, name))
    return tuple(columns)


def by_id(scoped: Callable[[ScopeKind], Select[Any]], table: Any) -> Compiled[[ScopeKind]]:
    """The read of one record in the caller's scope, by the parameter `id`: `scoped`'s rows
    narrowed to that id (what GET /{id} runs, and what a write loads and locks)."""

    def query(kind: ScopeKind) -> Select[Any]:
        return scoped(kind).where(table.id == bindparam("id"))

    query.__qualname__ = f"{table.__name__}.by_id"
    return compiled(query)


def resource(
    name: str,
    table: Any,
    scoped: Callable[[ScopeKind], Select[Any]],
    columns: tuple[SqlColumn, ...],
    *,
    computed: tuple[str, ...] = (),
    item: Callable[[Row], dict[str, Any]] | None = None,
    returning: tuple[SqlColumn, ...] | None = None,
) -> Resource:
    """The record type `name` read by `scoped` (its `columns`, then the `computed` fields):
    each row's representation is its fields by name unless `item` builds it, and a write
    returns `columns` (`returning`: those a write returns instead; () to read the record
    again, when a write can change a joined field)."""
    fields = (*(c.key for c in columns), *computed)

    def by_name(row: Row) -> dict[str, Any]:
        return dict(zip(fields, row, strict=True))

    back = columns if returning is None else returning
    return Resource(name, table, by_id(scoped, table), fields, item or by_name, back)


@dataclass(frozen=True, slots=True)
class Filter:
    """A list's filter by one query parameter: the condition on its bind parameter (named
    as the parameter), and how the parameter's value is bound."""

    condition: Callable[[str], ColumnElement[bool]]
    bind: Callable[[Any], Any] = lambda value: value


def equals(column: SqlColumn) -> Filter:
    """Rows whose `column` is the parameter's value."""
    return Filter(lambda name: column == bindparam(name))


def at_least(column: SqlColumn) -> Filter:
    return Filter(lambda name: column >= bindparam(name))


def at_most(column: SqlColumn) -> Filter:
    return Filter(lambda name: column <= bindparam(name))


def contains(*columns: SqlColumn) -> Filter:
    """Rows where any of `columns` holds the parameter's text, case-insensitively (a search
    over a school's own rows: small enough to scan; students have an index, kit/search)."""

    def condition(name: str) -> ColumnElement[bool]:
        pattern: Any = bindparam(name)
        return or_(*(column.ilike(pattern, escape=LIKE_ESCAPE) for column in columns))

    return Filter(condition, like_pattern)


@dataclass(frozen=True, eq=False)
class Listing:
    """A paged list of one record type in the caller's scope (hashed by identity: its
    compiled statements are cached under the listing itself)."""

    name: str  # what is listed, plural ("teachers"): the list route is `list_<name>`
    resource: Resource  # the record type: its representation, its read by id
    scoped: Callable[[ScopeKind], Select[Any]]
    sorting: Sorting
    # The query model a list request is parsed into, and each of its parameters that
    # filters (applied when the request carries it).
    query: type[BaseModel] | None = None
    filters: Mapping[str, Filter] = field(default_factory=dict)

    def statement(self, kind: ScopeKind, present: tuple[str, ...]) -> Select[Any]:
        """The caller's rows that pass the filters named in `present`."""
        stmt = self.scoped(kind)
        for name in present:
            stmt = stmt.where(self.filters[name].condition(name))
        return stmt

    def bound(self, filters: BaseModel | None) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The filters the request carries, and their values as bind parameters."""
        params: dict[str, Any] = {}
        if filters is not None:
            for name, spec in self.filters.items():
                value = getattr(filters, name)
                if value is not None:
                    params[name] = spec.bind(value)
        return tuple(params), params

    async def page(
        self, db: Database, principal: Principal, filters: BaseModel | None, plan: PagePlan
    ) -> tuple[list[Row], int]:
        """The page `plan` asks for (limit + 1 rows, to tell whether more follow) and the
        list's total."""
        kind = scope_kind(principal)
        present, params = self.bound(filters)
        params.update(scope_params(principal))
        query = _page(db, self, kind, present, plan.shape)
        rows = await db.reader.all(query, {**params, **plan.params()})
        total = plan.known_total(rows)
        if total is None:
            total = int(await db.reader.scalar(_count(db, self, kind, present), params))
        return rows, total

    def item(self, row: Row) -> dict[str, Any]:
        return self.resource.item(row)


@compiled
def _page(
    listing: Listing, kind: ScopeKind, present: tuple[str, ...], shape: PageShape
) -> Select[Any]:
    return page_statement(listing.statement(kind, present), listing.sorting, shape)


@compiled
def _count(listing: Listing, kind: ScopeKind, present: tuple[str, ...]) -> Select[Any]:
    # The id alone: a count needs none of the representation's joined or computed columns.
    rows = listing.statement(kind, present).with_only_columns(listing.sorting.id_column)
    return count_statement(rows)


async def read(
    db: Database, principal: Principal, resource: Resource, record_id: int
) -> dict[str, Any]:
    """The representation of the record `principal` may see (exactly what its GET answers),
    read on the raw read path; 404 when it does not exist or is out of their scope."""
    query = resource.query(db, scope_kind(principal))
    row = await db.reader.first(query, {**scope_params(principal), "id": record_id})
    if row is None:
        raise NotFound(f"{resource.name} not found")
    return resource.item(row)
