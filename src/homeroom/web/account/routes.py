"""The signed-in person's own account: changing their password.

The same service serves POST /api/v1/auth/me/password: the current password checked under
the sign-in lockout, the policy of every login, every other session ended (this browser's
stays signed in), audited.
"""

from fastapi import Request, Response

from homeroom.auth import service as auth_service
from homeroom.kit.deps import Session
from homeroom.kit.errors import ValidationFailed
from homeroom.web import views
from homeroom.web.pages import Visitor, checked_form, db_of, render, settings_of, web_router

router = web_router()

TITLE = "Change your password"
MAX_PASSWORD = 1024  # read no more of a field than any password could be
CHANGED = "Your password was changed. Your other sessions were signed out."


def _page(
    request: Request,
    visit: Visitor,
    *,
    alert: str | None = None,
    status: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {"title": TITLE, "alert": alert, "status": status}
    return render(
        request,
        visit,
        "account/password.html",
        context,
        current=views.ACCOUNT,
        status_code=status_code,
        headers=headers,
    )


@router.get(views.ACCOUNT)
async def password_page(request: Request, visit: Visitor) -> Response:
    """The form: current password, new password, the new one again."""
    return _page(request, visit)


@router.post(views.ACCOUNT)
async def change_password(request: Request, visit: Visitor, session: Session) -> Response:
    """Changes the password by the API's rules (auth.service.change_password); this
    browser's session stays, every other one ends."""
    form = await checked_form(request, visit)
    current = form.get("current_password", MAX_PASSWORD)
    new = form.get("new_password", MAX_PASSWORD)
    if new != form.get("confirm_password", MAX_PASSWORD):
        return _page(request, visit, alert="The new passwords do not match.", status_code=422)
    client = request.client.host if request.client else None
    change = auth_service.PasswordChange(current, new, client, request.headers.get("user-agent"))
    try:
        refused = await auth_service.change_password(
            db_of(request),
            session,
            settings_of(request),
            visit.principal,
            change,
            keep_web_session=visit.secret,
        )
    except ValidationFailed as failed:
        line = views.error_line((failed.errors or [{}])[0]) if failed.errors else failed.detail
        return _page(request, visit, alert=f"Not changed: {line}.", status_code=422)
    if refused is None:
        return _page(request, visit, status=CHANGED)
    if refused.retry_after is not None:
        alert = f"Too many failed attempts. Try again in {refused.retry_after} seconds."
        headers = {"retry-after": str(refused.retry_after)}
        return _page(request, visit, alert=alert, status_code=429, headers=headers)
    return _page(request, visit, alert="The current password is incorrect.", status_code=400)
