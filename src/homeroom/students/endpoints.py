from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.kit.auth import StudentsRead, StudentsWrite
from homeroom.kit.deps import DB, Session
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId
from homeroom.students import repository
from homeroom.students import service as student_service
from homeroom.students.schemas import StudentCreate, StudentFilters, StudentRead, StudentUpdate

router = APIRouter(prefix="/students", tags=["students"], route_class=Route)


@router.get("", response_model=Page[StudentRead])
async def list_students(
    request: Request,
    principal: StudentsRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[StudentFilters, query_model(StudentFilters)],
) -> Response:
    """List students visible to the caller, with search, filters, sort and paging."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await student_service.list_students(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=StudentRead, status_code=201)
async def create_student(
    request: Request, principal: StudentsWrite, db: DB, session: Session, data: StudentCreate
) -> Response:
    """Create a student record."""
    student = await student_service.create_student(db, session, principal, data)
    return json_response(request, student, status_code=201)


@router.get("/{student_id}", response_model=StudentRead)
async def get_student(
    request: Request, principal: StudentsRead, db: DB, student_id: PathId
) -> Response:
    """Read one student."""
    return json_response(request, await student_service.get_student(db, principal, student_id))


@router.patch("/{student_id}", response_model=StudentRead)
async def update_student(
    request: Request,
    principal: StudentsWrite,
    db: DB,
    session: Session,
    student_id: PathId,
    data: StudentUpdate,
) -> Response:
    """Change a student's fields; send If-Match with the ETag you read to avoid lost updates."""
    student = await student_service.update_student(
        db, session, principal, student_id, data, request.headers.get("if-match")
    )
    return json_response(request, student)


@router.delete("/{student_id}", status_code=204)
async def archive_student(
    request: Request, principal: StudentsWrite, db: DB, session: Session, student_id: PathId
) -> Response:
    """Archive a student (soft delete); restore undoes it."""
    await student_service.archive_student(
        db, session, principal, student_id, request.headers.get("if-match")
    )
    return Response(status_code=204)


@router.post("/{student_id}/restore", response_model=StudentRead)
async def restore_student(
    request: Request, principal: StudentsWrite, db: DB, session: Session, student_id: PathId
) -> Response:
    """Restore an archived student."""
    return json_response(
        request, await student_service.restore_student(db, session, principal, student_id)
    )
