"""Response caching that is never stale: versioned keys, versions kept in the database.

Every cached response depends on a few *tags* ("course:12", "student:7",
"school:3:grading", named by kit/tags.py). Each tag has a version in the `cache_versions`
table. A write replaces the versions of the tags it affects with a fresh random value INSIDE
ITS OWN TRANSACTION (`invalidate`), so the new versions commit atomically with the data. A
cached read (`ResponseCache.cached`) first reads the current versions of its tags, then looks
up the key `region:key parts:versions`; on a miss it builds the body and stores it under that
key.

Why no reader can see a value older than the last acknowledged write, in any process:
the write's versions are committed before its response is sent; any read that starts after
that reads the new versions, so it looks for a key no earlier read could have stored. An
entry is only ever stored under versions read BEFORE its body was built, so its body is at
least as new as those versions. Old entries are never deleted, nor need to be: nobody asks for
them again, and they expire (TTL) or fall out of the bounded LRU. So the per-process memory
store needs no invalidation messages, and Redis (shared storage when HOMEROOM_REDIS_URL is
set) is just a second place to find the same immutable entries.

Versions are random 63-bit values, not counters, and keys also carry the database's cache
*epoch* (the version of the tag "__epoch__", written when a process starts): a database that
is emptied, re-created or restored from a backup never makes an old key reachable again
(counters would restart and collide with entries still in Redis). Without an epoch row
nothing is cached (every read builds), which is always correct.

Reading versions cheaply:
- SQLite: `PRAGMA data_version` on the reader connection changes whenever another connection
  committed. Versions read while it holds one value stay valid until it changes, so a hit
  costs the pragma (about a microsecond, no statement) and a dict lookup.
- PostgreSQL: a primary-key SELECT of the versions, shared by the cached reads of the process
  that arrive together (`SharedVersionReads`): a read joins the next SELECT to start, never
  one already sent, so what it gets is at least as new as any write acknowledged before the
  read began. Under load one SELECT answers many reads.

Redis down or failing: a warning (at most one per `_WARN_EVERY` seconds), Redis skipped for
`_RETRY_AFTER` seconds, reads served from memory or the database. Never an error.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import structlog
from cashews.backends.memory import Memory
from prometheus_client import Counter
from sqlalchemy import Text, any_, bindparam, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from homeroom.config import Settings
from homeroom.kit import epilogue
from homeroom.kit.bulk import RowSet
from homeroom.kit.db import Database, compiled
from homeroom.kit.responses import PRIVATE, etag_of, prepared_json
from homeroom.kit.tags import Tag
from homeroom.models.cache import CacheVersion

if TYPE_CHECKING:
    from homeroom.kit.auth import Principal

EPOCH = "__epoch__"
_RETRY_AFTER = 5.0  # seconds Redis is left alone after a failure
_WARN_EVERY = 60.0  # at most one warning per this many seconds

# The cached pages: a region is a metric label, so the set is closed (mypy holds callers to it).
Region = Literal[
    "course",
    "section",
    "student_grades",
    "student_attendance",
    "section_attendance",
    "dashboard",
    "analytics_me",
    "users_total",
]
HITS = Counter("homeroom_cache_hits_total", "Responses served from the cache.", ["region"])
MISSES = Counter("homeroom_cache_misses_total", "Responses built on a cache miss.", ["region"])

# (ETag, body): what a cached read returns and what the memory store keeps.
Entry = tuple[str, bytes]


def _log() -> Any:
    # Looked up per (rare, rate-limited) warning rather than once: a logger cached at import
    # would keep the processors of that moment.
    return structlog.get_logger("homeroom.cache")


# --- who reads (the tags themselves: kit/tags.py) -------------------------------------------


def scope_key(principal: Principal) -> tuple[Hashable, ...]:
    """What makes one caller's view differ from another's: role, school and profile."""
    return (principal.role, principal.school_id, principal.profile_id)


# --- writes -------------------------------------------------------------------------------------


_TAGS = RowSet((("tag", "TEXT"),))


async def invalidate(session: AsyncSession, *tags: Tag) -> None:
    """Gives each tag a fresh version in the session's transaction. The tags of a transaction
    are written together just before it commits (kit/epilogue.py: no code path can commit
    without them), by one statement whose text is the same for any number of tags; on
    PostgreSQL the tags' rows stay locked only from there to the commit."""
    if tags:
        session.info.setdefault(_PENDING, set()).update(tags)


_PENDING = "homeroom.cache.tags"


@epilogue.part
def _write_versions(session: Session, sqlite: bool) -> tuple[str, dict[str, Any]] | None:
    tags = session.info.pop(_PENDING, None)
    if not tags:
        return None
    # Ordered: concurrent PostgreSQL writers lock shared tags in one order (no deadlock).
    sql = (
        f"INSERT INTO cache_versions (tag, version) SELECT tag, :version FROM "
        f"({_TAGS.select(sqlite)}) t ORDER BY tag "
        "ON CONFLICT (tag) DO UPDATE SET version = excluded.version"
    )
    return sql, {"version": secrets.randbits(63), **_TAGS.params(sqlite, [(t,) for t in tags])}


@event.listens_for(Session, "after_rollback")
def _drop_versions(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- reads --------------------------------------------------------------------------------------


@compiled
def _versions(count: int) -> Any:
    return select(CacheVersion.tag, CacheVersion.version).where(
        CacheVersion.tag.in_([bindparam(f"t{i}") for i in range(count)])
    )


@compiled
def _versions_of_any() -> Any:
    """PostgreSQL: the versions of any number of tags, one statement (an array parameter)."""
    tags: Any = bindparam("tags", type_=postgresql.ARRAY(Text))
    return select(CacheVersion.tag, CacheVersion.version).where(CacheVersion.tag == any_(tags))


class SharedVersionReads:
    """Concurrent cached reads of one process share one SELECT of versions.

    A read adds its tags to the NEXT batch, the one not yet sent, and waits for it. A batch
    is sent as soon as no other is running, and the reads that arrive meanwhile form the one
    after it. So every batch's SELECT starts after each of its reads arrived: a read sees
    every write acknowledged before it began (the never-stale rule), while under load one
    round trip serves every read that came in during the previous one.
    """

    def __init__(self, fetch: Callable[[list[str]], Awaitable[dict[str, int]]]) -> None:
        self._fetch = fetch
        self._tags: set[str] = set()
        self._next: asyncio.Future[dict[str, int]] | None = None
        self._runner: asyncio.Task[None] | None = None

    async def read(self, tags: Iterable[str]) -> dict[str, int]:
        """The current version of each of `tags` (a tag without a row is absent)."""
        loop = asyncio.get_running_loop()
        if self._runner is not None and self._runner.get_loop() is not loop:
            # Another event loop's batch (a test's, a closed one's): not ours to wait for.
            self._tags, self._next, self._runner = set(), None, None
        self._tags.update(tags)
        batch = self._next
        if batch is None:
            batch = self._next = loop.create_future()
        if self._runner is None:
            self._runner = loop.create_task(self._run())
        # Shielded: a request cancelled while it waits must not cancel the batch for the rest.
        return await asyncio.shield(batch)

    async def _run(self) -> None:
        try:
            while (batch := self._next) is not None:
                tags, self._tags, self._next = self._tags, set(), None
                try:
                    found = await self._fetch(sorted(tags))
                except Exception as exc:
                    batch.set_exception(exc)
                    batch.exception()  # retrieved here too: no "never retrieved" warning
                except BaseException:
                    batch.cancel()
                    raise
                else:
                    batch.set_result(found)
        finally:
            self._runner = None
            if self._next is not None:  # cancelled between batches: nobody may wait forever
                self._next.cancel()
                self._next = None


class ResponseCache:
    """One process's view of the cache: memory store (LRU, TTL), optional Redis behind it,
    versions read from `db`. Created in the app's lifespan beside the Database
    (`app.state.cache`); endpoints take it as the `PageCache` dependency (kit/deps.py)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.ttl = settings.cache_ttl_seconds
        self.local = Memory(size=settings.cache_local_entries, check_interval=0)
        self.shared: Any = None
        if settings.redis_url:
            from cashews.backends.redis import Redis

            self.shared = Redis(
                settings.redis_url,
                suppress=False,  # errors raise here, and are handled below
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
                max_connections=32,
                health_check_interval=0,
            )
        self._versions: dict[str, int] = {}
        self._data_version: int | None = None
        self._shared_reads = SharedVersionReads(self._fetch_versions)
        self._redis_retry_at = 0.0
        self._warned_at = -_WARN_EVERY
        self._hits: dict[str, Any] = {}
        self._misses: dict[str, Any] = {}
        self.large = LargeBodies(
            settings.cache_large_bytes, settings.cache_large_entry_bytes, settings.cache_ttl_seconds
        )

    async def start(self) -> None:
        await self.local.init()
        if self.shared is not None:
            try:
                await self.shared.init()
            except Exception as exc:
                self._redis_failed(exc)
        await self.ensure_epoch()

    async def close(self) -> None:
        if self.shared is not None:
            try:
                with warnings.catch_warnings():  # cashews calls redis-py's deprecated close()
                    warnings.simplefilter("ignore", DeprecationWarning)
                    await self.shared.close()
            except Exception as exc:
                self._redis_failed(exc)

    async def ensure_epoch(self) -> None:
        """Writes the database's cache epoch unless it has one (every process at start)."""
        db = self.db
        insert = sqlite.insert if db.is_sqlite else postgresql.insert
        stmt = insert(CacheVersion).values(tag=EPOCH, version=secrets.randbits(63))
        try:
            async with db.engine.begin() as conn:
                await conn.execute(stmt.on_conflict_do_nothing(index_elements=[CacheVersion.tag]))
        except Exception as exc:  # not migrated yet: nothing is cached until a write adds it
            _log().warning("cache epoch not written; caching off", error=repr(exc))

    async def clear_local(self) -> None:
        await self.local.clear()

    # -- versions --

    async def _read_versions(self, tags: Iterable[Tag]) -> list[int] | None:
        db = self.db
        wanted = [EPOCH, *tags]
        known = self._versions
        reader: Any = db.reader
        if not db.is_sqlite:
            found = await self._shared_reads.read(wanted)
            if not found.get(EPOCH):
                return None
            return [found.get(t, 0) for t in wanted]
        data_version = reader.data_version()
        if data_version != self._data_version:
            known.clear()
            self._data_version = data_version
        missing = [t for t in wanted if t not in known]
        if missing:
            rows = await reader.all(
                _versions(db, len(missing)), {f"t{i}": tag for i, tag in enumerate(missing)}
            )
            found = dict(rows)
            for tag in missing:
                known[tag] = found.get(tag, 0)
        if known[EPOCH] == 0:
            return None
        return [known[t] for t in wanted]

    async def _fetch_versions(self, tags: list[str]) -> dict[str, int]:
        rows = await self.db.reader.all(_versions_of_any(self.db), {"tags": tags})
        return dict(rows)

    # -- the cached read --

    async def key(
        self, region: str, key_parts: Iterable[Hashable], tags: Iterable[Tag]
    ) -> str | None:
        """The key an entry built NOW may be stored under (None: caching is off). Read it
        before building the entry, never after (see the module's docstring)."""
        versions = await self._read_versions(tags)
        if versions is None:
            return None
        return f"{region}:{':'.join(map(str, key_parts))}:{'.'.join(map(str, versions))}"

    async def cached(
        self,
        region: Region,
        key_parts: Iterable[Hashable],
        tags: Iterable[Tag],
        build: Callable[[], Awaitable[bytes]],
        gate: asyncio.Semaphore | None = None,
    ) -> Entry:
        """The body `build()` makes, from the cache when the tags have not changed since.

        `key_parts` must name everything the body depends on besides the tags' data: ids,
        query parameters, and the caller's scope. `build()` raising (404, 403) caches nothing.
        With a `gate` (heavy bodies: a dashboard), builds wait for a turn, and a request that
        waited takes the body a request ahead of it built for the same key instead.
        """
        key = await self.key(region, key_parts, tags)
        if key is None:
            self._count(self._misses, MISSES, region)
            body = await build()
            return etag_of(body), body
        entry: Entry | None = await self.local.get(key)
        if entry is not None:
            self._count(self._hits, HITS, region)
            return entry
        if self.shared is not None:
            stored = await self._shared_get(key)
            if stored is not None:
                entry = (etag_of(stored), stored)
                await self.local.set(key, entry, expire=self.ttl)
                self._count(self._hits, HITS, region)
                return entry
        if gate is None:
            return await self._build(key, region, build)
        async with gate:
            entry = await self.local.get(key)
            if entry is not None:
                self._count(self._hits, HITS, region)
                return entry
            return await self._build(key, region, build)

    async def _build(
        self, key: str, region: Region, build: Callable[[], Awaitable[bytes]]
    ) -> Entry:
        self._count(self._misses, MISSES, region)
        body = await build()
        entry = (etag_of(body), body)
        await self.local.set(key, entry, expire=self.ttl)
        if self.shared is not None:
            await self._shared_set(key, body)
        return entry

    @staticmethod
    def _count(children: dict[str, Any], counter: Counter, region: Region) -> None:
        child = children.get(region)
        if child is None:
            child = children[region] = counter.labels(region)
        child.inc()

    # -- Redis, never an error --

    async def _shared_get(self, key: str) -> bytes | None:
        if time.monotonic() < self._redis_retry_at:
            return None
        try:
            value: bytes | None = await self.shared.get_raw(key)
        except Exception as exc:
            self._redis_failed(exc)
            return None
        return value

    async def _shared_set(self, key: str, body: bytes) -> None:
        if time.monotonic() < self._redis_retry_at:
            return
        try:
            await self.shared.set_raw(key, body, px=self.ttl * 1000)
        except Exception as exc:
            self._redis_failed(exc)

    def _redis_failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._redis_retry_at = now + _RETRY_AFTER
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            _log().warning(
                "redis unavailable; serving without the shared cache",
                error=repr(exc.__cause__ or exc),
                retry_in_seconds=_RETRY_AFTER,
            )


class LargeBodies:
    """Large cached bodies (exports of a whole list) in this process: an LRU bounded by their
    total size (HOMEROOM_CACHE_LARGE_BYTES) and by each one's (larger ones are not kept), with
    the cache's TTL. Keys come from `ResponseCache.key`, so an entry is never stale."""

    def __init__(self, max_bytes: int, max_entry: int, ttl: int) -> None:
        self.max_bytes = max_bytes
        self.max_entry = min(max_entry, max_bytes)
        self.ttl = ttl
        self.size = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, body = found
        if time.monotonic() > expires:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.max_entry or key in self._entries:
            return
        while self._entries and self.size + len(body) > self.max_bytes:
            self._drop(next(iter(self._entries)))
        self._entries[key] = (time.monotonic() + self.ttl, body)
        self.size += len(body)

    def _drop(self, key: str) -> None:
        _, body = self._entries.pop(key)
        self.size -= len(body)


def cached_response(request: Request, entry: Entry, cache_control: str = PRIVATE) -> Response:
    """A cached body as a JSON response with its ETag; 304 when the client has it."""
    etag, body = entry
    return prepared_json(request, body, etag, cache_control=cache_control)
