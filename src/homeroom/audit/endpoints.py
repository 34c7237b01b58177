from fastapi import APIRouter

from homeroom.audit import repository
from homeroom.audit.schemas import AuditLogRead
from homeroom.kit.auth import AuditRead
from homeroom.kit.crud import Writes, standard_routes
from homeroom.kit.routing import Route

router = APIRouter(prefix="/audit-logs", tags=["audit"], route_class=Route)
# Read-only: the trail is written by audit.service.record inside each write.
standard_routes(
    router,
    AuditLogRead,
    AuditRead,
    AuditRead,
    repository.LISTING,
    Writes(),
    id_name="log_id",
    get_name="get_audit_log",
)
