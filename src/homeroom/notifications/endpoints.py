from typing import Annotated

from fastapi import APIRouter, Request, Response

from homeroom.kit.auth import CurrentPrincipal
from homeroom.kit.deps import DB, Session
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId
from homeroom.notifications import service
from homeroom.notifications.schemas import (
    NotificationFilters,
    NotificationList,
    NotificationRead,
    ReadAllResult,
)

router = APIRouter(prefix="/notifications", tags=["notifications"], route_class=Route)


@router.get("", response_model=NotificationList)
async def list_notifications(
    request: Request,
    principal: CurrentPrincipal,
    db: DB,
    filters: Annotated[NotificationFilters, query_model(NotificationFilters)],
) -> Response:
    """The caller's own notifications, unread first, then newest first; `unread` counts them."""
    return json_response(request, await service.list_notifications(db, principal, filters))


@router.post("/{notification_id}/read", response_model=NotificationRead)
async def mark_read(
    request: Request,
    principal: CurrentPrincipal,
    db: DB,
    session: Session,
    notification_id: PathId,
) -> Response:
    """Marks one of the caller's notifications read (anyone else's: 404)."""
    return json_response(request, await service.mark_read(db, session, principal, notification_id))


@router.post("/read-all", response_model=ReadAllResult)
async def mark_all_read(
    request: Request, principal: CurrentPrincipal, session: Session
) -> Response:
    """Marks every unread notification of the caller read."""
    return json_response(request, await service.mark_all_read(session, principal))
