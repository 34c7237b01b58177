from fastapi import APIRouter

from homeroom.kit.auth import TermsRead, TermsWrite
from homeroom.kit.crud import standard_routes
from homeroom.kit.routing import Route
from homeroom.terms import repository, service
from homeroom.terms.schemas import TermRead

router = APIRouter(prefix="/terms", tags=["terms"], route_class=Route)
standard_routes(router, TermRead, TermsRead, TermsWrite, repository.LISTING, service.WRITES)
