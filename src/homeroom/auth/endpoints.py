from typing import Any

from fastapi import APIRouter, Request, Response

from homeroom.auth import service as auth_service
from homeroom.auth.schemas import (
    LoginRequest,
    LogoutRequest,
    Me,
    PasswordChangeRequest,
    RefreshRequest,
    TokenPair,
)
from homeroom.kit.auth import CurrentPrincipal
from homeroom.kit.deps import DB, AppSettings, Session
from homeroom.kit.errors import PROBLEM_JSON, problem
from homeroom.kit.responses import json_response
from homeroom.kit.routing import Route

router = APIRouter(prefix="/auth", tags=["auth"], route_class=Route)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _answer(result: TokenPair | auth_service.Refused) -> Response:
    if isinstance(result, auth_service.Refused):
        headers = dict(NO_STORE)
        if result.retry_after is not None:
            headers["Retry-After"] = str(result.retry_after)
        if result.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        title = "Too many requests" if result.status == 429 else "Not authenticated"
        return problem(result.status, title, result.detail, headers=headers)
    return Response(result.model_dump_json(), headers=NO_STORE, media_type="application/json")


_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong credentials (same answer for an unknown user)"},
    429: {"description": "Too many failed logins for this account; see Retry-After"},
}


@router.post("/login", response_model=TokenPair, responses=_REFUSALS)
async def login(request: Request, data: LoginRequest, db: DB, settings: AppSettings) -> Response:
    """Exchange email and password for an access and a refresh token."""
    client = request.client.host if request.client else None
    user_agent = request.headers.get("user-agent")
    attempt = auth_service.Attempt(data.email, data.password, client, user_agent)
    return _answer(await auth_service.login(db, settings, attempt))


@router.post("/refresh", response_model=TokenPair, responses={401: _REFUSALS[401]})
async def refresh(data: RefreshRequest, session: Session, settings: AppSettings) -> Response:
    """Trade a refresh token for a new pair; the old one dies, and reusing it revokes all."""
    return _answer(await auth_service.refresh(session, settings, data.refresh_token))


@router.post("/logout", status_code=204)
async def logout(
    principal: CurrentPrincipal, session: Session, data: LogoutRequest | None = None
) -> Response:
    """Revoke the given refresh token's family, or all of the caller's sessions."""
    await auth_service.logout(session, principal, data.refresh_token if data else None)
    return Response(status_code=204, headers=NO_STORE)


@router.get("/me", response_model=Me)
async def me(request: Request, principal: CurrentPrincipal, db: DB) -> Response:
    """Who the access token belongs to."""
    user = await auth_service.me(db, principal)
    return json_response(request, user.model_dump(), cache_control="no-store")


_PASSWORD_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {
        "content": {PROBLEM_JSON: {}},
        "description": "The current password is wrong (it counts as a failed login)",
    },
    422: {
        "content": {PROBLEM_JSON: {}},
        "description": "The new password breaks the policy (8-256 characters, not the current)",
    },
    429: {
        "content": {PROBLEM_JSON: {}},
        "description": "Too many failed logins for this account; see Retry-After",
    },
}


@router.post("/me/password", status_code=204, responses=_PASSWORD_REFUSALS)
async def change_password(
    request: Request,
    principal: CurrentPrincipal,
    data: PasswordChangeRequest,
    db: DB,
    session: Session,
    settings: AppSettings,
) -> Response:
    """Change your own password; every session of yours ends (log in again)."""
    client = request.client.host if request.client else None
    change = auth_service.PasswordChange(
        data.current_password, data.new_password, client, request.headers.get("user-agent")
    )
    refused = await auth_service.change_password(db, session, settings, principal, change)
    if refused is not None:
        headers = dict(NO_STORE)
        if refused.retry_after is not None:
            headers["Retry-After"] = str(refused.retry_after)
        title = "Too many requests" if refused.status == 429 else "Bad request"
        return problem(refused.status, title, refused.detail, headers=headers)
    return Response(status_code=204, headers=NO_STORE)
