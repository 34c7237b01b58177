from fastapi import APIRouter

from homeroom.courses import repository, service
from homeroom.courses.schemas import CourseRead
from homeroom.kit.auth import CoursesRead, CoursesWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.routing import Route

router = APIRouter(prefix="/courses", tags=["courses"], route_class=Route)
standard_routes(
    router,
    CourseRead,
    CoursesRead,
    CoursesWrite,
    repository.LISTING,
    service.WRITES,
    cached_get=service.get_course_cached,
    list_note="Students and guardians see published courses only.",
)
