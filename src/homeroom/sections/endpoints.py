from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.kit.auth import SectionsRead, SectionsWrite
from homeroom.kit.cache import cached_response
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId
from homeroom.sections import repository
from homeroom.sections import service as section_service
from homeroom.sections.schemas import (
    RosterEntry,
    RosterFilters,
    SectionCreate,
    SectionFilters,
    SectionRead,
    SectionUpdate,
)

router = APIRouter(prefix="/sections", tags=["sections"], route_class=Route)


@router.get("", response_model=Page[SectionRead])
async def list_sections(
    request: Request,
    principal: SectionsRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[SectionFilters, query_model(SectionFilters)],
) -> Response:
    """List the sections the caller may see (sort: course_code, name, id)."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await section_service.list_sections(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=SectionRead, status_code=201)
async def create_section(
    request: Request, principal: SectionsWrite, db: DB, session: Session, data: SectionCreate
) -> Response:
    """Create a section of a course of your school."""
    section = await section_service.create_section(db, session, principal, data)
    return json_response(request, section, status_code=201)


@router.get("/{section_id}", response_model=SectionRead)
async def get_section(
    request: Request, principal: SectionsRead, db: DB, pages: PageCache, section_id: PathId
) -> Response:
    """Read one section."""
    return cached_response(
        request, await section_service.get_section_cached(db, pages, principal, section_id)
    )


@router.get("/{section_id}/roster", response_model=Page[RosterEntry])
async def list_roster(
    request: Request,
    principal: SectionsRead,
    db: DB,
    section_id: PathId,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[RosterFilters, query_model(RosterFilters)],
) -> Response:
    """List a section's students with their enrollment (its teacher and the school office)."""
    plan = plan_page(page, repository.ROSTER_SORTING)
    rows, total = await section_service.list_roster(db, principal, section_id, filters, plan)
    body, headers = page_body(
        request, rows, total, plan, repository.ROSTER_SORTING, repository.roster_item
    )
    return json_response(request, body, headers=headers)


@router.patch("/{section_id}", response_model=SectionRead)
async def update_section(
    request: Request,
    principal: SectionsWrite,
    db: DB,
    session: Session,
    section_id: PathId,
    data: SectionUpdate,
) -> Response:
    """Change a section (teacher, name, room, meeting pattern, capacity)."""
    section = await section_service.update_section(
        db, session, principal, section_id, data, request.headers.get("if-match")
    )
    return json_response(request, section)


@router.delete("/{section_id}", status_code=204)
async def delete_section(
    request: Request, principal: SectionsWrite, db: DB, session: Session, section_id: PathId
) -> Response:
    """Delete a section that has no enrollments."""
    await section_service.delete_section(
        db, session, principal, section_id, request.headers.get("if-match")
    )
    return Response(status_code=204)
