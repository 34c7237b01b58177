from fastapi import APIRouter, Request, Response

from homeroom.enrollments import repository, service
from homeroom.enrollments.schemas import EnrollmentBulkCreate, EnrollmentBulkResult, EnrollmentRead
from homeroom.kit.auth import EnrollmentsRead, EnrollmentsWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import Session
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route

router = APIRouter(prefix="/enrollments", tags=["enrollments"], route_class=Route)


# Before the standard routes: /bulk is registered ahead of /{enrollment_id}, as it always was.
@router.post("/bulk", response_model=EnrollmentBulkResult, status_code=201)
async def create_bulk(
    request: Request, principal: EnrollmentsWrite, session: Session, data: EnrollmentBulkCreate
) -> Response:
    """Enroll up to 1,000 rows at once, all or nothing (422 names every bad row)."""
    result = await service.create_bulk(session, principal, data)
    return json_response(request, result, status_code=201)


standard_routes(
    router, EnrollmentRead, EnrollmentsRead, EnrollmentsWrite, repository.LISTING, service.WRITES
)
