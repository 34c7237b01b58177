from fastapi import APIRouter

from homeroom.kit.auth import TeachersRead, TeachersWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.routing import Route
from homeroom.teachers import repository, service
from homeroom.teachers.schemas import TeacherRead

router = APIRouter(prefix="/teachers", tags=["teachers"], route_class=Route)
standard_routes(
    router, TeacherRead, TeachersRead, TeachersWrite, repository.LISTING, service.WRITES
)
