from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.kit.auth import UsersRead, UsersWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB, PageCache
from homeroom.kit.pagination import PagePlan, page_plan, page_response
from homeroom.kit.params import query_model
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page
from homeroom.users import repository, service
from homeroom.users.schemas import UserFilters, UserRead

router = APIRouter(prefix="/users", tags=["users"], route_class=Route)


@router.get("", response_model=Page[UserRead])
async def list_users(
    request: Request,
    principal: UsersRead,
    db: DB,
    pages: PageCache,
    plan: Annotated[PagePlan, Depends(page_plan(repository.SORTING))],
    filters: Annotated[UserFilters, query_model(UserFilters)],
) -> Response:
    """List logins of the caller's school (all schools for an all-schools admin)."""
    rows, total = await service.list_users(db, pages, principal, filters, plan)
    return page_response(request, rows, total, plan, repository.SORTING, repository.LISTING.item)


# Its total is kept in the response cache (service._total), which a Listing's page does
# not reach: the list route above is the domain's own.
standard_routes(
    router,
    UserRead,
    UsersRead,
    UsersWrite,
    repository.LISTING,
    service.WRITES,
    with_list=False,
)
