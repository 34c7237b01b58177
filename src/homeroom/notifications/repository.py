"""Notification queries: a user's own only."""

from typing import Any

from sqlalchemy import Select, bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit.db import CompiledQuery, Database, Row, compiled
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


def _mine(unread_only: bool) -> Select[Any]:
    stmt = select(*COLUMNS).where(Notification.user_id == bindparam("user"))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt


@compiled
def _page(unread_only: bool) -> Select[Any]:
    """A page of the user's notifications: unread first, then newest first."""
    return (
        _mine(unread_only)
        .order_by(Notification.read_at.is_not(None), Notification.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@compiled
def _counts() -> Select[Any]:
    """The user's notifications, and the unread among them."""
    return select(
        func.count(),
        func.coalesce(func.sum(case((Notification.read_at.is_(None), 1), else_=0)), 0),
    ).where(Notification.user_id == bindparam("user"))


async def list_page(
    db: Database, user_id: int, unread_only: bool, limit: int, offset: int
) -> tuple[list[Row], int, int]:
    """(rows, total, unread): unread first, then newest first."""
    params = {"user": user_id, "limit": limit, "offset": offset}
    rows = await db.reader.all(_page(db, unread_only), params)
    counts = await db.reader.first(_counts(db), {"user": user_id})
    total, unread = (int(n) for n in counts) if counts else (0, 0)
    return rows, (unread if unread_only else total), unread


@compiled
def _owned() -> Select[Any]:
    """One notification by the parameters `id` and `user` (its owner's only)."""
    return select(*COLUMNS).where(
        Notification.id == bindparam("id"), Notification.user_id == bindparam("user")
    )


def get_query(db: Database, _kind: ScopeKind | None = None) -> CompiledQuery:
    """The resource's read: the same for every caller (a notification is its owner's only)."""
    return _owned(db)


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
