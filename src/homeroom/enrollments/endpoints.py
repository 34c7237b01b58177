from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.enrollments import repository
from homeroom.enrollments import service as enrollment_service
from homeroom.enrollments.schemas import (
    EnrollmentBulkCreate,
    EnrollmentBulkResult,
    EnrollmentCreate,
    EnrollmentFilters,
    EnrollmentRead,
    EnrollmentUpdate,
)
from homeroom.kit.auth import EnrollmentsRead, EnrollmentsWrite
from homeroom.kit.deps import DB, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId

router = APIRouter(prefix="/enrollments", tags=["enrollments"], route_class=Route)


@router.get("", response_model=Page[EnrollmentRead])
async def list_enrollments(
    request: Request,
    principal: EnrollmentsRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[EnrollmentFilters, query_model(EnrollmentFilters)],
) -> Response:
    """List the enrollments the caller may see (sort: id, enrolled_at)."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await enrollment_service.list_enrollments(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=EnrollmentRead, status_code=201)
async def create_enrollment(
    request: Request, principal: EnrollmentsWrite, db: DB, session: Session, data: EnrollmentCreate
) -> Response:
    """Enroll a student in a section of their school (409 when the section is full)."""
    enrollment = await enrollment_service.create_enrollment(db, session, principal, data)
    return json_response(request, enrollment, status_code=201)


@router.post("/bulk", response_model=EnrollmentBulkResult, status_code=201)
async def create_bulk(
    request: Request, principal: EnrollmentsWrite, session: Session, data: EnrollmentBulkCreate
) -> Response:
    """Enroll up to 1,000 rows at once, all or nothing (422 names every bad row)."""
    result = await enrollment_service.create_bulk(session, principal, data)
    return json_response(request, result, status_code=201)


@router.get("/{enrollment_id}", response_model=EnrollmentRead)
async def get_enrollment(
    request: Request, principal: EnrollmentsRead, db: DB, enrollment_id: PathId
) -> Response:
    """Read one enrollment."""
    return json_response(
        request, await enrollment_service.get_enrollment(db, principal, enrollment_id)
    )


@router.patch("/{enrollment_id}", response_model=EnrollmentRead)
async def update_enrollment(
    request: Request,
    principal: EnrollmentsWrite,
    db: DB,
    session: Session,
    enrollment_id: PathId,
    data: EnrollmentUpdate,
) -> Response:
    """Change an enrollment's status (enrolled, dropped, completed)."""
    enrollment = await enrollment_service.update_enrollment(
        db, session, principal, enrollment_id, data, request.headers.get("if-match")
    )
    return json_response(request, enrollment)


@router.delete("/{enrollment_id}", status_code=204)
async def delete_enrollment(
    request: Request, principal: EnrollmentsWrite, db: DB, session: Session, enrollment_id: PathId
) -> Response:
    """Delete an enrollment (its grades go with it; PATCH status=dropped keeps them)."""
    await enrollment_service.delete_enrollment(
        db, session, principal, enrollment_id, request.headers.get("if-match")
    )
    return Response(status_code=204)
