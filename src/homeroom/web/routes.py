"""The web UI's routes: sign-in, the home page of each role, sign-out.

Each route reads the request, calls one service function and renders a page (views.py).
They are plain routes out of the OpenAPI document: the API's contract is unchanged.
"""

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from homeroom.auth import service as auth_service
from homeroom.config import Settings
from homeroom.kit.db import Database
from homeroom.kit.deps import Session
from homeroom.web import views
from homeroom.web.session import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    FormRefused,
    clear_cookie,
    csrf_token,
    csrf_valid,
    is_secret,
    new_secret,
    read_form,
    set_cookie,
)

router = APIRouter(include_in_schema=False)

SIGN_IN = "/"
# How long a sign-in form stays good to post (its pre-session cookie's life).
SIGN_IN_FORM_SECONDS = 3600


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _signed_in(request: Request) -> auth_service.WebSession | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    return await auth_service.web_session(_db(request), secret)


def _sign_in_page(
    request: Request,
    email: str = "",
    alert: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in form, bound to the browser's pre-session secret (a signed double submit):
    the one it has, so a second tab leaves the first one's form good, else a new one."""
    presession = request.cookies.get(SIGN_IN_COOKIE, "")
    if not is_secret(presession):
        presession = new_secret()
    context = {
        "title": "Sign in",
        "email": email,
        "alert": alert,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(_settings(request), presession),
    }
    response = views.page(
        request,
        "sign_in.html",
        context,
        status_code=status_code,
        personal=False,
        headers=headers,
    )
    set_cookie(request, response, SIGN_IN_COOKIE, presession, SIGN_IN_FORM_SECONDS)
    return response


def _refused(request: Request, status_code: int, message: str) -> Response:
    context = {"title": "Refused", "message": message}
    return views.page(request, "refused.html", context, status_code=status_code, personal=False)


FORM_EXPIRED = (
    "This form has expired or did not come from this site. Go back, reload the page and try again."
)


@router.get(SIGN_IN)
async def sign_in_page(request: Request) -> Response:
    """The sign-in page; a signed-in person goes on to their home page."""
    if await _signed_in(request) is not None:
        return views.redirect(views.HOME)
    return _sign_in_page(request)


@router.post(SIGN_IN)
async def sign_in(request: Request) -> Response:
    """Checks the form's CSRF token, then signs in by the API's rules (auth.service)."""
    settings = _settings(request)
    try:
        form = await read_form(request)
    except FormRefused as refused:
        return _refused(request, refused.status, refused.detail)
    if not csrf_valid(settings, request.cookies.get(SIGN_IN_COOKIE), form.get(CSRF_FIELD, 128)):
        return _refused(request, 403, FORM_EXPIRED)
    email = form.get("email", 254)
    client = request.client.host if request.client else None
    password = form.get("password", 1024)
    attempt = auth_service.Attempt(email, password, client, request.headers.get("user-agent"))
    result = await auth_service.sign_in(_db(request), settings, attempt)
    if isinstance(result, auth_service.Refused):
        if result.retry_after is not None:
            alert = f"Too many failed sign-ins. Try again in {result.retry_after} seconds."
            headers = {"retry-after": str(result.retry_after)}
            return _sign_in_page(request, email, alert, result.status, headers)
        return _sign_in_page(request, email, "Incorrect email or password.", result.status)
    response = views.redirect(views.HOME)
    set_cookie(request, response, SESSION_COOKIE, result, settings.web_session_ttl_seconds)
    clear_cookie(request, response, SIGN_IN_COOKIE)
    return response


@router.get(views.HOME)
async def home(request: Request) -> Response:
    """The signed-in person's home page: who they are and their role's pages."""
    person = await _signed_in(request)
    if person is None:
        return views.redirect(SIGN_IN)
    secret = request.cookies[SESSION_COOKIE]
    context = {
        "title": "Home",
        "person": person,
        "role_name": views.ROLE_NAMES.get(person.role, person.role),
        "nav": views.NAV.get(person.role, ()),
        "current": views.HOME,
        "coming": views.COMING.get(person.role, ()),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(_settings(request), secret),
    }
    return views.page(request, "home.html", context)


@router.post("/sign-out")
async def sign_out(request: Request, session: Session) -> Response:
    """Ends the session (its row is revoked: the cookie no longer opens any page)."""
    secret = request.cookies.get(SESSION_COOKIE)
    try:
        form = await read_form(request)
    except FormRefused as refused:
        return _refused(request, refused.status, refused.detail)
    if not csrf_valid(_settings(request), secret, form.get(CSRF_FIELD, 128)):
        return _refused(request, 403, FORM_EXPIRED)
    assert secret is not None  # csrf_valid refuses a missing session
    await auth_service.sign_out(session, secret)
    response = views.redirect(SIGN_IN)
    clear_cookie(request, response, SESSION_COOKIE)
    return response


def add_web_routes(app: FastAPI) -> None:
    """The pages and their assets (stylesheet, htmx), all served by Homeroom itself."""
    assets = StaticFiles(packages=[("homeroom", "static/web")])
    app.mount(views.ASSETS_URL, assets, name="web-assets")
    app.include_router(router)
