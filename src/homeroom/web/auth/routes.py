"""Sign-in, the home page of each role, sign-out.

Each route reads the request, calls one service function and renders a page (views.py).
They are plain routes out of the OpenAPI document: the API's contract is unchanged.
"""

from fastapi import Request, Response

from homeroom.auth import service as auth_service
from homeroom.kit.deps import Session
from homeroom.web import views
from homeroom.web.pages import (
    FORM_EXPIRED,
    SIGN_IN,
    Visitor,
    checked_form,
    db_of,
    render,
    settings_of,
    signed_in,
    web_router,
)
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

router = web_router()

# How long a sign-in form stays good to post (its pre-session cookie's life).
SIGN_IN_FORM_SECONDS = 3600


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
        "csrf_token": csrf_token(settings_of(request), presession),
    }
    response = views.page(
        request,
        "auth/sign_in.html",
        context,
        status_code=status_code,
        personal=False,
        headers=headers,
    )
    set_cookie(request, response, SIGN_IN_COOKIE, presession, SIGN_IN_FORM_SECONDS)
    return response


@router.get(SIGN_IN)
async def sign_in_page(request: Request) -> Response:
    """The sign-in page; a signed-in person goes on to their home page."""
    if await signed_in(request) is not None:
        return views.redirect(request, views.HOME)
    return _sign_in_page(request)


@router.post(SIGN_IN)
async def sign_in(request: Request) -> Response:
    """Checks the form's CSRF token, then signs in by the API's rules (auth.service)."""
    settings = settings_of(request)
    form = await read_form(request)
    if not csrf_valid(settings, request.cookies.get(SIGN_IN_COOKIE), form.get(CSRF_FIELD, 128)):
        raise FormRefused(403, FORM_EXPIRED)
    email = form.get("email", 254)
    client = request.client.host if request.client else None
    password = form.get("password", 1024)
    attempt = auth_service.Attempt(email, password, client, request.headers.get("user-agent"))
    result = await auth_service.sign_in(db_of(request), settings, attempt)
    if isinstance(result, auth_service.Refused):
        if result.retry_after is not None:
            alert = f"Too many failed sign-ins. Try again in {result.retry_after} seconds."
            headers = {"retry-after": str(result.retry_after)}
            return _sign_in_page(request, email, alert, result.status, headers)
        return _sign_in_page(request, email, "Incorrect email or password.", result.status)
    response = views.redirect(request, views.HOME)
    set_cookie(request, response, SESSION_COOKIE, result, settings.web_session_ttl_seconds)
    clear_cookie(request, response, SIGN_IN_COOKIE)
    return response


@router.get(views.HOME)
async def home(request: Request, visit: Visitor) -> Response:
    """The signed-in person's home page: who they are and their role's pages."""
    return render(request, visit, "auth/home.html", {"title": "Home"}, current=views.HOME)


@router.get("/sign-out")
async def sign_out_page(request: Request, visit: Visitor) -> Response:
    """Where the Sign out link goes without script: a form that asks to confirm (signing out
    is a POST, so another site's link cannot do it)."""
    return render(request, visit, "auth/sign_out.html", {"title": "Sign out"}, current="")


@router.post("/sign-out")
async def sign_out(request: Request, session: Session) -> Response:
    """Ends the session (its row is revoked: the cookie no longer opens any page). The Sign
    out link posts here through htmx, the CSRF token in its header."""
    visit = await signed_in(request)
    if visit is None:
        response = views.redirect(request, SIGN_IN)
        clear_cookie(request, response, SESSION_COOKIE)
        return response
    await checked_form(request, visit)
    await auth_service.sign_out(session, visit.secret)
    response = views.redirect(request, SIGN_IN)
    clear_cookie(request, response, SESSION_COOKIE)
    return response
