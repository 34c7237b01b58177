from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.audit import repository
from homeroom.audit import service as audit_service
from homeroom.audit.schemas import AuditLogFilters, AuditLogRead
from homeroom.kit.auth import AuditRead
from homeroom.kit.deps import DB
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId

router = APIRouter(prefix="/audit-logs", tags=["audit"], route_class=Route)


@router.get("", response_model=Page[AuditLogRead])
async def list_audit_logs(
    request: Request,
    principal: AuditRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[AuditLogFilters, query_model(AuditLogFilters)],
) -> Response:
    """List the audit trail of the caller's school, newest first, with filters."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await audit_service.list_logs(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.get("/{log_id}", response_model=AuditLogRead)
async def get_audit_log(request: Request, principal: AuditRead, db: DB, log_id: PathId) -> Response:
    """Read one audit entry."""
    return json_response(request, await audit_service.get_log(db, principal, log_id))
