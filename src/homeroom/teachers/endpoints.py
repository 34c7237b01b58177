from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.kit.auth import TeachersRead, TeachersWrite
from homeroom.kit.deps import DB, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId
from homeroom.teachers import repository
from homeroom.teachers import service as teacher_service
from homeroom.teachers.schemas import TeacherCreate, TeacherFilters, TeacherRead, TeacherUpdate

router = APIRouter(prefix="/teachers", tags=["teachers"], route_class=Route)


@router.get("", response_model=Page[TeacherRead])
async def list_teachers(
    request: Request,
    principal: TeachersRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[TeacherFilters, query_model(TeacherFilters)],
) -> Response:
    """List the teachers of the caller's school, with search, department filter and paging."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await teacher_service.list_teachers(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=TeacherRead, status_code=201)
async def create_teacher(
    request: Request, principal: TeachersWrite, db: DB, session: Session, data: TeacherCreate
) -> Response:
    """Create a teacher record."""
    teacher = await teacher_service.create_teacher(db, session, principal, data)
    return json_response(request, teacher, status_code=201)


@router.get("/{teacher_id}", response_model=TeacherRead)
async def get_teacher(
    request: Request, principal: TeachersRead, db: DB, teacher_id: PathId
) -> Response:
    """Read one teacher."""
    return json_response(request, await teacher_service.get_teacher(db, principal, teacher_id))


@router.patch("/{teacher_id}", response_model=TeacherRead)
async def update_teacher(
    request: Request,
    principal: TeachersWrite,
    db: DB,
    session: Session,
    teacher_id: PathId,
    data: TeacherUpdate,
) -> Response:
    """Change a teacher's fields; send If-Match with the ETag you read to avoid lost updates."""
    teacher = await teacher_service.update_teacher(
        db, session, principal, teacher_id, data, request.headers.get("if-match")
    )
    return json_response(request, teacher)


@router.delete("/{teacher_id}", status_code=204)
async def delete_teacher(
    request: Request, principal: TeachersWrite, db: DB, session: Session, teacher_id: PathId
) -> Response:
    """Delete a teacher who no longer teaches any section (409 otherwise)."""
    await teacher_service.delete_teacher(
        db, session, principal, teacher_id, request.headers.get("if-match")
    )
    return Response(status_code=204)
