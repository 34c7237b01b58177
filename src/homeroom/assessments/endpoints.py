from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from homeroom.assessments import repository
from homeroom.assessments import service as assessment_service
from homeroom.assessments.schemas import AssessmentRead, CategoryRead, CategorySet
from homeroom.kit.auth import AssessmentsRead, AssessmentsWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB, Session
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId

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


standard_routes(
    router,
    AssessmentRead,
    AssessmentsRead,
    AssessmentsWrite,
    repository.LISTING,
    assessment_service.WRITES,
)
