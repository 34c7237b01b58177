"""Who is calling and what their role may do.

Role permissions are checked here, by typed dependencies on each endpoint. Row scopes (which
students a teacher or guardian sees) are applied in the repositories, never in endpoints.
"""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from homeroom.kit.errors import Forbidden, Unauthorized, ValidationFailed, field_error
from homeroom.kit.security import AccessClaims, InvalidToken, TokenDecoder

Principal = AccessClaims

_READ_CATALOG = {"terms:read", "courses:read", "sections:read", "teachers:read"}
# Every role but admin reads the records; the repositories scope a teacher, a student and a
# guardian to their own rows.
_READ_RECORDS = _READ_CATALOG | {
    "students:read",
    "guardians:read",
    "enrollments:read",
    "assessments:read",
    "grades:read",
    "attendance:read",
}
# A student and a guardian read the same things.
_OWN_RECORDS = frozenset(_READ_RECORDS | {"analytics:me"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"*"}),
    "staff": frozenset(
        _READ_RECORDS
        | {
            "students:write",
            "guardians:write",
            "teachers:write",
            "terms:write",
            "courses:write",
            "sections:write",
            "enrollments:write",
            "attendance:write",
            "users:read",
            "audit:read",
            "analytics:school",
            "exports:create",
            "reports:bulk",
        }
    ),
    "teacher": frozenset(
        _READ_RECORDS
        | {
            "assessments:write",
            "grades:write",
            "attendance:write",
            "analytics:section",
            "reports:bulk",
        }
    ),
    "student": _OWN_RECORDS,
    "guardian": _OWN_RECORDS,
}


def can(principal: Principal, permission: str) -> bool:
    granted = PERMISSIONS.get(principal.role, frozenset())
    return "*" in granted or permission in granted


class Authenticated(HTTPBearer):
    """The caller, from their bearer access token; 401 without a valid one, and 403 when
    `permission` is given and their role lacks it.

    One dependency does all of it: FastAPI's cost grows with every dependency node, and this
    runs on every request. As an HTTPBearer it still documents the security scheme in OpenAPI.
    """

    def __init__(self, permission: str | None = None) -> None:
        super().__init__(auto_error=False, description="An access token from POST /auth/login")
        self.permission = permission

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = _bearer(request)
        if self.permission is not None and not can(principal, self.permission):
            raise Forbidden(f"your role may not use {self.permission}")
        return principal


CurrentPrincipal = Annotated[Principal, Depends(Authenticated())]

_CALLER = "homeroom.caller"


def _bearer(request: Request) -> Principal:
    """The caller from the bearer access token (decoded once per request), else 401."""
    cached: Principal | None = request.scope.get(_CALLER)
    if cached is not None:
        return cached
    header = None
    for name, value in request.scope["headers"]:  # not request.headers: no Headers object
        if name == b"authorization":
            header = value.decode("latin-1")
            break
    if not header:
        raise Unauthorized("a bearer access token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer access token is required")
    decoder: TokenDecoder = request.app.state.token_decoder
    try:
        principal = decoder.decode(token.strip())
    except InvalidToken:
        raise Unauthorized("the access token is invalid or expired") from None
    request.scope[_CALLER] = principal
    return principal


def caller(request: Request) -> Principal | None:
    """Who is calling, for mechanisms beside the endpoint's own dependencies (idempotency
    keys are per user); None without a valid token (the endpoint's dependency answers 401)."""
    try:
        return _bearer(request)
    except Unauthorized:
        return None


def require(permission: str) -> Any:
    """A dependency that yields the caller when their role grants `permission`, else 403."""
    return Depends(Authenticated(permission))


def school_of(principal: Principal, requested: int | None) -> int:
    """The school a new record goes to: the caller's, or for an all-schools admin the one named."""
    if principal.school_id is not None:
        if requested is not None and requested != principal.school_id:
            raise Forbidden("you may only write records of your own school")
        return principal.school_id
    if requested is None:
        raise ValidationFailed(
            "school_id is required for an administrator of all schools",
            errors=[field_error(["body", "school_id"], "Field required", "missing")],
        )
    return requested


StudentsRead = Annotated[Principal, require("students:read")]
StudentsWrite = Annotated[Principal, require("students:write")]
GuardiansRead = Annotated[Principal, require("guardians:read")]
GuardiansWrite = Annotated[Principal, require("guardians:write")]
TeachersRead = Annotated[Principal, require("teachers:read")]
TeachersWrite = Annotated[Principal, require("teachers:write")]
TermsRead = Annotated[Principal, require("terms:read")]
TermsWrite = Annotated[Principal, require("terms:write")]
CoursesRead = Annotated[Principal, require("courses:read")]
CoursesWrite = Annotated[Principal, require("courses:write")]
SectionsRead = Annotated[Principal, require("sections:read")]
SectionsWrite = Annotated[Principal, require("sections:write")]
EnrollmentsRead = Annotated[Principal, require("enrollments:read")]
EnrollmentsWrite = Annotated[Principal, require("enrollments:write")]
AssessmentsRead = Annotated[Principal, require("assessments:read")]
AssessmentsWrite = Annotated[Principal, require("assessments:write")]
GradesRead = Annotated[Principal, require("grades:read")]
GradesWrite = Annotated[Principal, require("grades:write")]
AttendanceRead = Annotated[Principal, require("attendance:read")]
AttendanceWrite = Annotated[Principal, require("attendance:write")]
UsersRead = Annotated[Principal, require("users:read")]
UsersWrite = Annotated[Principal, require("users:write")]
AuditRead = Annotated[Principal, require("audit:read")]
AnalyticsSchool = Annotated[Principal, require("analytics:school")]
AnalyticsSection = Annotated[Principal, require("analytics:section")]
AnalyticsMe = Annotated[Principal, require("analytics:me")]
ExportsCreate = Annotated[Principal, require("exports:create")]
ReportsBulk = Annotated[Principal, require("reports:bulk")]
