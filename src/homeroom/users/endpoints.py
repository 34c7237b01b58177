from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.kit.auth import UsersRead, UsersWrite
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId
from homeroom.users import repository
from homeroom.users import service as user_service
from homeroom.users.schemas import UserCreate, UserFilters, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"], route_class=Route)


@router.get("", response_model=Page[UserRead])
async def list_users(
    request: Request,
    principal: UsersRead,
    db: DB,
    pages: PageCache,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[UserFilters, query_model(UserFilters)],
) -> Response:
    """List logins of the caller's school (all schools for an all-schools admin)."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await user_service.list_users(db, pages, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=UserRead, status_code=201)
async def create_user(
    request: Request, principal: UsersWrite, db: DB, session: Session, data: UserCreate
) -> Response:
    """Create a login, optionally for an existing student, teacher or guardian."""
    user = await user_service.create_user(db, session, principal, data)
    return json_response(request, user, status_code=201)


@router.get("/{user_id}", response_model=UserRead)
async def get_user(request: Request, principal: UsersRead, db: DB, user_id: PathId) -> Response:
    """Read one login."""
    return json_response(request, await user_service.get_user(db, principal, user_id))


@router.patch("/{user_id}", response_model=UserRead)
async def update_user(
    request: Request,
    principal: UsersWrite,
    db: DB,
    session: Session,
    user_id: PathId,
    data: UserUpdate,
) -> Response:
    """Change a login's name, role, active flag or password."""
    user = await user_service.update_user(
        db, session, principal, user_id, data, request.headers.get("if-match")
    )
    return json_response(request, user)


@router.delete("/{user_id}", status_code=204)
async def deactivate_user(
    request: Request, principal: UsersWrite, db: DB, session: Session, user_id: PathId
) -> Response:
    """Deactivate a login and end its sessions (the record is kept for the audit trail)."""
    await user_service.deactivate_user(
        db, session, principal, user_id, request.headers.get("if-match")
    )
    return Response(status_code=204)
