"""Logins of the school: the list (by role, a page at a time), creating one and
deactivating one, by the API's rules: registrars and administrators read the list
(users:read); only an administrator creates or deactivates (users:write), never themselves,
and a school's administrator only in their own school (users.service)."""

from typing import Annotated, Any

from fastapi import Query, Request, Response
from pydantic import ValidationError

from homeroom.enums import ROLES, Role
from homeroom.kit.auth import can
from homeroom.kit.deps import Session
from homeroom.kit.errors import Conflict, Forbidden, ValidationFailed
from homeroom.kit.schemas import PathId
from homeroom.kit.writes import Target
from homeroom.users import service as user_service
from homeroom.users.schemas import UserCreate, UserFilters
from homeroom.web import views
from homeroom.web.pages import Visit, Visitor, checked_form, db_of, render, web_router

router = web_router()

URL = "/users"
PAGE_SIZE = 50
# Newest first: a login just created heads the list, and the order walks the (school, role,
# id) index whatever the role filter. By e-mail, a filter on students walked past every
# guardian's address first (the district: 52,000 rows, 70 ms; GET /users?role=student&sort=email
# too, until an index on (school_id, role, email) exists).
SORT = "-id"
# What the page says after a write sent the browser back to it (?done=).
DONE = {
    "created": "The login was created.",
    "deactivated": "The login was deactivated; its sessions ended.",
}
FIELDS = ("full_name", "email", "role", "password", "profile_id", "school_id")


def _allowed(visit: Visit, permission: str) -> None:
    if not can(visit.principal, permission):
        raise Forbidden(
            "your role may not manage logins"
            if permission.endswith("write")
            else "your role may not see the logins"
        )


def _pages_of(request: Request) -> Any:
    return request.app.state.cache


async def _page(
    request: Request,
    visit: Visit,
    *,
    role: Role | None = None,
    cursor: str | None = None,
    typed: dict[str, str] | None = None,
    alert: str | None = None,
    errors: list[str] | None = None,
    status: str | None = None,
    status_code: int = 200,
) -> Response:
    listing = await user_service.browse_users(
        db_of(request),
        _pages_of(request),
        visit.principal,
        UserFilters(role=role),
        cursor,
        PAGE_SIZE,
        SORT,
    )
    context = {
        "title": "Users",
        "listing": listing,
        "roles": ROLES,
        "role_names": views.ROLE_NAMES,
        "role": role,
        "cursor": cursor,
        "may_write": can(visit.principal, "users:write"),
        "all_schools": visit.principal.school_id is None,
        "typed": typed or dict.fromkeys(FIELDS, ""),
        "alert": alert,
        "errors": errors or [],
        "status": status,
    }
    return render(request, visit, "users/list.html", context, current=URL, status_code=status_code)


@router.get(URL)
async def users_page(
    request: Request,
    visit: Visitor,
    role: Annotated[str, Query(max_length=20)] = "",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The school's logins, newest first, 50 a page (keyset), filtered by role (any other
    value: every role)."""
    _allowed(visit, "users:read")
    chosen = next((r for r in ROLES if r == role), None)
    status = DONE.get(done)
    return await _page(request, visit, role=chosen, cursor=cursor or None, status=status)


def _create_body(typed: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {k: typed[k] for k in ("full_name", "email", "role", "password")}
    for optional in ("profile_id", "school_id"):
        if typed[optional].strip():
            body[optional] = typed[optional].strip()
    return body


@router.post(URL)
async def create_user(request: Request, visit: Visitor, session: Session) -> Response:
    """Creates a login (users.service.create_user: the API's rules)."""
    _allowed(visit, "users:write")
    form = await checked_form(request, visit)
    typed = {name: form.get(name, 300) for name in FIELDS}
    try:
        data = UserCreate.model_validate(_create_body(typed))
        user = await user_service.create_user(db_of(request), session, visit.principal, data)
    except ValidationError as invalid:
        lines = [views.error_line(dict(e)) for e in invalid.errors(include_url=False)]
        typed["password"] = ""
        return await _page(
            request,
            visit,
            typed=typed,
            alert="The login was not created.",
            errors=lines,
            status_code=422,
        )
    except (ValidationFailed, Conflict) as refused:
        lines = [views.error_line(e) for e in refused.errors or []]
        typed["password"] = ""
        return await _page(
            request,
            visit,
            typed=typed,
            alert=f"The login was not created: {refused.detail}.",
            errors=lines,
            status_code=refused.status,
        )
    # The list is read on the raw path, which sees the new login once this request has
    # committed: the browser reads it again (303).
    return views.redirect(request, f"{URL}?done=created&role={user['role']}")


@router.post(URL + "/{user_id}/deactivate")
async def deactivate_user(
    request: Request, visit: Visitor, session: Session, user_id: PathId
) -> Response:
    """Deactivates a login and ends its sessions (never one's own)."""
    _allowed(visit, "users:write")
    await checked_form(request, visit)
    try:
        await user_service.deactivate_user(
            db_of(request), session, visit.principal, Target(user_id)
        )
    except ValidationFailed as refused:
        return await _page(
            request, visit, alert=f"Not deactivated: {refused.detail}.", status_code=422
        )
    return views.redirect(request, f"{URL}?done=deactivated")
