from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.kit.auth import SectionsRead, SectionsWrite
from homeroom.kit.cache import cached_response
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB, PageCache
from homeroom.kit.pagination import PagePlan, page_plan, page_response
from homeroom.kit.params import query_model
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId
from homeroom.sections import repository, service
from homeroom.sections.schemas import RosterEntry, RosterFilters, SectionRead

router = APIRouter(prefix="/sections", tags=["sections"], route_class=Route)
standard_routes(
    router, SectionRead, SectionsRead, SectionsWrite, repository.LISTING, service.WRITES
)


@router.get("/{section_id}", response_model=SectionRead)
async def get_section(
    request: Request, principal: SectionsRead, db: DB, pages: PageCache, section_id: PathId
) -> Response:
    """Read one section."""
    return cached_response(
        request, await service.get_section_cached(db, pages, principal, section_id)
    )


# The read answers from the response cache (service.get_section_cached), which the standard
# read does not: it takes the standard read's place, so the routes keep their order.
_names = [getattr(route, "name", None) for route in router.routes]
router.routes[_names.index("get_section")] = router.routes.pop()


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
