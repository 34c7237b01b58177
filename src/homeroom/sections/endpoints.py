from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.kit.auth import SectionsRead, SectionsWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB
from homeroom.kit.pagination import PagePlan, page_plan, page_response
from homeroom.kit.params import query_model
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId
from homeroom.sections import repository, service
from homeroom.sections.schemas import RosterEntry, RosterFilters, SectionRead

router = APIRouter(prefix="/sections", tags=["sections"], route_class=Route)
standard_routes(
    router,
    SectionRead,
    SectionsRead,
    SectionsWrite,
    repository.LISTING,
    service.WRITES,
    cached_get=service.get_section_cached,
)


@router.get("/{section_id}/roster", response_model=Page[RosterEntry])
async def list_roster(
    request: Request,
    principal: SectionsRead,
    db: DB,
    section_id: PathId,
    plan: Annotated[PagePlan, Depends(page_plan(repository.ROSTER_SORTING))],
    filters: Annotated[RosterFilters, query_model(RosterFilters)],
) -> Response:
    """List a section's students with their enrollment (its teacher and the school office)."""
    rows, total = await service.list_roster(db, principal, section_id, filters, plan)
    return page_response(
        request, rows, total, plan, repository.ROSTER_SORTING, repository.roster_item
    )
