"""A user's own notifications. Never commits: the request's unit of work does."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.kit import writes
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.models import utcnow
from homeroom.notifications import repository
from homeroom.notifications.schemas import NotificationFilters


async def list_notifications(
    db: Database, principal: Principal, filters: NotificationFilters
) -> dict[str, Any]:
    rows, total, unread = await repository.list_page(
        db, principal.user_id, bool(filters.unread), filters.limit, filters.offset
    )
    return {
        "items": [repository.to_item(r) for r in rows],
        "total": total,
        "unread": unread,
        "limit": filters.limit,
        "offset": filters.offset,
    }


async def mark_read(
    db: Database, session: AsyncSession, principal: Principal, notification_id: int
) -> dict[str, Any]:
    notification = await writes.load(
        db,
        session,
        principal,
        repository.RESOURCE,
        notification_id,
        params={"user": principal.user_id},
    )
    if notification.item["read_at"] is not None:
        return notification.item
    read = {"read_at": utcnow()}
    return await writes.update(db, session, principal, repository.RESOURCE, notification, read)


async def mark_all_read(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    return {"updated": await repository.mark_read(session, principal.user_id, None)}
