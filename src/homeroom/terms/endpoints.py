from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.kit.auth import TermsRead, TermsWrite
from homeroom.kit.deps import DB, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId
from homeroom.terms import repository
from homeroom.terms import service as term_service
from homeroom.terms.schemas import TermCreate, TermRead, TermUpdate

router = APIRouter(prefix="/terms", tags=["terms"], route_class=Route)


@router.get("", response_model=Page[TermRead])
async def list_terms(
    request: Request,
    principal: TermsRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Response:
    """List the terms of the caller's school (sort: start_date, name, id)."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await term_service.list_terms(db, principal, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=TermRead, status_code=201)
async def create_term(
    request: Request, principal: TermsWrite, db: DB, session: Session, data: TermCreate
) -> Response:
    """Create a term."""
    term = await term_service.create_term(db, session, principal, data)
    return json_response(request, term, status_code=201)


@router.get("/{term_id}", response_model=TermRead)
async def get_term(request: Request, principal: TermsRead, db: DB, term_id: PathId) -> Response:
    """Read one term."""
    return json_response(request, await term_service.get_term(db, principal, term_id))


@router.patch("/{term_id}", response_model=TermRead)
async def update_term(
    request: Request,
    principal: TermsWrite,
    db: DB,
    session: Session,
    term_id: PathId,
    data: TermUpdate,
) -> Response:
    """Change a term's name or dates; send If-Match with the ETag you read."""
    term = await term_service.update_term(
        db, session, principal, term_id, data, request.headers.get("if-match")
    )
    return json_response(request, term)


@router.delete("/{term_id}", status_code=204)
async def delete_term(
    request: Request, principal: TermsWrite, db: DB, session: Session, term_id: PathId
) -> Response:
    """Delete a term that has no courses."""
    await term_service.delete_term(db, session, principal, term_id, request.headers.get("if-match"))
    return Response(status_code=204)
