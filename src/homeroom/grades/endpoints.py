from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from homeroom.grades import repository
from homeroom.grades import service as grade_service
from homeroom.grades.schemas import (
    BulkGrades,
    BulkGradesResult,
    GradeCreate,
    GradeFilters,
    GradeRead,
    GradeUpdate,
    StudentGrades,
    StudentGradesQuery,
)
from homeroom.kit.auth import GradesRead, GradesWrite
from homeroom.kit.cache import cached_response
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.idempotency import IDEMPOTENT
from homeroom.kit.pagination import PageRequest, page_body, page_request, plan_page
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import Page, PathId

router = APIRouter(prefix="/grades", tags=["grades"], route_class=Route)
# Grade summaries that hang off a student: /students/{id}/grades
student_router = APIRouter(prefix="/students", tags=["grades"], route_class=Route)


@router.get("", response_model=Page[GradeRead])
async def list_grades(
    request: Request,
    principal: GradesRead,
    db: DB,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[GradeFilters, query_model(GradeFilters)],
) -> Response:
    """List the grades visible to the caller."""
    plan = plan_page(page, repository.SORTING)
    rows, total = await grade_service.list_grades(db, principal, filters, plan)
    body, headers = page_body(request, rows, total, plan, repository.SORTING, repository.to_item)
    return json_response(request, body, headers=headers)


@router.post("", response_model=GradeRead, status_code=201)
async def create_grade(
    request: Request, principal: GradesWrite, db: DB, session: Session, data: GradeCreate
) -> Response:
    """Record one student's score on an assessment."""
    grade = await grade_service.create_grade(db, session, principal, data)
    return json_response(request, grade, status_code=201)


@router.post("/bulk", response_model=BulkGradesResult, openapi_extra=IDEMPOTENT)
async def record_bulk(
    request: Request, principal: GradesWrite, db: DB, session: Session, data: BulkGrades
) -> Response:
    """Enter or re-enter up to 1000 scores of one assessment, all or nothing."""
    return json_response(request, await grade_service.record_bulk(db, session, principal, data))


@router.get("/{grade_id}", response_model=GradeRead)
async def get_grade(request: Request, principal: GradesRead, db: DB, grade_id: PathId) -> Response:
    """Read one grade."""
    return json_response(request, await grade_service.get_grade(db, principal, grade_id))


@router.patch("/{grade_id}", response_model=GradeRead)
async def update_grade(
    request: Request,
    principal: GradesWrite,
    db: DB,
    session: Session,
    grade_id: PathId,
    data: GradeUpdate,
) -> Response:
    """Change a grade's score or comment."""
    grade = await grade_service.update_grade(
        db, session, principal, grade_id, data, request.headers.get("if-match")
    )
    return json_response(request, grade)


@router.delete("/{grade_id}", status_code=204)
async def delete_grade(
    request: Request, principal: GradesWrite, db: DB, session: Session, grade_id: PathId
) -> Response:
    """Delete a grade."""
    await grade_service.delete_grade(
        db, session, principal, grade_id, request.headers.get("if-match")
    )
    return Response(status_code=204)


@student_router.get("/{student_id}/grades", response_model=StudentGrades)
async def student_grades(
    request: Request,
    principal: GradesRead,
    db: DB,
    pages: PageCache,
    student_id: PathId,
    query: Annotated[StudentGradesQuery, query_model(StudentGradesQuery)],
) -> Response:
    """A student's grades by section, with weighted final percentages and letters."""
    summary = await grade_service.student_grades_cached(
        db, pages, principal, student_id, query.term_id
    )
    return cached_response(request, summary)
