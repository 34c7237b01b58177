from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.guardians import repository
from homeroom.guardians import service as guardian_service
from homeroom.guardians.schemas import (
    GuardianCreate,
    GuardianFilters,
    GuardianLink,
    GuardianRead,
    GuardianUpdate,
)
from homeroom.kit.auth import GuardiansRead, GuardiansWrite
from homeroom.kit.deps import DB, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId

router = APIRouter(prefix="/guardians", tags=["guardians"], route_class=Route)


@router.get("", response_model=Page[GuardianRead])
async def list_guardians(
    request: Request,
    principal: GuardiansRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[GuardianFilters, query_model(GuardianFilters)],
) -> Response:
    """List guardians visible to the caller, with search, sort and paging."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await guardian_service.list_guardians(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=GuardianRead, status_code=201)
async def create_guardian(
    request: Request, principal: GuardiansWrite, db: DB, session: Session, data: GuardianCreate
) -> Response:
    """Create a guardian record."""
    guardian = await guardian_service.create_guardian(db, session, principal, data)
    return json_response(request, guardian, status_code=201)


@router.get("/{guardian_id}", response_model=GuardianRead)
async def get_guardian(
    request: Request, principal: GuardiansRead, db: DB, guardian_id: PathId
) -> Response:
    """Read one guardian, with the ids of their children."""
    return json_response(request, await guardian_service.get_guardian(db, principal, guardian_id))


@router.patch("/{guardian_id}", response_model=GuardianRead)
async def update_guardian(
    request: Request,
    principal: GuardiansWrite,
    db: DB,
    session: Session,
    guardian_id: PathId,
    data: GuardianUpdate,
) -> Response:
    """Change a guardian's fields; send If-Match with the ETag you read to avoid lost updates."""
    guardian = await guardian_service.update_guardian(
        db, session, principal, guardian_id, data, request.headers.get("if-match")
    )
    return json_response(request, guardian)


@router.delete("/{guardian_id}", status_code=204)
async def delete_guardian(
    request: Request, principal: GuardiansWrite, db: DB, session: Session, guardian_id: PathId
) -> Response:
    """Delete a guardian and their links to students."""
    await guardian_service.delete_guardian(
        db, session, principal, guardian_id, request.headers.get("if-match")
    )
    return Response(status_code=204)


@router.post("/{guardian_id}/students", response_model=GuardianRead, status_code=201)
async def link_student(
    request: Request,
    principal: GuardiansWrite,
    db: DB,
    session: Session,
    guardian_id: PathId,
    data: GuardianLink,
) -> Response:
    """Link a student of the same school to this guardian."""
    guardian = await guardian_service.link_student(db, session, principal, guardian_id, data)
    return json_response(request, guardian, status_code=201)


@router.delete("/{guardian_id}/students/{student_id}", status_code=204)
async def unlink_student(
    principal: GuardiansWrite, db: DB, session: Session, guardian_id: PathId, student_id: PathId
) -> Response:
    """Remove the link between this guardian and a student."""
    await guardian_service.unlink_student(db, session, principal, guardian_id, student_id)
    return Response(status_code=204)
