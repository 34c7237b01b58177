from fastapi import APIRouter, Request, Response

from homeroom.kit.auth import StudentsRead, StudentsWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB, Session
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId
from homeroom.students import repository, service
from homeroom.students.schemas import StudentRead

router = APIRouter(prefix="/students", tags=["students"], route_class=Route)
standard_routes(
    router,
    StudentRead,
    StudentsRead,
    StudentsWrite,
    repository.LISTING,
    service.WRITES,
    list_note="Filtered by q (a search of names, email and student number), status, "
    "grade_level and archived (exclude, the default; include; only).",
)


@router.post("/{student_id}/restore", response_model=StudentRead)
async def restore_student(
    request: Request, principal: StudentsWrite, db: DB, session: Session, student_id: PathId
) -> Response:
    """Restore an archived student."""
    return json_response(request, await service.restore_student(db, session, principal, student_id))
