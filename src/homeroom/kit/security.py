"""Passwords (argon2id) and tokens (JWT HS256 access, opaque rotating refresh)."""

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from homeroom.config import Settings

# OWASP's argon2id minimum: m = 19 MiB, t = 2, p = 1.
password_hash = PasswordHash((Argon2Hasher(memory_cost=19 * 1024, time_cost=2, parallelism=1),))

JWT_ALGORITHM = "HS256"

# Verified against when the e-mail is unknown, so that an unknown user costs the same time
# as a wrong password.
_DUMMY_HASH = password_hash.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return password_hash.hash(password)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(password_hash.hash, password)


async def verify_password(password: str, hashed: str | None) -> bool:
    """argon2 takes ~100 ms of CPU: run it in a thread, off the event loop."""
    if hashed is None:
        await asyncio.to_thread(password_hash.verify, password, _DUMMY_HASH)
        return False
    return await asyncio.to_thread(password_hash.verify, password, hashed)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    role: str
    school_id: int | None
    profile_id: int | None  # the student, teacher or guardian row the user is


def issue_access_token(settings: Settings, claims: AccessClaims) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": str(claims.user_id),
        "role": claims.role,
        "sch": claims.school_id,
        "pid": claims.profile_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + settings.access_token_ttl_seconds,
    }
    return jwt.encode(payload, settings.jwt_secret(), algorithm=JWT_ALGORITHM)


class InvalidToken(Exception):
    pass


class TokenDecoder:
    """Validates access tokens: HS256 only, exp/aud/iss required and checked.

    A client presents the same access token on every request until it expires, so verified
    tokens are remembered (bounded, per process) with their expiry, which is checked again on
    every use. Verifying a JWT costs ~30 us of pure Python per request otherwise.
    """

    CACHE_SIZE = 20_000

    def __init__(self, settings: Settings) -> None:
        self._key = settings.jwt_secret()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._verified: dict[str, tuple[AccessClaims, int]] = {}

    def decode(self, token: str) -> AccessClaims:
        hit = self._verified.get(token)
        if hit is not None:
            claims, expires = hit
            if time.time() < expires:
                return claims
            del self._verified[token]
            raise InvalidToken("expired")
        claims, expires = self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (claims, expires)
        return claims

    def _verify(self, token: str) -> tuple[AccessClaims, int]:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[JWT_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
            claims = AccessClaims(
                user_id=int(payload["sub"]),
                role=str(payload["role"]),
                school_id=payload.get("sch"),
                profile_id=payload.get("pid"),
            )
            return claims, int(payload["exp"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def web_session_digest(secret: str) -> str:
    """A web session's key in refresh_tokens: domain-separated from `refresh_token_digest`,
    so a session cookie is no refresh token for POST /auth/refresh, nor the reverse."""
    return hashlib.sha256(b"homeroom web session\0" + secret.encode()).hexdigest()
