"""Lists: limit/offset, opaque keyset cursors, sort, total, Link headers.

Keyset paging is the fast path: `WHERE (sort_col, id) > (:v, :id) ORDER BY sort_col, id
LIMIT n` walks an index whatever the depth. OFFSET stays correct, and costs a scan of the
skipped rows.
"""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple
from urllib.parse import urlencode

import orjson
from fastapi import Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, bindparam, func, select, tuple_
from sqlalchemy.types import Date, Integer

from homeroom.kit.errors import ValidationFailed, field_error
from homeroom.kit.params import documents_query, query_parser
from homeroom.kit.responses import json_response
from homeroom.kit.schemas import MAX_ID
from homeroom.models.base import UTCDateTime

MAX_LIMIT = 1000

# A mapped attribute (Student.last_name) or any column expression.
SqlColumn = Any


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    offset: int
    cursor: str | None
    sort: str | None


class PageParams(BaseModel):
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, description="Page size, 1..1000")
    offset: int = Field(default=0, ge=0, le=10_000_000, description="Rows to skip (slow path)")
    cursor: str | None = Field(
        default=None, max_length=512, description="Opaque cursor from next_cursor (fast path)"
    )
    sort: str | None = Field(
        default=None, max_length=40, description="Sort key; prefix '-' for descending"
    )


_parse_page = query_parser(PageParams)


@documents_query(PageParams)
async def page_request(request: Request) -> PageRequest:
    params = await _parse_page(request)
    return PageRequest(params.limit, params.offset, params.cursor, params.sort)


@dataclass(frozen=True, slots=True)
class SortKey:
    column: SqlColumn
    position: int  # index of the column in the selected row


@dataclass(frozen=True, slots=True)
class Sorting:
    """The sort keys a list allows; `id_position` is where the row id sits."""

    keys: dict[str, SortKey]
    default: str
    id_column: SqlColumn
    id_position: int = 0

    @classmethod
    def of(cls, columns: Sequence[SqlColumn], default: str, *others: str) -> "Sorting":
        """Sorting by the named columns of a row that starts with `columns` (its `id` among
        them); `default` (prefixed '-' when the list runs descending unless asked) first."""
        positions = {column.key: i for i, column in enumerate(columns)}
        by_name = {column.key: column for column in columns}
        names = (default.removeprefix("-"), *others)
        keys = {name: SortKey(by_name[name], positions[name]) for name in names}
        return cls(keys, default, by_name["id"], positions["id"])

    def parse(self, sort: str | None) -> tuple[str, bool]:
        raw = sort or self.default
        desc = raw.startswith("-")
        name = raw.removeprefix("-")
        if name not in self.keys:
            allowed = ", ".join(sorted(self.keys))
            raise ValidationFailed(
                f"sort must be one of {allowed} (prefix '-' for descending)",
                errors=[field_error(["query", "sort"], f"unknown sort key {name!r}")],
            )
        return name, desc


@dataclass(frozen=True, slots=True)
class Keyset:
    """The decoded position a cursor points after, and the list's total when it began."""

    sort: str
    desc: bool
    value: Any
    last_id: int
    total: int


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "the cursor is not valid for this list",
        errors=[field_error(["query", "cursor"], "invalid cursor")],
    )


def encode_cursor(sort: str, desc: bool, value: Any, last_id: int, total: int) -> str:
    raw = orjson.dumps([sort, desc, value, last_id, total])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _coerce(value: Any, column: SqlColumn) -> Any:
    if value is None:
        raise _bad_cursor()
    kind = column.type
    try:
        if isinstance(kind, UTCDateTime):
            return datetime.fromisoformat(value)
        if isinstance(kind, Date):
            return date.fromisoformat(value)
        if isinstance(kind, Integer):
            if not _is_int(value, -MAX_ID, MAX_ID):
                raise TypeError
            return value
        if not isinstance(value, str | int | float):
            raise TypeError
        return value
    except (TypeError, ValueError):
        raise _bad_cursor() from None


def decode_cursor(cursor: str, sorting: Sorting, sort: str, desc: bool) -> Keyset:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, cursor_desc, value, last_id, total = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise _bad_cursor() from None
    if name != sort or cursor_desc != desc:
        raise _bad_cursor()
    if not (_is_int(last_id, 1, MAX_ID) and _is_int(total, 0, 2**63)):
        raise _bad_cursor()
    return Keyset(name, desc, _coerce(value, sorting.keys[name].column), last_id, total)


class PageShape(NamedTuple):
    """What of a page request changes its statement: the sort, and whether a cursor
    positions it (`after`). A compiled page statement is cached per shape."""

    sort: str
    desc: bool
    after: bool


@dataclass(frozen=True, slots=True)
class PagePlan:
    """How a list request will run: `shape` goes into the compiled-query cache key."""

    sort: str
    desc: bool
    keyset: Keyset | None
    limit: int
    offset: int

    @property
    def after(self) -> bool:
        return self.keyset is not None

    @property
    def shape(self) -> PageShape:
        return PageShape(self.sort, self.desc, self.keyset is not None)

    def known_total(self, rows: Sequence[tuple[Any, ...]]) -> int | None:
        """The total when it needs no COUNT: carried by the cursor (counted when the listing
        began), or evident when the first page holds the whole list."""
        if self.keyset is not None:
            return self.keyset.total
        if self.offset == 0 and len(rows) <= self.limit:
            return len(rows)
        return None

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"page_limit": self.limit + 1, "page_offset": self.offset}
        if self.keyset is not None:
            params["after_value"] = self.keyset.value
            params["after_id"] = self.keyset.last_id
        return params


def plan_page(page: PageRequest, sorting: Sorting) -> PagePlan:
    sort, desc = sorting.parse(page.sort)
    keyset = None
    if page.cursor is not None:
        if page.offset:
            raise ValidationFailed(
                "use either cursor or offset, not both",
                errors=[field_error(["query", "offset"], "offset must be 0 with a cursor")],
            )
        keyset = decode_cursor(page.cursor, sorting, sort, desc)
    return PagePlan(sort, desc, keyset, page.limit, page.offset)


def page_plan(sorting: Sorting) -> Callable[[Request], Awaitable[PagePlan]]:
    """A dependency: the request's paging (limit, offset, cursor, sort) planned for a list
    sorted by `sorting` (an unknown sort key or a cursor of another list: 422)."""

    @documents_query(PageParams)
    async def plan(request: Request) -> PagePlan:
        return plan_page(await page_request(request), sorting)

    return plan


def page_statement(base: Select[Any], sorting: Sorting, plan: PagePlan | PageShape) -> Select[Any]:
    """`base` ordered, positioned after the cursor and limited; values are bind parameters."""
    column = sorting.keys[plan.sort].column
    id_column = sorting.id_column
    stmt = base
    if plan.after:
        pair = tuple_(column, id_column)
        after = tuple_(bindparam("after_value", type_=column.type), bindparam("after_id"))
        stmt = stmt.where(pair < after if plan.desc else pair > after)
    if plan.desc:
        stmt = stmt.order_by(column.desc(), id_column.desc())
    else:
        stmt = stmt.order_by(column.asc(), id_column.asc())
    return stmt.limit(bindparam("page_limit", type_=Integer)).offset(
        bindparam("page_offset", type_=Integer)
    )


def search_page_statement(
    base: Select[Any], sorting: Sorting, plan: PagePlan | PageShape, *, total: bool
) -> Select[Any]:
    """A page of `base` for a filter no index can walk in sort order (a search).

    The matching rows' ids and sort values are found once (a MATERIALIZED CTE, so each
    backend finds them its best way: from the search index), then ordered, positioned after
    the cursor, limited, and only the page's rows are read whole. With `total`, the number of
    matches rides in one more, last, column of every row: page and total come from that one
    pass, where a page statement and a COUNT would each filter the rows again.
    """
    column = sorting.keys[plan.sort].column
    id_column = sorting.id_column
    hits = (
        base.with_only_columns(
            id_column.label("id"), column.label("sort_value"), maintain_column_froms=True
        )
        .order_by(None)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    order = (hits.c.sort_value, hits.c.id)
    page = select(*order)
    if plan.after:
        after = tuple_(bindparam("after_value", type_=column.type), bindparam("after_id"))
        page = page.where(tuple_(*order) < after if plan.desc else tuple_(*order) > after)
    page_order = [c.desc() for c in order] if plan.desc else [c.asc() for c in order]
    top = (
        page.order_by(*page_order)
        .limit(bindparam("page_limit", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
        .subquery("page")
    )
    stmt = select(*base.selected_columns).join_from(top, id_column.table, id_column == top.c.id)
    if total:
        stmt = stmt.add_columns(
            select(func.count()).select_from(hits).scalar_subquery().label("total")
        )
    top_order = [top.c.sort_value, top.c.id]
    ordered: Select[Any] = stmt.order_by(
        *([c.desc() for c in top_order] if plan.desc else [c.asc() for c in top_order])
    )
    return ordered


def count_statement(base: Select[Any]) -> Select[Any]:
    return base.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)


def page_response(
    request: Request,
    rows: Sequence[tuple[Any, ...]],
    total: int,
    plan: PagePlan,
    sorting: Sorting,
    to_item: Callable[[tuple[Any, ...]], dict[str, Any]],
) -> Response:
    """The list envelope of rows fetched with limit + 1, as a JSON answer with its ETag and
    its Link header to the next page."""
    has_more = len(rows) > plan.limit
    rows = rows[: plan.limit]
    next_cursor = None
    headers: dict[str, str] = {}
    if has_more and rows:
        last = rows[-1]
        value = last[sorting.keys[plan.sort].position]
        if isinstance(value, datetime | date):
            value = value.isoformat()
        next_cursor = encode_cursor(plan.sort, plan.desc, value, last[sorting.id_position], total)
        query = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "offset")
        ]
        query.append(("cursor", next_cursor))
        url = request.url.replace(query=urlencode(query))
        headers["Link"] = f'<{url}>; rel="next"'
    body = {
        "items": [to_item(r) for r in rows],
        "total": total,
        "limit": plan.limit,
        "offset": plan.offset,
        "next_cursor": next_cursor,
    }
    return json_response(request, body, headers=headers)


# The escape character for LIKE patterns: not a backslash, which PostgreSQL and SQLite
# read differently inside string literals.
LIKE_ESCAPE = "!"


def like_pattern(q: str) -> str:
    """A case-insensitive 'contains' pattern for `column.ilike(p, escape=LIKE_ESCAPE)`."""
    escaped = q.strip().lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"
