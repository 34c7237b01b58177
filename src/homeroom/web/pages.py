"""What every page of the web UI shares: who is signed in, their forms' CSRF check, the
page frame (navigation, CSRF token) and how a domain error shows as a page.

A room's routes (web/<room>/routes.py) take the signed-in person as `Visitor`, call the
domain's service under that person's `principal` (the same scopes as the API) and answer
with `render(...)`. A form's POST reads its body with `checked_form`. Their router is made
with `web_router()`, so a service's NotFound or Forbidden becomes a page, not JSON.
"""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from homeroom.auth import service as auth_service
from homeroom.config import Settings
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import HomeroomError
from homeroom.web import views
from homeroom.web.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    MAX_FIELDS,
    SESSION_COOKIE,
    Form,
    FormRefused,
    csrf_token,
    csrf_valid,
    read_form,
)

SIGN_IN = "/"

FORM_EXPIRED = (
    "This form has expired or did not come from this site. Go back, reload the page and try again."
)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


@dataclass(frozen=True, slots=True)
class Visit:
    """The signed-in person of this request: who they are (`person`), what the services
    see them as (`principal`), and the CSRF token of the forms shown to them."""

    person: auth_service.WebSession
    principal: Principal
    secret: str
    csrf: str


class SignInFirst(Exception):
    """No live session: the page answers with the sign-in page (web_router)."""


async def signed_in(request: Request) -> Visit | None:
    """The visit of the request's session cookie; None without a live session (ended,
    expired, or its user deactivated: read on every page)."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    person = await auth_service.web_session(db_of(request), secret)
    if person is None:
        return None
    principal = Principal(person.user_id, person.role, person.school_id, person.profile_id)
    return Visit(person, principal, secret, csrf_token(settings_of(request), secret))


async def _visitor(request: Request) -> Visit:
    visit = await signed_in(request)
    if visit is None:
        raise SignInFirst
    return visit


Visitor = Annotated[Visit, Depends(_visitor)]


async def checked_form(request: Request, visit: Visit, max_fields: int = MAX_FIELDS) -> Form:
    """The POSTed form of the signed-in person, its CSRF token checked (sent as the form's
    field, or by htmx as the X-CSRF-Token header, base.html); 403 page without a good one."""
    form = await read_form(request, max_fields)
    token = form.get(CSRF_FIELD, 128) or request.headers.get(CSRF_HEADER, "")[:128]
    if not csrf_valid(settings_of(request), visit.secret, token):
        raise FormRefused(403, FORM_EXPIRED)
    return form


def frame(visit: Visit, current: str) -> dict[str, Any]:
    """What base.html needs around a signed-in page: the person, their navigation and the
    CSRF token its forms carry."""
    return {
        "person": visit.person,
        "role_name": views.ROLE_NAMES.get(visit.person.role, visit.person.role),
        "nav": views.NAV.get(visit.person.role, ()),
        "current": current,
        "csrf_field": CSRF_FIELD,
        "csrf_token": visit.csrf,
    }


def render(
    request: Request,
    visit: Visit,
    template: str,
    context: dict[str, Any],
    *,
    current: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A signed-in page: `template` with `context` inside the frame, `current` marking the
    navigation link of the page (aria-current). A fragment asked for by htmx (HX-Request)
    renders the same way: its template decides what it draws."""
    full = {**frame(visit, current), **context}
    return views.page(request, template, full, status_code=status_code, headers=headers)


def refused(request: Request, status_code: int, message: str, *, errors: Any = None) -> Response:
    title = views.STATUS_TITLES.get(status_code, "Refused")
    context: dict[str, Any] = {"title": title, "message": message, "errors": errors or []}
    return views.page(request, "refused.html", context, status_code=status_code, personal=False)


def _answer(request: Request, error: Exception) -> Response:
    if isinstance(error, SignInFirst):
        return views.redirect(request, SIGN_IN)
    if isinstance(error, FormRefused):
        return refused(request, error.status, error.detail)
    assert isinstance(error, HomeroomError)
    if error.status == 401:
        return views.redirect(request, SIGN_IN)
    errors = [views.error_line(e) for e in error.errors or []]
    return refused(request, error.status, error.detail, errors=errors)


class WebRoute(APIRoute):
    """A page's route: no live session sends the browser to sign in; a domain error (404,
    403, 409, 422, ...) or a refused form is a page with the error's status and message."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInFirst, FormRefused, HomeroomError) as error:
                return _answer(request, error)

        return handle


def web_router() -> APIRouter:
    """A room's router: its pages stay out of the API's OpenAPI document."""
    return APIRouter(include_in_schema=False, route_class=WebRoute)
