"""The signed-in person's notifications (a finished export, a failed import...): unread
first, then newest; mark one read, or all of them."""

from typing import Annotated

from fastapi import Query, Request, Response

from homeroom.kit.deps import Session
from homeroom.kit.schemas import PathId
from homeroom.notifications import service as notification_service
from homeroom.notifications.schemas import NotificationFilters
from homeroom.web import views
from homeroom.web.pages import Visitor, checked_form, db_of, render, web_router

router = web_router()

PAGE_SIZE = 50
# Offset paging: a person's own notifications are few (one per job they ran).
MAX_OFFSET = 1_000_000


@router.get(views.NOTIFICATIONS)
async def notifications_page(
    request: Request,
    visit: Visitor,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """My notifications, a page of them, with how many are unread."""
    filters = NotificationFilters(limit=PAGE_SIZE, offset=offset)
    listing = await notification_service.list_notifications(
        db_of(request), visit.principal, filters
    )
    context = {
        "title": "Notifications",
        "listing": listing,
        "newer": max(offset - PAGE_SIZE, 0) if offset else None,
        "older": offset + PAGE_SIZE if offset + PAGE_SIZE < listing["total"] else None,
    }
    return render(request, visit, "notifications/list.html", context, current=views.NOTIFICATIONS)


@router.post(views.NOTIFICATIONS + "/{notification_id}/read")
async def mark_read(
    request: Request, visit: Visitor, session: Session, notification_id: PathId
) -> Response:
    """Marks one of mine read (anyone else's: 404)."""
    await checked_form(request, visit)
    await notification_service.mark_read(db_of(request), session, visit.principal, notification_id)
    return views.redirect(request, views.NOTIFICATIONS)


@router.post(views.NOTIFICATIONS + "/read-all")
async def mark_all_read(request: Request, visit: Visitor, session: Session) -> Response:
    """Marks every unread one of mine read."""
    await checked_form(request, visit)
    await notification_service.mark_all_read(session, visit.principal)
    return views.redirect(request, views.NOTIFICATIONS)
