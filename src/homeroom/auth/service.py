"""Login, refresh-token rotation with reuse detection, logout, changing one's own password.

Refusals are returned, not raised: a failed login and a detected token reuse must be
committed (the backoff counts the failure; reuse revokes the family) even though the caller
gets a 401.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from homeroom.audit import service as audit
from homeroom.auth import repository
from homeroom.auth.repository import WebSession as WebSession  # what web_session answers
from homeroom.auth.schemas import Me, TokenPair
from homeroom.config import Settings
from homeroom.kit.auth import Principal
from homeroom.kit.db import Database
from homeroom.kit.errors import NotFound, ValidationFailed, field_error
from homeroom.kit.security import (
    AccessClaims,
    hash_password_async,
    issue_access_token,
    new_refresh_token,
    refresh_token_digest,
    verify_password,
    web_session_digest,
)
from homeroom.models import utcnow
from homeroom.users.schemas import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

BAD_CREDENTIALS = "incorrect email or password"
BAD_REFRESH = "the refresh token is invalid, expired or already used"
BAD_CURRENT_PASSWORD = "the current password is incorrect"  # noqa: S105


@dataclass(frozen=True, slots=True)
class Refused:
    status: int
    detail: str
    retry_after: int | None = None


def _new_token(
    settings: Settings, claims: AccessClaims, family_id: str | None = None
) -> tuple[TokenPair, dict[str, Any]]:
    """A token pair, and the refresh_tokens row that makes its refresh token valid."""
    refresh = new_refresh_token()
    row = {
        "user_id": claims.user_id,
        "family_id": family_id or str(uuid.uuid4()),
        "token_hash": refresh_token_digest(refresh),
        "expires_at": utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
    }
    pair = TokenPair(
        access_token=issue_access_token(settings, claims),
        refresh_token=refresh,
        expires_in=settings.access_token_ttl_seconds,
    )
    return pair, row


async def _issue(
    session: AsyncSession, settings: Settings, claims: AccessClaims, family_id: str | None = None
) -> TokenPair:
    pair, row = _new_token(settings, claims, family_id)
    repository.add_refresh_token(session, row)
    return pair


async def _lockout_seconds(db: Database, settings: Settings, email: str) -> int:
    now = utcnow()
    since = now - timedelta(seconds=settings.login_failure_window_seconds)
    failures, last = await repository.recent_failures(db, email, since)
    if failures < settings.login_max_failures or last is None:
        return 0
    doublings = min(failures - settings.login_max_failures, 16)
    lockout = min(
        settings.login_base_lockout_seconds * 2**doublings, settings.login_max_lockout_seconds
    )
    remaining = (last + timedelta(seconds=lockout) - now).total_seconds()
    return max(0, math.ceil(remaining))


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in as it arrived (API or web UI): what was typed, and where from for the
    login history."""

    email: str
    password: str
    ip_address: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class _Verified:
    """A login attempt that passed every check, and its history row (not yet written)."""

    account: repository.LoginAccount
    event: dict[str, Any]
    at: datetime


async def _check_login(db: Database, settings: Settings, attempt: Attempt) -> _Verified | Refused:
    """The rules every sign-in follows, the API's and the web UI's: the lockout, the password,
    the active flag. A refusal's history row is written here; a success's goes with what the
    caller issues (a token pair or a web session)."""
    email = attempt.email.strip().lower()
    wait = await _lockout_seconds(db, settings, email)
    if wait:
        return Refused(429, "too many failed logins; try again later", retry_after=wait)
    account = await repository.login_account(db, email)
    valid = await verify_password(attempt.password, account.password_hash if account else None)
    success = bool(valid and account is not None and account.is_active)
    now = utcnow()
    event = {
        "user_id": account.id if account else None,
        "email": email,
        "success": success,
        "ip_address": attempt.ip_address,
        "user_agent": (attempt.user_agent or "")[:400] or None,
        "created_at": now,
    }
    if not success or account is None:
        await _write_login(db, repository.LoginWrite(event))
        return Refused(401, BAD_CREDENTIALS)
    return _Verified(account, event, now)


async def login(db: Database, settings: Settings, attempt: Attempt) -> TokenPair | Refused:
    """Everything slow happens before anything is written: the checks read on the raw path
    and argon2 runs with no connection or lock held (it takes ~100 ms of CPU). The writes
    (the history row; on success the refresh token and last_login_at) then go with those of
    the logins arriving beside it, in one short transaction (kit/db.GroupCommit), committed
    before the answer."""
    checked = await _check_login(db, settings, attempt)
    if isinstance(checked, Refused):
        return checked
    user_id, role, school_id = checked.account.id, checked.account.role, checked.account.school_id
    profile_id = await repository.profile_id_of(db, role, user_id)
    pair, token = _new_token(settings, AccessClaims(user_id, role, school_id, profile_id))
    await _write_login(db, repository.LoginWrite(checked.event, token, user_id, checked.at))
    return pair


async def sign_in(db: Database, settings: Settings, attempt: Attempt) -> str | Refused:
    """A web UI sign-in: the same checks and history as `login`; on success a new web
    session, whose secret (the cookie's value) is returned. A web session is a
    refresh_tokens row of a family of its own, keyed by a digest no refresh token can have
    (`web_session_digest`), so sign-out, a password change and a deactivation end it the
    way they end the API's sessions."""
    checked = await _check_login(db, settings, attempt)
    if isinstance(checked, Refused):
        return checked
    secret = new_refresh_token()
    row = {
        "user_id": checked.account.id,
        "family_id": str(uuid.uuid4()),
        "token_hash": web_session_digest(secret),
        "expires_at": checked.at + timedelta(seconds=settings.web_session_ttl_seconds),
    }
    write = repository.LoginWrite(checked.event, row, checked.account.id, checked.at)
    await _write_login(db, write)
    return secret


async def web_session(db: Database, secret: str) -> WebSession | None:
    """The signed-in person of a web session's secret; None when the session was ended,
    has expired or its user is no longer active (read on every page)."""
    return await repository.web_session(db, web_session_digest(secret), utcnow())


async def sign_out(session: AsyncSession, secret: str) -> None:
    """Ends the web session whose secret this is (nothing when there is none)."""
    row = await repository.refresh_token_by_digest(session, web_session_digest(secret))
    if row is not None:
        await repository.revoke_family(session, row.family_id, utcnow())


async def _write_login(db: Database, write: repository.LoginWrite) -> None:
    await db.group_commit("auth.logins", repository.record_logins).submit(write)


async def refresh(session: AsyncSession, settings: Settings, token: str) -> TokenPair | Refused:
    row = await repository.refresh_token_by_digest(session, refresh_token_digest(token))
    if row is None:
        return Refused(401, BAD_REFRESH)
    now = utcnow()
    if row.used_at is not None or row.revoked_at is not None:
        # A rotated-out token came back: someone holds a copy. Kill the whole family.
        await repository.revoke_family(session, row.family_id, now)
        return Refused(401, BAD_REFRESH)
    if row.expires_at <= now:
        return Refused(401, BAD_REFRESH)
    user = await repository.user_by_id(session, row.user_id)
    if user is None or not user.is_active:
        return Refused(401, BAD_REFRESH)
    row.used_at = now
    claims = AccessClaims(
        user.id, user.role, user.school_id, await repository.profile_id(session, user)
    )
    return await _issue(session, settings, claims, family_id=row.family_id)


async def logout(session: AsyncSession, principal: Principal, token: str | None) -> None:
    """Revokes the presented refresh token's family, or every session of the caller."""
    now = utcnow()
    if token is not None:
        row = await repository.refresh_token_by_digest(session, refresh_token_digest(token))
        if row is not None and row.user_id == principal.user_id:
            await repository.revoke_family(session, row.family_id, now)
        return
    await repository.revoke_user(session, principal.user_id, now)


async def me(db: Database, principal: Principal) -> Me:
    row = await repository.me_row(db, principal.user_id)
    if row is None:
        raise NotFound("user not found")
    user_id, email, full_name, role, school_id, _active, last_login_at = row
    pid = principal.profile_id
    if isinstance(last_login_at, datetime):
        last_login_at = last_login_at.isoformat()
    return Me(
        id=user_id,
        email=email,
        full_name=full_name,
        role=role,
        school_id=school_id,
        student_id=pid if role == "student" else None,
        teacher_id=pid if role == "teacher" else None,
        guardian_id=pid if role == "guardian" else None,
        last_login_at=last_login_at,
    )


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """A person's request to change their own password (API or web UI), and where it came
    from: a wrong current password is written to the login history like a failed sign-in."""

    current: str
    new: str
    ip_address: str | None
    user_agent: str | None


def _new_password_errors(change: PasswordChange) -> list[dict[str, Any]]:
    """The password policy of every login (users.schemas.Password), and a new password must
    be new."""
    loc: list[str | int] = ["body", "new_password"]
    if len(change.new) < PASSWORD_MIN_LENGTH:
        return [field_error(loc, f"must have at least {PASSWORD_MIN_LENGTH} characters")]
    if len(change.new) > PASSWORD_MAX_LENGTH:
        return [field_error(loc, f"must have at most {PASSWORD_MAX_LENGTH} characters")]
    if change.new == change.current:
        return [field_error(loc, "must differ from the current password")]
    return []


async def change_password(
    db: Database,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    change: PasswordChange,
    *,
    keep_web_session: str | None = None,
) -> Refused | None:
    """Sets the caller's new password once their current one is verified, and ends their
    other sessions: every refresh token and web session but the web session whose secret is
    `keep_web_session` (the browser that asked; the API keeps none: its access token lives
    out its few minutes). Audited.

    The same lockout as sign-in guards it (429 while the account is locked out), and a wrong
    current password counts as a failed sign-in (400: the caller is authenticated, only the
    password they typed is wrong). A new password outside the policy raises 422."""
    account = await repository.own_account(db, principal.user_id)
    if account is None or not account.is_active:
        raise NotFound("user not found")
    wait = await _lockout_seconds(db, settings, account.email)
    if wait:
        return Refused(429, "too many failed logins; try again later", retry_after=wait)
    if not await verify_password(change.current, account.password_hash):
        event = {
            "user_id": principal.user_id,
            "email": account.email,
            "success": False,
            "ip_address": change.ip_address,
            "user_agent": (change.user_agent or "")[:400] or None,
            "created_at": utcnow(),
        }
        await _write_login(db, repository.LoginWrite(event))
        return Refused(400, BAD_CURRENT_PASSWORD)
    errors = _new_password_errors(change)
    if errors:
        raise ValidationFailed(f"the new password {errors[0]['msg']}", errors=errors)
    new_hash = await hash_password_async(change.new)
    now = utcnow()
    await repository.set_password_hash(session, principal.user_id, new_hash, now)
    if keep_web_session is None:
        await repository.revoke_user(session, principal.user_id, now)
    else:
        kept = web_session_digest(keep_web_session)
        await repository.revoke_user_but(session, principal.user_id, kept, now)
    details = {"password_changed": True, "by": "self"}
    audit.record(
        session, principal, "update", "user", principal.user_id, account.school_id, details
    )
    return None
