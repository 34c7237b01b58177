from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response

from homeroom.assessments import repository
from homeroom.assessments import service as assessment_service
from homeroom.assessments.schemas import (
    AssessmentCreate,
    AssessmentFilters,
    AssessmentRead,
    AssessmentUpdate,
    CategoryRead,
    CategorySet,
)
from homeroom.kit.auth import AssessmentsRead, AssessmentsWrite
from homeroom.kit.deps import DB, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId

router = APIRouter(prefix="/assessments", tags=["assessments"], route_class=Route)
# A section's assessment categories and their weights: /sections/{id}/categories
categories_router = APIRouter(prefix="/sections", tags=["assessments"], route_class=Route)


@categories_router.get("/{section_id}/categories", response_model=list[CategoryRead])
async def list_categories(
    request: Request, principal: AssessmentsRead, db: DB, section_id: PathId
) -> Response:
    """List a section's assessment categories and their weights."""
    categories = await assessment_service.list_categories(db, principal, section_id)
    return json_response(request, categories)


@categories_router.put("/{section_id}/categories", response_model=list[CategoryRead])
async def replace_categories(
    request: Request,
    principal: AssessmentsWrite,
    db: DB,
    session: Session,
    section_id: PathId,
    categories: Annotated[CategorySet, Body()],
) -> Response:
    """Replace a section's categories (weights adding up to 100); If-Match avoids lost updates."""
    result = await assessment_service.replace_categories(
        db, session, principal, section_id, categories, request.headers.get("if-match")
    )
    return json_response(request, result)


@router.get("", response_model=Page[AssessmentRead])
async def list_assessments(
    request: Request,
    principal: AssessmentsRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[AssessmentFilters, query_model(AssessmentFilters)],
) -> Response:
    """List assessments of the sections visible to the caller."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await assessment_service.list_assessments(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=AssessmentRead, status_code=201)
async def create_assessment(
    request: Request, principal: AssessmentsWrite, db: DB, session: Session, data: AssessmentCreate
) -> Response:
    """Create an assessment in one of the caller's sections."""
    assessment = await assessment_service.create_assessment(db, session, principal, data)
    return json_response(request, assessment, status_code=201)


@router.get("/{assessment_id}", response_model=AssessmentRead)
async def get_assessment(
    request: Request, principal: AssessmentsRead, db: DB, assessment_id: PathId
) -> Response:
    """Read one assessment."""
    assessment = await assessment_service.get_assessment(db, principal, assessment_id)
    return json_response(request, assessment)


@router.patch("/{assessment_id}", response_model=AssessmentRead)
async def update_assessment(
    request: Request,
    principal: AssessmentsWrite,
    db: DB,
    session: Session,
    assessment_id: PathId,
    data: AssessmentUpdate,
) -> Response:
    """Change an assessment; max_points may not drop below a recorded score."""
    assessment = await assessment_service.update_assessment(
        db, session, principal, assessment_id, data, request.headers.get("if-match")
    )
    return json_response(request, assessment)


@router.delete("/{assessment_id}", status_code=204)
async def delete_assessment(
    request: Request, principal: AssessmentsWrite, db: DB, session: Session, assessment_id: PathId
) -> Response:
    """Delete an assessment and every grade recorded for it."""
    await assessment_service.delete_assessment(
        db, session, principal, assessment_id, request.headers.get("if-match")
    )
    return Response(status_code=204)
