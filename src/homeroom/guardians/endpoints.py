from fastapi import APIRouter, Request, Response

from homeroom.guardians import repository, service
from homeroom.guardians.schemas import GuardianLink, GuardianRead
from homeroom.kit.auth import GuardiansRead, GuardiansWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.deps import DB, Session
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route
from homeroom.kit.schemas import PathId

router = APIRouter(prefix="/guardians", tags=["guardians"], route_class=Route)
standard_routes(
    router, GuardianRead, GuardiansRead, GuardiansWrite, repository.LISTING, service.WRITES
)


@router.post("/{guardian_id}/students", response_model=GuardianRead, status_code=201)
async def link_student(
    request: Request,
    principal: GuardiansWrite,
    db: DB,
    session: Session,
    guardian_id: PathId,
    data: GuardianLink,
) -> Response:
    """Link a student of the same school to this guardian."""
    guardian = await service.link_student(db, session, principal, guardian_id, data)
    return json_response(request, guardian, status_code=201)


@router.delete("/{guardian_id}/students/{student_id}", status_code=204)
async def unlink_student(
    principal: GuardiansWrite, db: DB, session: Session, guardian_id: PathId, student_id: PathId
) -> Response:
    """Remove the link between this guardian and a student."""
    await service.unlink_student(db, session, principal, guardian_id, student_id)
    return Response(status_code=204)
