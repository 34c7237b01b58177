"""Notification queries: a user's own only."""

from typing import Any

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import CompiledQuery, Database, Row
from homeroom.kit.scopes import ScopeKind
from homeroom.kit.writes import Resource
from homeroom.models import Notification, utcnow

COLUMNS = (
    Notification.id,
    Notification.kind,
    Notification.title,
    Notification.body,
    Notification.job_id,
    Notification.read_at,
    Notification.created_at,
)
FIELDS = tuple(c.key for c in COLUMNS)


async def add(session: AsyncSession, values: dict[str, Any]) -> None:
    """Inserts one notification (`values`: its columns) in the session's transaction."""
    await session.execute(insert(Notification).values(**values))


def to_item(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row, strict=True))


def _mine(unread_only: bool) -> Any:
    stmt = select(*COLUMNS).where(Notification.user_id == bindparam("user"))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt


async def list_page(
    db: Database, user_id: int, unread_only: bool, limit: int, offset: int
) -> tuple[list[Row], int, int]:
    """(rows, total, unread): unread first, then newest first."""
    page_q = db.query(
        ("notifications.page", unread_only),
        lambda: (
            _mine(unread_only)
            .order_by(Notification.read_at.is_not(None), Notification.id.desc())
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        ),
    )
    counts_q = db.query(
        "notifications.counts",
        lambda: select(
            func.count(),
            func.coalesce(func.sum(case((Notification.read_at.is_(None), 1), else_=0)), 0),
        ).where(Notification.user_id == bindparam("user")),
    )
    rows = await db.reader.all(page_q, {"user": user_id, "limit": limit, "offset": offset})
    counts = await db.reader.first(counts_q, {"user": user_id})
    total, unread = (int(n) for n in counts) if counts else (0, 0)
    return rows, (unread if unread_only else total), unread


def get_query(db: Database, _kind: ScopeKind | None = None) -> CompiledQuery:
    """One notification by the parameters `id` and `user` (its owner's only)."""
    return db.query(
        "notifications.get",
        lambda: select(*COLUMNS).where(
            Notification.id == bindparam("id"), Notification.user_id == bindparam("user")
        ),
    )


RESOURCE = Resource("notification", Notification, get_query, FIELDS, to_item, COLUMNS)


async def get(db: Database, reader: Any, user_id: int, notification_id: int) -> Row | None:
    row: Row | None = await reader.first(get_query(db), {"id": notification_id, "user": user_id})
    return row


async def mark_read(session: AsyncSession, user_id: int, notification_id: int | None) -> int:
    """Marks one (or, with None, every) unread notification of the user read."""
    stmt = (
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]
