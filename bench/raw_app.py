"""The two references bench/reads.py runs beside Homeroom (see bench/README.md).

`app` (raw): a bare ASGI app, no framework, that answers the same two reads as Homeroom's
`GET /api/v1/students/{id}` and `GET /api/v1/students?limit=&cursor=` with THE SAME SQL,
run on the raw driver (sqlite3 inline, or an asyncpg pool) and encoded with orjson. It does
the same database work per request as the endpoint: the page query with limit + 1, and the
count query only when the endpoint runs it (a first page longer than its limit; after a
cursor the total travels in the cursor). It does no authentication, validation, ETag or Link
header: it is the database + encoding limit.

Nothing is copied by hand: at startup the app calls Homeroom's own repository functions with
a recording reader and keeps the CompiledQuery objects (SQL text, parameter order) they use,
and opens its sqlite3 connection / asyncpg pool through Homeroom's reader classes, so both
sides run with the same driver settings. Requests then call the driver directly.

`ceiling`: a bare ASGI app answering every request with a fixed ~100-byte JSON.

Run with `uvicorn --app-dir bench raw_app:app` (or `raw_app:ceiling`); configuration comes
from the environment: HOMEROOM_DATABASE_URL (as for Homeroom) and BENCH_PRINCIPAL, the JSON
claims {"role", "school_id", "profile_id"} of the caller whose row scope the SQL applies.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson

from homeroom.config import Settings
from homeroom.kit.db import (
    AsyncpgReader,
    CompiledQuery,
    Database,
    Row,
    SqliteReader,
    sqlite_path,
)
from homeroom.kit.pagination import PageRequest, encode_cursor, plan_page
from homeroom.kit.scopes import scope_kind, scope_params
from homeroom.kit.security import AccessClaims
from homeroom.students import repository
from homeroom.students.schemas import StudentFilters

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]
NOT_FOUND = b'{"status":404,"title":"Not found"}'
STUDENTS = "/api/v1/students"
STUDENT_PREFIX = STUDENTS + "/"


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send, startup: Callable[[], Awaitable[None]]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await startup()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                raise
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# --- ceiling ------------------------------------------------------------------------------------

CEILING_BODY = orjson.dumps(
    {"status": "ok", "service": "ceiling", "note": "a fixed JSON body of about a hundred bytes"}
)


async def ceiling(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await _respond(send, 200, CEILING_BODY)
    elif scope["type"] == "lifespan":

        async def nothing() -> None:
            return None

        await _lifespan(receive, send, nothing)


# --- the queries Homeroom runs, captured from its repository -------------------------------------


class _Recorder:
    """A Reader that records the compiled queries a repository call runs.

    `all` returns `page_rows` rows, so that a first page looks longer than its limit."""

    def __init__(self, page_rows: int) -> None:
        self.page_rows = page_rows
        self.queries: list[CompiledQuery] = []

    async def all(self, query: CompiledQuery, params: dict[str, Any]) -> list[Row]:
        self.queries.append(query)
        return [()] * self.page_rows

    async def first(self, query: CompiledQuery, params: dict[str, Any]) -> Row | None:
        self.queries.append(query)
        return None

    async def scalar(self, query: CompiledQuery, params: dict[str, Any]) -> Any:
        self.queries.append(query)
        return 0

    def take(self) -> list[CompiledQuery]:
        taken, self.queries = self.queries, []
        return taken


class Queries:
    """The by-id, page (with and without a cursor) and count queries of the students list."""

    def __init__(self, settings: Settings, principal: AccessClaims) -> None:
        self.settings = settings
        self.kind = scope_kind(principal)
        self.scope = scope_params(principal)
        self.by_id: CompiledQuery
        self.first_page: CompiledQuery
        self.next_page: CompiledQuery
        self.count: CompiledQuery

    async def capture(self) -> None:
        db = Database(self.settings)
        try:
            filters = StudentFilters()
            rec = _Recorder(page_rows=1000)
            db.reader = rec  # type: ignore[assignment]
            await rec.first(repository.RESOURCE.query(db, self.kind), {**self.scope, "id": 1})
            (self.by_id,) = rec.take()
            # A first page with more rows than fit: the page query, then the count.
            first = plan_page(PageRequest(50, 0, None, None), repository.SORTING)
            await repository.list_page(db, self.kind, self.scope, filters, first)
            self.first_page, self.count = rec.take()
            # A page after a cursor: the total travels in the cursor, so no count.
            cursor = encode_cursor(repository.SORTING.default, False, "", 1, 0)
            after = plan_page(PageRequest(50, 0, cursor, None), repository.SORTING)
            await repository.list_page(db, self.kind, self.scope, filters, after)
            (self.next_page,) = rec.take()
        finally:
            await db.engine.dispose()

    def args(self, query: CompiledQuery, params: dict[str, Any]) -> list[Any]:
        values = {**self.scope, **params}
        return [values.get(name, query.defaults.get(name)) for name in query.param_names]


# --- raw ------------------------------------------------------------------------------------------


class RawApp:
    def __init__(self) -> None:
        self.settings = Settings()
        claims = orjson.loads(os.environ.get("BENCH_PRINCIPAL", '{"role": "admin"}'))
        principal = AccessClaims(
            user_id=0,
            role=claims["role"],
            school_id=claims.get("school_id"),
            profile_id=claims.get("profile_id"),
        )
        self.q = Queries(self.settings, principal)
        self.fields = repository.RESOURCE.fields
        sorting = repository.SORTING
        self.sort = sorting.default
        self.sort_pos = sorting.keys[self.sort].position
        self.id_pos = sorting.id_position
        self.fetch: Callable[[CompiledQuery, list[Any]], Awaitable[list[Any]]]
        self.fetchval: Callable[[CompiledQuery, list[Any]], Awaitable[Any]]

    async def startup(self) -> None:
        await self.q.capture()
        # The driver connection (pool) exactly as Homeroom's reader opens it, so that both
        # sides run with the same driver settings; the requests then call the driver directly.
        settings = self.settings
        url = settings.effective_database_url
        if settings.is_sqlite:
            conn = SqliteReader(sqlite_path(url), settings.sqlite_busy_timeout_ms)._connection()

            async def fetch(query: CompiledQuery, args: list[Any]) -> list[Any]:
                return conn.execute(query.sql, args).fetchall()

            async def fetchval(query: CompiledQuery, args: list[Any]) -> Any:
                return conn.execute(query.sql, args).fetchone()[0]

        else:
            dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
            reader, export_pool = AsyncpgReader, settings.pool_sizes()[2]
            started = reader(
                dsn, settings.db_pool_size, settings.db_statement_timeout_ms, export_pool
            )
            await started.start()
            pool = started._pool
            assert pool is not None

            async def fetch(query: CompiledQuery, args: list[Any]) -> list[Any]:
                conn = await pool.take()
                try:
                    rows: list[Any] = await conn.fetch(query.sql, *args)
                finally:
                    pool.give(conn)
                return rows

            async def fetchval(query: CompiledQuery, args: list[Any]) -> Any:
                conn = await pool.take()
                try:
                    return await conn.fetchval(query.sql, *args)
                finally:
                    pool.give(conn)

        self.fetch = fetch
        self.fetchval = fetchval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self.startup)
            return
        path: str = scope["path"]
        if path == STUDENTS:
            status, body = await self.page(scope["query_string"])
        elif path.startswith(STUDENT_PREFIX) and path[len(STUDENT_PREFIX) :].isdigit():
            status, body = await self.student(int(path[len(STUDENT_PREFIX) :]))
        else:
            status, body = 404, NOT_FOUND
        await _respond(send, status, body)

    async def student(self, student_id: int) -> tuple[int, bytes]:
        q = self.q.by_id
        rows = await self.fetch(q, self.q.args(q, {"id": student_id}))
        if not rows:
            return 404, NOT_FOUND
        return 200, orjson.dumps(dict(zip(self.fields, rows[0], strict=True)))

    async def page(self, query_string: bytes) -> tuple[int, bytes]:
        query = dict(parse_qsl(query_string.decode("latin-1")))
        limit = int(query.get("limit", 50))
        cursor = query.get("cursor")
        params: dict[str, Any] = {"page_limit": limit + 1, "page_offset": 0}
        total: int | None = None
        if cursor is None:
            q = self.q.first_page
        else:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            _sort, _desc, params["after_value"], params["after_id"], total = orjson.loads(raw)
            q = self.q.next_page
        rows = await self.fetch(q, self.q.args(q, params))
        # list_page's rule (PagePlan.known_total): the total comes from the cursor, or is
        # evident when a first page holds the whole list; otherwise one COUNT.
        if total is None:
            if len(rows) <= limit:
                total = len(rows)
            else:
                total = await self.fetchval(self.q.count, self.q.args(self.q.count, {}))
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            value = last[self.sort_pos]
            next_cursor = encode_cursor(self.sort, False, value, last[self.id_pos], total)
        fields = self.fields
        body = {
            "items": [dict(zip(fields, r, strict=True)) for r in rows],
            "total": total,
            "limit": limit,
            "offset": 0,
            "next_cursor": next_cursor,
        }
        return 200, orjson.dumps(body)


app = RawApp()


if __name__ == "__main__":  # print the SQL the raw app runs
    raw = RawApp()
    asyncio.run(raw.q.capture())
    for name in ("by_id", "first_page", "next_page", "count"):
        print(f"-- {name}\n{getattr(raw.q, name).sql}\n")
