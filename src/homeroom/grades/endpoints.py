from typing import Annotated

from fastapi import APIRouter, Request, Response

from homeroom.grades import repository
from homeroom.grades import service as grade_service
from homeroom.grades.schemas import (
    BulkGrades,
    BulkGradesResult,
    GradeRead,
    StudentGrades,
    StudentGradesQuery,
)
from homeroom.kit.auth import GradesRead, GradesWrite
from homeroom.kit.cache import cached_response
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB, PageCache, Session
from homeroom.kit.idempotency import IDEMPOTENT
from homeroom.kit.params import query_model
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId

router = APIRouter(prefix="/grades", tags=["grades"], route_class=Route)
# Grade summaries that hang off a student: /students/{id}/grades
student_router = APIRouter(prefix="/students", tags=["grades"], route_class=Route)


@router.post("/bulk", response_model=BulkGradesResult, openapi_extra=IDEMPOTENT)
async def record_bulk(
    request: Request, principal: GradesWrite, db: DB, session: Session, data: BulkGrades
) -> Response:
    """Enter or re-enter up to 1000 scores of one assessment, all or nothing."""
    return json_response(request, await grade_service.record_bulk(db, session, principal, data))


standard_routes(
    router, GradeRead, GradesRead, GradesWrite, repository.LISTING, grade_service.WRITES
)


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
